import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from membersync.actors import Actor
from membersync.commandline import MemberSyncCommand, port
from membersync.demo import demo_load
from membersync.members.models import Membership
from membersync.sync.resync import members_resync


def _stop_on_sigterm(signum, frame):
    raise KeyboardInterrupt


class Command(MemberSyncCommand):
    help = "migrate, load the demo site, then serve the admin and portal with the worker until Ctrl-C"

    def add_arguments(self, parser):
        parser.add_argument("--port", type=port, default=8000, metavar="N", help="port on 127.0.0.1 (default 8000)")
        parser.add_argument("--no-serve", action="store_true", help="load the demo and exit")

    def handle(self, *args, port, no_serve, **options):
        out = self.stdout
        call_command("migrate", interactive=False, verbosity=0)
        context = demo_load()
        created = ", ".join(f"{n} {kind}" for kind, n in sorted(context.created.items()))
        out.write(f"Demo site loaded ({'created ' + created if created else 'already there, nothing to add'}).")
        report = members_resync(dry_run=False, actor=Actor.system("demo"))
        out.write(f"Reconciled {report.members} members: {report.operations_done} enrollment operations carried out.")
        statuses = {}
        for status in Membership.objects.values_list("status", flat=True):
            statuses[status] = statuses.get(status, 0) + 1
        out.write("Memberships: " + ", ".join(f"{n} {s}" for s, n in sorted(statuses.items())))
        if no_serve:
            self._logins(context)
            return
        self._serve(port, context)

    def _logins(self, context) -> None:
        for who, username, password in context.logins:
            self.stdout.write(f"  {who} login: {username} / {password}")

    def _serve(self, port: int, context) -> None:
        settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves from the finders; silence it
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "membersync.settings")}
        address = f"127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "membersync.wsgi:application",
                "--bind",
                address,
                "--workers",
                "2",
                "--access-logfile",
                "-",
                "--log-level",
                "warning",
            ],
            env=env,
            start_new_session=True,
        )
        worker = subprocess.Popen([sys.executable, "-m", "membersync.cli", "worker"], env=env, start_new_session=True)
        children = {"web server": server, "worker": worker}
        self.stdout.write(f"\nMemberSync admin: http://{address}/admin/")
        self._logins(context)
        self.stdout.write("The worker is running. Press Ctrl-C to stop.\n")
        self.stdout.flush()
        # The children run in sessions of their own, so a terminal's Ctrl-C reaches only this process, which
        # stops them in order with SIGTERM; a SIGTERM to this process does the same.
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        failed = None
        try:
            while failed is None:
                time.sleep(0.5)
                failed = next((name for name, child in children.items() if child.poll() is not None), None)
        except KeyboardInterrupt:
            pass
        finally:
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            for child in children.values():
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
        if failed:
            raise CommandError(f"the {failed} stopped (exit code {children[failed].returncode}); see its output above")
        self.stdout.write("Stopped.")
