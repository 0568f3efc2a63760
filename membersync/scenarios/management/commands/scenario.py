import os
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run scenario files (or every *.yaml in folders) against a fresh, empty database."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["run"])
        parser.add_argument("paths", nargs="+")
        parser.add_argument(
            "--use-configured-database",
            action="store_true",
            help="run in the configured database, inside a transaction that is rolled back (by default the "
            "`membersync` command gives scenarios a temporary SQLite database of their own)",
        )

    def handle(self, *args, action, paths, use_configured_database, **options):
        from membersync.scenarios.runner import scenario_run_paths

        if os.environ.get("MEMBERSYNC_SCENARIO_DATABASE") == "temporary":
            call_command("migrate", verbosity=0, interactive=False)
        results = scenario_run_paths(paths)
        for result in results:
            for failure in result.failures:
                self.stdout.write(failure)
        passed = sum(r.passed for r in results)
        self.stdout.write(f"{passed} passed, {len(results) - passed} failed")
        if passed != len(results):
            sys.exit(1)
