from django.core.management.base import CommandError

from membersync.actors import Actor
from membersync.commandline import MemberSyncCommand
from membersync.errors import ServiceError
from membersync.people.models import ACTIVECAMPAIGN, FLUENTCRM
from membersync.tags.connect import crm_connect
from membersync.tags.pull import crm_connection_named, crm_pull

from ._progress import progress_bar


class Command(MemberSyncCommand):
    help = "connect ActiveCampaign or FluentCRM (credentials checked, stored encrypted), or reload a CRM's tags"

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        connect = actions.add_parser("connect", help="connect a CRM: check its credentials, store them encrypted")
        systems = connect.add_subparsers(dest="system", required=True, metavar="CRM")
        ac = systems.add_parser("activecampaign", help="an ActiveCampaign account (API v3)")
        ac.add_argument("name", metavar="NAME", help="the connection's name, used in its webhook URL")
        ac.add_argument("--url", required=True, metavar="URL", help="the API URL, e.g. https://ACCOUNT.api-us1.com")
        ac.add_argument("--api-token", required=True, metavar="T", help="Settings > Developer > API Access")
        fluent = systems.add_parser("fluentcrm", help="FluentCRM on a WordPress site (application password)")
        fluent.add_argument("name", metavar="NAME", help="the connection's name")
        fluent.add_argument("--url", required=True, metavar="URL", help="the WordPress site, e.g. https://example.com")
        fluent.add_argument("--user", required=True, metavar="U", help="a WordPress user allowed to manage FluentCRM")
        fluent.add_argument("--app-password", required=True, metavar="P", help="that user's application password")
        fluent.add_argument(
            "--companion",
            default="",
            metavar="LEARNDASH",
            help="the LearnDash connection whose companion plugin reports this CRM's tag changes",
        )
        for system in (ac, fluent):
            system.add_argument(
                "--webhook-secret", default="", metavar="W", help="the webhooks' secret (default: a new random one)"
            )
            system.add_argument("--no-check", action="store_true", help="store it without calling the CRM")
        pull = actions.add_parser("pull", help="reload a CRM's tags (WP Fusion's Resync tags); enrollments follow")
        pull.add_argument("name", metavar="NAME", help="the CRM connection's name")
        pull.add_argument("--dry-run", action="store_true", help="read the CRM and say what would change")
        pull.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, action, **options):
        try:
            if action == "connect":
                return self.connect(**options)
            return self.pull(**options)
        except ServiceError as error:
            raise CommandError(str(error)) from None

    def connect(self, *, system, name, url, webhook_secret, no_check, **options):
        kind = ACTIVECAMPAIGN if system == "activecampaign" else FLUENTCRM
        connected = crm_connect(
            kind=kind,
            name=name,
            url=url,
            api_token=options.get("api_token") or "",
            user=options.get("user") or "",
            app_password=options.get("app_password") or "",
            companion=options.get("companion") or "",
            webhook_secret=webhook_secret,
            check=not no_check,
        )
        out = self.stdout
        checked = "not checked (--no-check)" if no_check else "the CRM accepted the credentials"
        out.write(f"Connected {system} {name!r} ({connected.connection.url}): {checked}.")
        if kind == ACTIVECAMPAIGN:
            out.write("In ActiveCampaign > Settings > Developer > Webhooks, add a webhook with")
            out.write(f"  URL:    {connected.webhook_url}")
            out.write("  Events: Tag added, Tag removed (the secret in the URL authenticates them: keep it private)")
        else:
            out.write("FluentCRM sends no tag webhooks: with the MemberSync companion plugin on its site, its tag")
            out.write(
                "changes reach MemberSync through the companion. Without it, run `membersync crm pull` on a schedule."
            )
        out.write(f"Other senders: POST JSON to {connected.generic_url}, signed with X-MemberSync-Signature")
        out.write(f"  (base64 HMAC-SHA256 of the body) with the webhook secret: {connected.webhook_secret}")
        out.write(
            "Next: tag settings per course and group in the admin, then `membersync batch course-tags --dry-run`."
        )

    def pull(self, *, name, dry_run, no_progress, **options):
        connection = crm_connection_named(name)
        progress = None if no_progress else progress_bar(self.stderr, "contacts")
        report = crm_pull(connection=connection, actor=Actor.system("cli"), dry_run=dry_run, progress=progress)
        would = " (dry run: nothing recorded)" if dry_run else ""
        out = self.stdout
        out.write(
            f"{name}: {report.contacts} contacts read in {report.calls} requests; {report.compared} compared, "
            f"{report.changed} with other tags than MemberSync knew{would}"
        )
        out.write(
            f"  tags applied in the CRM: {report.gained}; removed there: {report.removed}; "
            f"MemberSync's own seen back: {report.echoes}"
        )
        made = "would be made" if dry_run else "made"
        out.write(
            f"  members {made} for contacts holding a linked tag: {report.created}; "
            f"other contacts left alone: {report.skipped}"
        )
        for failure in report.failed[:20]:
            out.write(f"  failed: {failure}")
        if report.failed:
            raise CommandError(f"{len(report.failed)} members could not be recorded")
