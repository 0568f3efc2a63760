from django.core.management.base import CommandError

from membersync.commandline import MemberSyncCommand
from membersync.connectors.learndash.commands import connect_parser, connect_run
from membersync.connectors.woocommerce.connect import woocommerce_connect
from membersync.errors import ServiceError


class Command(MemberSyncCommand):
    help = (
        "connect a WooCommerce store or a LearnDash site: check its credentials, store them encrypted, say what is next"
    )

    def add_arguments(self, parser):
        systems = parser.add_subparsers(dest="system", required=True, metavar="SYSTEM")
        woo = systems.add_parser("woocommerce", help="a WooCommerce store (with or without Subscriptions, Memberships)")
        woo.add_argument("name", metavar="NAME", help="the connection's name, used in its webhook URL")
        woo.add_argument(
            "--url", required=True, metavar="URL", help="the store's address, e.g. https://shop.example.com"
        )
        woo.add_argument("--consumer-key", required=True, metavar="K", help="a REST API key with read access (ck_...)")
        woo.add_argument("--consumer-secret", required=True, metavar="S", help="its secret (cs_...)")
        woo.add_argument(
            "--webhook-secret", default="", metavar="W", help="the webhooks' secret (default: a new random one)"
        )
        woo.add_argument(
            "--memberships",
            action="store_true",
            help="the store runs WooCommerce Memberships: its user memberships are the memberships' truth",
        )
        woo.add_argument("--no-check", action="store_true", help="store it without checking the key (offline setup)")
        connect_parser(systems)

    def handle(self, *args, system, **options):
        if system == "learndash":
            return connect_run(self, **options)
        return self.woocommerce(**options)

    def woocommerce(
        self, *, name, url, consumer_key, consumer_secret, webhook_secret, memberships, no_check, **options
    ):
        try:
            connected = woocommerce_connect(
                name=name,
                url=url,
                consumer_key=consumer_key,
                consumer_secret=consumer_secret,
                webhook_secret=webhook_secret,
                memberships=memberships,
                check=not no_check,
            )
        except ServiceError as error:
            raise CommandError(str(error)) from None
        checked = "not checked (--no-check)" if no_check else "the store accepted the API key"
        self.stdout.write(f"Connected WooCommerce store {name!r} ({url}): {checked}.")
        self.stdout.write("In WooCommerce > Settings > Advanced > Webhooks, add one webhook per topic below, each with")
        self.stdout.write(f"  Delivery URL: {connected.delivery_url}")
        self.stdout.write(f"  Secret:       {connected.webhook_secret}")
        self.stdout.write("  API version:  WP REST API Integration v3")
        self.stdout.write("Topics:")
        for topic in connected.topics:
            self.stdout.write(f"  {topic}")
