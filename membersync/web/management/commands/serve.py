import os
import sys

from django.core.management.base import CommandError

from membersync.commandline import MemberSyncCommand, whole_number


def _bind(text: str) -> str:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise CommandError(f"--bind {text!r}: give HOST:PORT, with a port from 1 to 65535")
    return text


class Command(MemberSyncCommand):
    help = "run the production web server (gunicorn): admin, portal and webhooks; run `membersync worker` beside it"

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("MEMBERSYNC_BIND", "127.0.0.1:8000"), metavar="HOST:PORT")
        parser.add_argument(
            "--workers",
            type=whole_number(1, 64),
            default=int(os.environ.get("WEB_CONCURRENCY", "0") or 0),
            metavar="N",
            help="gunicorn worker processes (default: WEB_CONCURRENCY, else 2 per CPU core + 1)",
        )

    def handle(self, *args, bind, workers, **options):
        bind = _bind(bind)
        workers = workers or 2 * (os.cpu_count() or 1) + 1
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "membersync.wsgi:application",
            "--bind",
            bind,
            "--workers",
            str(workers),
            "--access-logfile",
            "-",
            "--timeout",
            "30",
        ]
        self.stdout.write(f"Serving MemberSync on http://{bind} with {workers} workers (gunicorn).")
        self.stdout.flush()
        os.execv(sys.executable, command)
