import argparse
import os
import sys

from django.core.management import call_command

from membersync.commandline import MemberSyncCommand


class Command(MemberSyncCommand):
    help = "run scenario files, or folders of them, on a fresh temporary database and report each file"

    def add_base_argument(self, parser, *args, **kwargs):
        if args[:1] == ("-v",):  # here -v is a plain flag (each step); --verbosity N still works
            parser.add_argument(
                "-v", "--verbose", dest="verbosity", action="store_const", const=2, default=1, help="list each step"
            )
            parser.add_argument("--verbosity", type=int, choices=[0, 1, 2, 3], default=1, help=argparse.SUPPRESS)
            return
        super().add_base_argument(parser, *args, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["run"])
        parser.add_argument("paths", nargs="+", metavar="PATH", help="scenario files, or folders of *.yaml files")
        parser.add_argument(
            "--use-configured-database",
            action="store_true",
            help="run in the configured database, inside a transaction that is rolled back (by default the "
            "`membersync` command gives scenarios a temporary SQLite database of their own)",
        )

    def handle(self, *args, action, paths, use_configured_database, verbosity, **options):
        from membersync.scenarios.runner import scenario_run_paths

        if os.environ.get("MEMBERSYNC_SCENARIO_DATABASE") == "temporary":
            call_command("migrate", verbosity=0, interactive=False)
        results = scenario_run_paths(paths)
        for result in results:
            self.stdout.write(f"{'PASS' if result.passed else 'FAIL'}  {result.path}")
            if verbosity >= 2:
                for step in result.steps:
                    self.stdout.write(f"      {step}")
            for failure in result.failures:
                self.stdout.write(f"      {failure}")
        passed = sum(r.passed for r in results)
        self.stdout.write(f"{passed} passed, {len(results) - passed} failed")
        if passed != len(results):
            sys.exit(1)
