"""A plain-text progress bar on a command's stderr, redrawn in place (as `membersync resync` draws its own)."""


def progress_bar(stream, unit: str, width: int = 40):
    def draw(done: int, total: int) -> None:
        filled = width if total == 0 else int(width * done / total)
        percent = 100 if total == 0 else int(100 * done / total)
        end = "\n" if done >= total else ""
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {unit} {percent:3d}%{end}", ending="")
        stream.flush()

    return draw
