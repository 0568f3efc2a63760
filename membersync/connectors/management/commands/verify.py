from django.core.management.base import CommandError

from membersync import clock
from membersync.commandline import MemberSyncCommand
from membersync.connectors.learndash.commands import verify_parser, verify_run
from membersync.connectors.models import DriftCheck
from membersync.connectors.woocommerce.backfill import woocommerce_connection_named
from membersync.connectors.woocommerce.drift import drift_check_record, woocommerce_verify
from membersync.errors import ServiceError

NAMES = {"subscription": "subscriptions", "order": "orders", "user_membership": "user memberships"}


class Command(MemberSyncCommand):
    help = "compare a store or a LearnDash site with MemberSync and say every difference; --repair mends them"

    def add_arguments(self, parser):
        systems = parser.add_subparsers(dest="system", required=True, metavar="SYSTEM")
        woo = systems.add_parser("woocommerce", help="a connected WooCommerce store")
        woo.add_argument("name", metavar="NAME", help="the connection's name (membersync connect woocommerce NAME)")
        woo.add_argument(
            "--repair", action="store_true", help="apply the store's state for each difference (as a webhook would)"
        )
        verify_parser(systems)

    def handle(self, *args, system, **options):
        if system == "learndash":
            return verify_run(self, **options)
        return self.woocommerce(**options)

    def woocommerce(self, *, name, repair, **options):
        try:
            connection = woocommerce_connection_named(name)
        except ServiceError as error:
            raise CommandError(error.message) from None
        check = DriftCheck.objects.create(connection=connection, started_at=clock.now(), repair=repair)
        report = woocommerce_verify(connection, repair=repair)
        drift_check_record(check, report, finished_at=clock.now())
        compared = ", ".join(f"{n} {NAMES.get(r, r)}" for r, n in report.compared.items()) or "nothing"
        out = self.stdout
        out.write(f"Verified WooCommerce store {name!r}: compared {compared}.")
        for note in report.notes:
            out.write(f"  {note}")
        if not report.differences:
            out.write("No difference: MemberSync is in step with the store." if not report.stopped else "")
        else:
            found = len(report.differences)
            out.write(f"{found} difference{'s' if found != 1 else ''} (store / MemberSync):")
            for line in report.lines():
                out.write(f"  {line}")
            if repair:
                out.write(f"{report.repaired} of {found} repaired; the worker carries out the enrollment changes.")
            else:
                out.write(f"Run `membersync verify woocommerce {name} --repair` to apply the store's state.")
        if report.stopped:
            raise CommandError(f"verify stopped before the end: {report.stopped}")
