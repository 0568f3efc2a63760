import os

from django.core.management import call_command

from membersync.commandline import MemberSyncCommand, whole_number


class Command(MemberSyncCommand):
    help = "the resync benchmark on a synthetic site in a temporary database (docs/BENCHMARKS.md)"

    def add_arguments(self, parser):
        parser.add_argument("which", choices=["resync"])
        parser.add_argument(
            "--members",
            type=whole_number(1, 10_000_000),
            default=10_000,
            metavar="N",
            help="members in the synthetic site (default 10,000)",
        )
        parser.add_argument(
            "--use-configured-database",
            action="store_true",
            help="build the synthetic site in the configured (empty) database instead of a temporary SQLite file",
        )

    def handle(self, *args, which, members, use_configured_database, **options):
        from membersync.bench.resync import bench_resync

        if os.environ.get("MEMBERSYNC_SCENARIO_DATABASE") == "temporary":
            call_command("migrate", verbosity=0, interactive=False)
        bench_resync(members=members, out=self.stdout.write)
