"""`membersync apikey create|list|revoke`: keys for the API."""

from django.core.management.base import CommandError

from membersync.api.keys import apikey_create, apikey_revoke
from membersync.api.models import SCOPES, ApiKey
from membersync.commandline import MemberSyncCommand, whole_number
from membersync.errors import ServiceError


class Command(MemberSyncCommand):
    help = "make, list or revoke API keys (the key is printed once, only its SHA-256 is kept)"

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = actions.add_parser("create", help="make a key and print it once")
        create.add_argument("name", metavar="NAME", help="what the key is for, e.g. hr-system")
        create.add_argument("--scope", choices=SCOPES, required=True, help="read, write or admin")
        create.add_argument(
            "--org", metavar="ORG", help="limit the key to this organization: it acts as its manager there"
        )
        create.add_argument(
            "--rate", type=whole_number(1, 1_000_000), metavar="N", help="requests per minute (default: the site's)"
        )
        actions.add_parser("list", help="every key: name, prefix, scope, organization, last use")
        revoke = actions.add_parser("revoke", help="refuse the key from its next request on")
        revoke.add_argument("name", metavar="NAME")

    def handle(self, *args, action, **options):
        try:
            if action == "create":
                key, token = apikey_create(
                    name=options["name"],
                    scope=options["scope"],
                    org_id=options["org"],
                    rate_per_minute=options["rate"] or 0,
                )
                where = f", organization {options['org']}" if options["org"] else ""
                self.stdout.write(f"API key {key.name} ({key.scope}{where}); it is shown only now:\n{token}\n")
            elif action == "revoke":
                key = apikey_revoke(name=options["name"])
                self.stdout.write(f"API key {key.name} revoked at {key.revoked_at:%Y-%m-%d %H:%M} UTC\n")
            else:
                for key in ApiKey.objects.select_related("organization").order_by("name"):
                    org = key.organization.external_id if key.organization_id else "-"
                    used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
                    state = "revoked" if key.revoked_at else "live"
                    self.stdout.write(
                        f"{key.name}\tms_{key.prefix}_…\t{key.scope}\torg {org}\tlast used {used}\t{state}\n"
                    )
        except ServiceError as error:
            raise CommandError(error.message) from None
