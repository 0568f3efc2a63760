import os

from django.core.management import call_command
from django.core.management.base import CommandError

from membersync.commandline import MemberSyncCommand, whole_number

# Each benchmark's own options: given to the other one, they are refused rather than ignored.
OWN_OPTIONS = {
    "resync": ("members",),
    "webhooks": ("deliveries", "concurrency", "web_workers", "profile"),
    "convergence": ("histories",),
    "api": ("requests",),
    "sink": ("operations", "latency", "rate", "in_flight"),
    "tags": ("members",),
}


class Command(MemberSyncCommand):
    help = (
        "a benchmark (resync, webhooks, convergence, api, sink, tags) in a temporary database of its own "
        "(docs/BENCHMARKS.md)"
    )

    def create_parser(self, prog_name, subcommand, **kwargs):
        self.parser = super().create_parser(prog_name, subcommand, **kwargs)
        return self.parser

    def add_arguments(self, parser):
        parser.add_argument(
            "which",
            choices=["resync", "webhooks", "convergence", "api", "sink", "tags"],
            metavar="resync/webhooks/convergence/api/sink/tags",
            help="resync: reconcile a synthetic site; webhooks: WooCommerce deliveries through `membersync serve`, "
            "then the worker; convergence: random subscription histories delivered badly (docs/RELIABILITY.md); "
            "api: access checks through the REST API; sink: enrollments through the LearnDash sink (contract site); "
            "tags: `batch course-tags` deciding every member and calling the CRMs (contract fixtures)",
        )
        parser.add_argument(
            "--operations", type=whole_number(1, 10_000_000), metavar="N", help="sink: enrollments (default 100,000)"
        )
        parser.add_argument(
            "--latency",
            type=whole_number(0, 10_000),
            metavar="MS",
            help="sink: the site's latency per request (default 50)",
        )
        parser.add_argument(
            "--rate", type=whole_number(1, 10_000), metavar="R", help="sink: requests per second allowed (default 50)"
        )
        parser.add_argument(
            "--in-flight", type=whole_number(1, 256), metavar="K", help="sink: requests in flight at most (default 8)"
        )
        parser.add_argument(
            "--requests",
            type=whole_number(1, 10_000_000),
            metavar="N",
            help="api: access checks to send (default 20,000) over 100,000 members",
        )
        parser.add_argument(
            "--histories",
            type=whole_number(1, 1_000_000),
            metavar="N",
            help="convergence: random histories tried for each of its two claims (default 200)",
        )
        parser.add_argument(
            "--members",
            type=whole_number(1, 10_000_000),
            metavar="N",
            help="resync: members in the synthetic site (default 10,000); tags: members (default 100,000)",
        )
        parser.add_argument(
            "--deliveries",
            type=whole_number(1, 200_000),
            metavar="N",
            help="webhooks: deliveries to post, about 10 %% of them exact re-sends (default 5,000)",
        )
        parser.add_argument(
            "--concurrency",
            type=whole_number(1, 64),
            metavar="N",
            help="webhooks: client threads posting at once (default 8)",
        )
        parser.add_argument(
            "--web-workers",
            type=whole_number(1, 64),
            metavar="N",
            help="webhooks: the server's worker processes (default: as `membersync serve`)",
        )
        parser.add_argument(
            "--profile",
            action="store_true",
            help="webhooks: apply the deliveries under cProfile and print where the time goes (slower)",
        )
        parser.add_argument(
            "--use-configured-database",
            action="store_true",
            help="run in the configured (empty) database instead of a temporary SQLite file",
        )

    def handle(self, *args, which, use_configured_database, **options):
        for other, names in OWN_OPTIONS.items():
            for name in names:
                if other != which and name not in OWN_OPTIONS[which] and options[name] not in (None, False):
                    flag = "--" + name.replace("_", "-")
                    self.parser.error(f"argument {flag}: only `bench {other}` takes it")
        temporary = os.environ.get("MEMBERSYNC_SCENARIO_DATABASE") == "temporary"
        if which == "resync":
            from membersync.bench.resync import bench_resync

            if temporary:
                call_command("migrate", verbosity=0, interactive=False)
            bench_resync(members=options["members"] or 10_000, out=self.stdout.write)
            return

        if which == "tags":
            from membersync.bench.tags import bench_tags
            from membersync.bench.webhooks import configured_database_refusal

            if refusal := configured_database_refusal():  # a site's database is left as it is
                raise CommandError(refusal)
            call_command("migrate", verbosity=0, interactive=False)
            try:
                bench_tags(members=options["members"] or 100_000, out=self.stdout.write)
            except RuntimeError as error:
                raise CommandError(str(error)) from None
            return

        if which == "convergence":
            from membersync.bench.convergence import convergence_bench

            if temporary:
                call_command("migrate", verbosity=0, interactive=False)
            convergence_bench(histories=options["histories"] or 200, out=self.stdout.write)
            return

        if which == "sink":
            from membersync.bench.sink import bench_sink
            from membersync.bench.webhooks import configured_database_refusal

            if refusal := configured_database_refusal():  # a site's database is left as it is
                raise CommandError(refusal)
            call_command("migrate", verbosity=0, interactive=False)
            try:
                bench_sink(
                    operations=options["operations"] or 100_000,
                    latency_ms=50 if options["latency"] is None else options["latency"],
                    rate=options["rate"] or 50,
                    in_flight=options["in_flight"] or 8,
                    out=self.stdout.write,
                )
            except RuntimeError as error:
                raise CommandError(str(error)) from None
            return

        from membersync.bench.webhooks import bench_webhooks, configured_database_refusal

        if which == "api":
            from membersync.bench.api import bench_api

            if refusal := configured_database_refusal():
                raise CommandError(refusal)
            call_command("migrate", verbosity=0, interactive=False)
            try:
                bench_api(requests=options["requests"] or 20_000, out=self.stdout.write)
            except RuntimeError as error:
                raise CommandError(str(error)) from None
            return

        if refusal := configured_database_refusal():  # before migrating: a site's database is left as it is
            raise CommandError(refusal)
        call_command("migrate", verbosity=0, interactive=False)
        try:
            bench_webhooks(
                deliveries=options["deliveries"] or 5_000,
                concurrency=options["concurrency"] or 8,
                web_workers=options["web_workers"],
                profile=options["profile"],
                out=self.stdout.write,
            )
        except RuntimeError as error:  # the server did not start or answer
            raise CommandError(str(error)) from None
