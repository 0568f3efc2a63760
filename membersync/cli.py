"""The `membersync` command: Django's management commands with MemberSync's settings already chosen."""

import os
import sys
import tempfile


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "membersync.settings")
    if sys.argv[1:2] in (["scenario"], ["bench"]) and "--use-configured-database" not in sys.argv:
        # Scenarios and benchmarks run on a fresh, empty database of their own, never on the site's.
        os.environ.pop("DATABASE_URL", None)
        os.environ["MEMBERSYNC_SQLITE_PATH"] = os.path.join(tempfile.mkdtemp(prefix="membersync-"), "scenario.sqlite3")
        os.environ["MEMBERSYNC_SCENARIO_DATABASE"] = "temporary"
    from django.conf import settings
    from django.core.management import execute_from_command_line

    settings.DATA_DIR.mkdir(parents=True, exist_ok=True)
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
