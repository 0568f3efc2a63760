from django.core.management.base import CommandError

from membersync.actors import Actor
from membersync.commandline import MemberSyncCommand
from membersync.errors import ServiceError
from membersync.tags.batch import BATCHES, CRM_PULL, tags_batch_run
from membersync.tags.pull import crm_connection_named, crm_pull
from membersync.tags.selectors import crm_connections

from ._progress import progress_bar


class Command(MemberSyncCommand):
    help = (
        "make every member's course or group tags right in each CRM, sending only the differences; or reload its tags"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "which",
            choices=BATCHES,
            metavar="course-tags/group-tags/crm-pull",
            help="course-tags, group-tags: make each CRM hold the tags course (group) settings want for every "
            "member, calling it only for the differences; crm-pull: reload every connected CRM's tags",
        )
        parser.add_argument("--dry-run", action="store_true", help="decide and report, send and record nothing")
        parser.add_argument(
            "--crm", default=None, metavar="NAME", help="one CRM connection only (builtin: the built-in CRM)"
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, which, dry_run, crm, no_progress, **options):
        try:
            if which == CRM_PULL:
                return self.pull(dry_run=dry_run, crm=crm, no_progress=no_progress)
            progress = None if no_progress else progress_bar(self.stderr, "members")
            report = tags_batch_run(which=which, dry_run=dry_run, crm=crm, progress=progress)
        except ServiceError as error:
            raise CommandError(str(error)) from None
        out = self.stdout
        would = "would change" if dry_run else "to change"
        for label, decision in report.decisions:
            out.write(
                f"{label}: {decision.members} members decided, {len(decision.differences)} {would} "
                f"({decision.adds} tags to apply, {decision.removes} to remove)"
            )
        if dry_run:
            return
        out.write(f"{report.done} operations carried out, {report.waiting} left to the worker")
        for note in report.notes:
            out.write(f"  {note}")

    def pull(self, *, dry_run, crm, no_progress):
        connections = [crm_connection_named(crm)] if crm else [c for c in crm_connections() if c.has_credentials]
        if not connections:
            self.stdout.write("No CRM is connected: the built-in CRM has nothing to reload.")
            return
        for connection in connections:
            progress = None if no_progress else progress_bar(self.stderr, "contacts")
            report = crm_pull(connection=connection, actor=Actor.system("cli"), dry_run=dry_run, progress=progress)
            would = "would change" if dry_run else "changed"
            self.stdout.write(
                f"{connection.name}: {report.contacts} contacts read in {report.calls} requests, "
                f"{report.changed} members {would} ({report.gained} tags applied there, {report.removed} removed, "
                f"{report.created} new members, {report.skipped} contacts left alone)"
            )
            for failure in report.failed[:20]:
                self.stdout.write(f"  failed: {failure}")
