"""Access: what a member may open, as the reconciler last stored it; with `explain` or `at`, why (the same
explanation as `membersync explain`)."""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema

from membersync import clock
from membersync.members.history import MEMBERSHIP_HISTORY
from membersync.sync.selectors import member_explain

from .. import auth, selectors
from ..common import answers, moment
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


def _row(row: selectors.StoredAccess) -> dict:
    return {
        "target_kind": row.target_kind,
        "target_id": row.target_id,
        "state": row.state,
        "access": row.state == "open",
        "enrolled_from": row.enrolled_from,
        "via": list(row.via),
        "computed_at": row.computed_at,
    }


def _explanation(member, at: str | None, course: str | None) -> dict:
    now = clock.now()
    when = moment(at, field="at") or now
    found = member_explain(member=member, at=when, now=now, target_id=course, history=(MEMBERSHIP_HISTORY,))
    return explanation_out(found)


@router.get("/members/{member}/access", response=answers(MemberAccessOut), auth=auth.read, summary="Her access")
def member_access(request, member: str, at: str | None = None, explain: bool = False):
    """Every course and group she has a live grant or an enrollment for, as last reconciled. `explain=true`, or
    `at` (a date or date-time, past or future), adds the explanation at that moment."""
    found = selectors.member_get(member)
    body = {"member": found.external_id, "access": [_row(r) for r in selectors.stored_access(found)]}
    if explain or at:
        body["explanation"] = _explanation(found, at, None)
    return body


@router.get(
    "/members/{member}/access/{course}", response=answers(CourseAccessOut), auth=auth.read, summary="May she open it"
)
def course_access(request, member: str, course: str, at: str | None = None, explain: bool = False):
    """One course: `access` is true when the reconciler last found a grant of it open (directly or through a
    group); `enrolled_from` is the enrollment start the LMS holds once the worker has applied it. Read from what
    the reconciler stored; nothing is computed unless `explain` or `at` asks."""
    found = selectors.member_get(member)
    explanation = _explanation(found, at, course) if explain or at else None  # refuses an unknown course
    (row,) = selectors.stored_access(found, course)
    return {**_row(row), "member": found.external_id, "explanation": explanation}
