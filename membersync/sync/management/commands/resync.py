import getpass

from membersync.actors import Actor
from membersync.commandline import MemberSyncCommand, whole_number
from membersync.sync.resync import members_resync


def text_progress_bar(stream, width: int = 40):
    """A plain-text progress bar on a management command's OutputWrapper, redrawn in place with a carriage return."""

    def draw(done: int, total: int) -> None:
        filled = width if total == 0 else int(width * done / total)
        percent = 100 if total == 0 else int(100 * done / total)
        end = "\n" if done >= total else ""
        stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} members {percent:3d}%{end}", ending="")
        stream.flush()

    return draw


def _cli_actor() -> Actor:
    try:
        return Actor.system(f"cli:{getpass.getuser()}")
    except (KeyError, OSError):  # no user name in this environment (some containers)
        return Actor.system("cli")


class Command(MemberSyncCommand):
    help = "reconcile every member and print what changed or would change (a progress bar on stderr)"

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="compute and report, change nothing")
        parser.add_argument(
            "--batch-size",
            type=whole_number(1, 100_000),
            default=1000,
            metavar="N",
            help="members per transaction (default 1000)",
        )
        parser.add_argument(
            "--show", type=whole_number(0), default=20, metavar="N", help="how many changes to list (default 20)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")
        parser.add_argument(
            "--quick",
            action="store_true",
            help="only members that are due, never computed, or whose enrollments differ from what was last wanted "
            "(trusts the built-in sink's record; the default full resync also repairs rows edited by hand)",
        )

    def handle(self, *args, dry_run, batch_size, show, no_progress, quick, **options):
        progress = None if no_progress else text_progress_bar(self.stderr)
        report = members_resync(
            dry_run=dry_run,
            actor=_cli_actor(),
            batch_size=batch_size,
            progress=progress,
            sample_size=show,
            quick=quick,
        )
        would = "would change" if dry_run else "changed"
        out = self.stdout
        if not report.changed:
            out.write(f"{report.members} members reconciled: everything is in step, nothing {would}.")
            return
        out.write(
            f"{report.members} members reconciled{' (dry run)' if dry_run else ''}: "
            f"enrollments of {report.members_changed} members {would}, {report.ledger_entries} ledger entries"
        )
        for action in sorted(report.changes):
            out.write(f"  {action}: {report.changes[action]}")
        if report.sample:
            more = sum(report.changes.values()) - len(report.sample)
            out.write("First changes:" if more > 0 else "Changes:")
            for line in report.sample:
                out.write(f"  {line}")
            if more > 0:
                out.write(f"  ... and {more} more")
        if not dry_run:
            out.write(f"{report.operations_done} operations carried out.")
