import json
import sys

from django.core.management.base import CommandError

from membersync import clock
from membersync.actors import Actor
from membersync.commandline import MemberSyncCommand
from membersync.errors import ServiceError
from membersync.ops.privacy import member_data_export, member_erase


class Command(MemberSyncCommand):
    help = "a member's data: export it as JSON, or erase it (a pseudonym replaces what names her)"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="{export,erase}")
        export = sub.add_parser("export", help="print everything MemberSync holds about the member, as JSON")
        export.add_argument("member_id", metavar="ID")
        erase = sub.add_parser("erase", help="replace her personal data by a pseudonym (cannot be undone)")
        erase.add_argument("member_id", metavar="ID")
        erase.add_argument("--confirm", action="store_true", help="required: erasing cannot be undone")

    def handle(self, *args, action, member_id, **options):
        try:
            if action == "export":
                data = member_data_export(member_id=member_id, now=clock.now())
                self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
                return
            if not options["confirm"]:
                raise CommandError(f"erasing {member_id} cannot be undone: add --confirm to go ahead")
            result = member_erase(member_id=member_id, actor=Actor.system("cli"), now=clock.now())
        except ServiceError as error:
            raise CommandError(f"{error.message} ({error.code})") from None
        self.stdout.write(
            f"Erased: {member_id} is now {result.pseudonym}. Redacted {result.events} events, {result.deliveries} "
            f"deliveries, {result.ledger_entries} ledger entries, {result.emails} emails sent, "
            f"{result.invitations} invitations; removed {result.identities} identities."
        )
        sys.stdout.flush()
