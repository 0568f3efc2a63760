from membersync import clock
from membersync.commandline import MemberSyncCommand
from membersync.ops.alerts import alerts_check


class Command(MemberSyncCommand):
    help = "email the operators about anything new that needs them (from cron: notices a stopped worker)"

    def handle(self, *args, **options):
        opened = alerts_check(now=clock.now())
        for alert in opened:
            self.stdout.write(alert.subject)
        self.stdout.write(f"{len(opened)} new {'incident' if len(opened) == 1 else 'incidents'}.")
