from membersync import clock
from membersync.commandline import MemberSyncCommand, seconds
from membersync.sync.worker import worker_forever, worker_name, worker_tick


class Command(MemberSyncCommand):
    help = "carry out the outbox and wake members whose access changes by itself (drips, trial ends, expiries)"

    def add_arguments(self, parser):
        parser.add_argument(
            "--poll",
            type=seconds(0.1, 3600),
            default=2.0,
            metavar="S",
            help="seconds between passes, from 0.1 to 3600 (default 2)",
        )
        parser.add_argument("--once", action="store_true", help="do one pass, say what it did, and stop")

    def handle(self, *args, poll, once, **options):
        if once:
            report = worker_tick(now=clock.now(), worker=worker_name())
            self.stdout.write(
                f"One pass: {report.deliveries_applied} {_plural(report.deliveries_applied, 'delivery')} applied, "
                f"{report.operations_done} {_plural(report.operations_done, 'operation')} applied, "
                f"{report.members_woken} {_plural(report.members_woken, 'member')} woken."
            )
            return
        worker_forever(poll_seconds=poll)


def _plural(n: int, word: str) -> str:
    if n == 1:
        return word
    return word[:-1] + "ies" if word.endswith("y") else word + "s"
