"""Access: what a member may open, as the reconciler last stored it; with `explain` or `at`, why (the same
explanation as `membersync explain`)."""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema

from membersync import clock
from membersync.members.history import MEMBERSHIP_HISTORY
from membersync.sync import selectors as sync_selectors
from membersync.sync.selectors import StoredAccess, member_explain

from .. import auth, selectors
from ..common import answers, moment, rendered
from ..explain import ExplanationOut, explanation_out

router = Router(tags=["access"])


class AccessOut(Schema):
    target_kind: str
    target_id: str
    state: str  # open | suspended | pending | none
    access: bool
    enrolled_from: datetime | None
    via: list[str]
    computed_at: datetime | None


class MemberAccessOut(Schema):
    member: str
    access: list[AccessOut]
    explanation: ExplanationOut | None = None


class CourseAccessOut(AccessOut):
    member: str
    explanation: ExplanationOut | None = None


def _row(row: StoredAccess) -> dict:
    return {
        "target_kind": row.target_kind,
        "target_id": row.target_id,
        "state": row.state,
        "access": row.state == "open",
        "enrolled_from": row.enrolled_from,
        "via": list(row.via),
        "computed_at": row.computed_at,
    }


def _stored(member: str, course: str | None) -> sync_selectors.MemberStoredAccess:
    """Her stored access in one query; a merged member's old id (or an unknown one) takes the longer way."""
    found = sync_selectors.stored_access(member_id=member, course_id=course)
    if found is None:
        canonical = selectors.member_get(member).external_id  # refuses an unknown member
        found = sync_selectors.stored_access(member_id=canonical, course_id=course)
    return found


def _explanation(member, at: str | None, course: str | None) -> dict:
    now = clock.now()
    when = moment(at, field="at") or now
    found = member_explain(member=member, at=when, now=now, target_id=course, history=(MEMBERSHIP_HISTORY,))
    return explanation_out(found)


@router.get("/members/{member}/access", response=answers(MemberAccessOut), auth=auth.read, summary="Her access")
def member_access(request, member: str, at: str | None = None, explain: bool = False):
    """Every course and group she has a live grant or an enrollment for, as last reconciled. `explain=true`, or
    `at` (a date or date-time, past or future), adds the explanation at that moment."""
    stored = _stored(member, None)
    body = {"member": stored.member, "access": [_row(r) for r in stored.access], "explanation": None}
    if explain or at:
        body["explanation"] = _explanation(selectors.member_get(stored.member), at, None)
        return body
    return rendered(body)


@router.get(
    "/members/{member}/access/{course}", response=answers(CourseAccessOut), auth=auth.read, summary="May she open it"
)
def course_access(request, member: str, course: str, at: str | None = None, explain: bool = False):
    """One course: `access` is true when the reconciler last found a grant of it open (directly or through a
    group); `enrolled_from` is the enrollment start the LMS holds once the worker has applied it. Read from what
    the reconciler stored; nothing is computed unless `explain` or `at` asks."""
    stored = _stored(member, course)
    (row,) = stored.access
    body = {**_row(row), "member": stored.member, "explanation": None}
    if explain or at:  # refuses an unknown course
        body["explanation"] = _explanation(selectors.member_get(stored.member), at, course)
        return body
    return rendered(body)
