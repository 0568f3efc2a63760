"""The `membersync` command: Django's management commands with MemberSync's settings already chosen."""

import os
import shutil
import signal
import sys
import tempfile


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "membersync.settings")
    temporary = None
    if sys.argv[1:2] in (["scenario"], ["bench"]) and "--use-configured-database" not in sys.argv:
        # Scenarios and benchmarks run on a fresh, empty database of their own, never on the site's; it is removed
        # when the run ends, however it ends (an error, Ctrl-C, or a SIGTERM).
        temporary = tempfile.mkdtemp(prefix="membersync-")
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
        os.environ.pop("DATABASE_URL", None)
        os.environ["MEMBERSYNC_SQLITE_PATH"] = os.path.join(temporary, "scenario.sqlite3")
        os.environ["MEMBERSYNC_SCENARIO_DATABASE"] = "temporary"
    try:
        _run()
    finally:
        if temporary:
            _close_connections()
            shutil.rmtree(temporary, ignore_errors=True)


def _exit_on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


def _close_connections() -> None:
    if "django.db" in sys.modules:
        from django.db import connections

        connections.close_all()


def _run() -> None:
    args = sys.argv[1:]
    if args in ([], ["help"], ["-h"], ["--help"]):
        import django

        from membersync.commandline import commands_help

        django.setup()
        print(commands_help())
        return
    if args[:1] in (["--version"], ["version"]):
        from membersync.commandline import version

        print(f"MemberSync {version()}")
        return
    if sys.argv[1:2] == ["demo"] and not os.environ.get("SECRET_KEY"):
        # The demo serves with DEBUG off, and the server refuses the development key: the demo keeps a key of its own.
        os.environ["SECRET_KEY"], path = demo_secret_key()
        print(f"SECRET_KEY is not set: the demo uses its own key, kept in {path}.", file=sys.stderr)
    from django.conf import settings
    from django.core.management import execute_from_command_line

    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    execute_from_command_line(["membersync", *sys.argv[1:]])  # usage and errors say `membersync COMMAND`


def demo_secret_key() -> tuple[str, str]:
    """The demo's SECRET_KEY, made once and kept in the data folder (so sessions survive a restart of the demo)."""
    import secrets
    from pathlib import Path

    data_dir = Path(os.environ.get("MEMBERSYNC_DATA_DIR", Path.cwd() / "var")).resolve()
    path = data_dir / "demo-secret-key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip(), str(path)


if __name__ == "__main__":
    main()
