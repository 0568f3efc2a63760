from django.core.management.base import CommandError

from membersync.actors import Actor
from membersync.commandline import MemberSyncCommand
from membersync.connectors.learndash.adoption import adoption_plan, learndash_adopt
from membersync.connectors.learndash.commands import plan_lines
from membersync.connectors.learndash.site import learndash_connection_named
from membersync.errors import ServiceError


class Command(MemberSyncCommand):
    help = "before going live on a LearnDash site: what MemberSync would keep, add, remove or move, and adopt the rest"

    def add_arguments(self, parser):
        systems = parser.add_subparsers(dest="system", required=True, metavar="SYSTEM")
        site = systems.add_parser("learndash", help="a connected, imported LearnDash site")
        site.add_argument("name", metavar="NAME", help="the connection's name")
        site.add_argument("--dry-run", action="store_true", help="show the table per course and group, change nothing")
        site.add_argument(
            "--course",
            action="append",
            type=int,
            default=[],
            metavar="ID",
            help="adopt the enrollments going live would remove from this course or group (its post id); repeatable",
        )
        site.add_argument("--all-extra", action="store_true", help="adopt every enrollment going live would remove")

    def handle(self, *args, system, name, dry_run, course, all_extra, **options):
        try:
            connection = learndash_connection_named(name)
        except ServiceError as error:
            raise CommandError(error.message) from None
        out = self.stdout
        if dry_run:
            plan = adoption_plan(connection=connection)
            if not plan.imported:
                out.write(f"Nothing imported from {name!r} yet: run `membersync import learndash {name}` first.")
            out.write(f"Going live on LearnDash site {name!r} would, per course and group (students):")
            for line in plan_lines(plan):
                out.write(line)
            if plan.unlinked:
                out.write(f"Not linked to the catalog, left as they are: {', '.join(plan.unlinked)}")
            if plan.total("remove"):
                out.write(
                    f"Adopt the ones to keep before going live: `membersync adopt learndash {name} --course ID` "
                    "or --all-extra (they become lms sources, at their original dates)."
                )
            return
        try:
            adopted = learndash_adopt(
                connection=connection, actor=Actor.system(), remote_ids=course, all_extra=all_extra, source="cli"
            )
        except ServiceError as error:
            raise CommandError(error.message) from None
        for line in adopted.lines[:50]:
            out.write(f"  {line}")
        out.write(f"Adopted {adopted.recorded} enrollments as lms sources ({adopted.already} adopted before).")
