from django.core.management.base import BaseCommand, CommandError

from membersync import clock
from membersync.people.models import Member
from membersync.scenarios.parsing import parse_moment
from membersync.sync.explain import explanation_text
from membersync.sync.selectors import member_explain


class Command(BaseCommand):
    help = "Explain a member's access: every grant, its source, its window and why (--at previews another time)."

    def add_arguments(self, parser):
        parser.add_argument("member", help="the member's id")
        parser.add_argument("course", nargs="?", help="only this course or group id")
        parser.add_argument("--at", help="a date or date-time (ISO 8601); default now")

    def handle(self, *args, member, course, at, **options):
        found = Member.objects.filter(external_id=member).first()
        if found is None:
            raise CommandError(f"no member with id {member!r}")
        try:
            moment = parse_moment(at) if at else clock.now()
        except ValueError as error:
            raise CommandError(f"--at: {error}") from None
        self.stdout.write(explanation_text(member_explain(member=found, at=moment, target_id=course)))
