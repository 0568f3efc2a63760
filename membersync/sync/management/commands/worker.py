from django.core.management.base import BaseCommand

from membersync.sync.worker import worker_forever


class Command(BaseCommand):
    help = "Run the worker: carry out the outbox and wake members whose access changes by itself."

    def add_arguments(self, parser):
        parser.add_argument("--poll", type=float, default=2.0, help="seconds between passes (default 2)")
        parser.add_argument("--once", action="store_true", help="do one pass and stop")

    def handle(self, *args, poll, once, **options):
        worker_forever(poll_seconds=0 if once else poll, stop_after=1 if once else None)
