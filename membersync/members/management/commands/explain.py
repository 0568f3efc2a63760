"""`membersync explain`: why a member has, had, will have or no longer has access.

It lives with the members because a past moment needs their memberships as they were known then
(members/history.py), which the engine (sync) may not import.
"""

from django.core.management.base import CommandError

from membersync import clock
from membersync.commandline import MemberSyncCommand
from membersync.errors import ServiceError
from membersync.members.history import MEMBERSHIP_HISTORY
from membersync.people.models import Member
from membersync.sync.explain import explanation_text
from membersync.sync.selectors import member_explain
from membersync.timeparse import MomentError, parse_moment


class Command(MemberSyncCommand):
    help = "why a member has, will have or no longer has access: every grant, its source, window and history"

    def add_arguments(self, parser):
        parser.add_argument("member", metavar="MEMBER", help="the member's id")
        parser.add_argument("course", nargs="?", metavar="COURSE", help="only this course or group id")
        parser.add_argument(
            "--at",
            metavar="TIME",
            help="another moment: a date or date-time (ISO 8601, UTC); default now. In the past it shows what was "
            "in force then; in the future, a preview",
        )

    def handle(self, *args, member, course, at, **options):
        found = Member.objects.filter(external_id=member).first()
        if found is None:
            raise CommandError(f"no member with id {member!r}")
        now = clock.now()
        try:
            moment = parse_moment(at) if at else now
        except MomentError as error:
            raise CommandError(f"--at: {error}") from None
        try:
            explanation = member_explain(
                member=found, at=moment, now=now, target_id=course, history=(MEMBERSHIP_HISTORY,)
            )
        except ServiceError as error:
            raise CommandError(error.message) from None
        self.stdout.write(explanation_text(explanation))
