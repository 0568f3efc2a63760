from django.core.management.base import CommandError

from membersync import clock
from membersync.commandline import MemberSyncCommand, whole_number
from membersync.connectors.deliveries import deliveries_replay
from membersync.connectors.selectors import deliveries_list


class Command(MemberSyncCommand):
    help = "list webhook deliveries, or apply failed ones again (replay ID ... or --failed)"

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        listing = actions.add_parser("list", help="the latest deliveries, newest first")
        listing.add_argument("--failed", action="store_true", help="only those that failed to apply")
        listing.add_argument("--limit", type=whole_number(1, 10000), default=50)
        replay = actions.add_parser("replay", help="apply deliveries again, in the order they arrived")
        replay.add_argument("ids", nargs="*", type=whole_number(1), metavar="ID")
        replay.add_argument("--failed", action="store_true", help="every delivery that failed to apply")

    def handle(self, *args, action, failed, **options):
        if action == "list":
            for delivery in deliveries_list(failed=failed, limit=options["limit"]):
                said = delivery.error or delivery.outcome
                self.stdout.write(
                    f"{delivery.pk:>8} {delivery.received_at:%Y-%m-%d %H:%M:%S} {delivery.connection.name} "
                    f"{delivery.topic or '-'} {delivery.status}: {said}"
                )
            return
        if not options["ids"] and not failed:
            raise CommandError("name the deliveries to replay (IDs), or --failed for every failed one")
        replayed = deliveries_replay(delivery_ids=options["ids"], failed=failed, now=clock.now())
        if not replayed:
            self.stdout.write("Nothing to replay.")
        for delivery in replayed:
            delivery.refresh_from_db()
            self.stdout.write(f"{delivery.pk}: {delivery.status}: {delivery.error or delivery.outcome}")
