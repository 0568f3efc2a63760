import os

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Benchmarks on a synthetic site in a temporary database: `bench resync --members N`."

    def add_arguments(self, parser):
        parser.add_argument("which", choices=["resync"])
        parser.add_argument("--members", type=int, default=10_000)
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
