"""Reads: what a member can open, why, and what she will have at another moment (the what-if preview)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from membersync.access.grants import Grant, access_at, grants_from_window
from membersync.catalog.selectors import group_courses
from membersync.people.models import Member

from .models import Enrollment, GrantRecord, LedgerEntry
from .sources import load_sources


def member_courses(member: Member) -> set[str]:
    """The courses the member can open now in the built-in LMS: directly, or through a group."""
    rows = Enrollment.objects.filter(member=member, status=Enrollment.ACTIVE).values_list("target_kind", "target_id")
    groups = group_courses()
    courses = set()
    for kind, target_id in rows:
        if kind == "course":
            courses.add(target_id)
        elif kind == "group":
            courses |= groups.get(target_id, set())
    return courses


def member_groups(member: Member) -> set[str]:
    return set(
        Enrollment.objects.filter(member=member, status=Enrollment.ACTIVE, target_kind="group").values_list(
            "target_id", flat=True
        )
    )


@dataclass
class TargetExplanation:
    kind: str
    id: str
    state: str  # open | suspended | none
    access_from: datetime | None
    grants: list[dict] = field(default_factory=list)
    history: list[LedgerEntry] = field(default_factory=list)


@dataclass
class Explanation:
    member: Member
    at: datetime
    sources: list[dict]
    targets: list[TargetExplanation]


def member_explain(*, member: Member, at: datetime, target_id: str | None = None) -> Explanation:
    """Every grant that gives, would give, or no longer gives the member access at `at`, with its source and
    why; computed from her sources as they stand, so a future `at` previews what she will have then."""
    loaded = load_sources([member.pk], at)
    windows = loaded.windows.get(member.pk, [])
    grants: list[Grant] = [g for w in windows for g in grants_from_window(w)]
    accesses = access_at(grants, at)
    ledger = list(LedgerEntry.objects.filter(member=member).order_by("at", "pk"))
    targets = []
    for target, access in sorted(accesses.items()):
        if target_id is not None and target.id != str(target_id):
            continue
        targets.append(
            TargetExplanation(
                kind=target.kind,
                id=target.id,
                state=access.state,
                access_from=access.access_from,
                grants=[_grant_row(g, at) for g in access.grants],
                history=[e for e in ledger if e.target_kind == target.kind and e.target_id == target.id],
            )
        )
    sources = [
        {
            "kind": w.kind,
            "id": w.id,
            "label": w.label,
            "start": w.start,
            "end": w.end,
            "end_reason": w.end_reason,
            "pauses": [(p.start, p.end, p.reason) for p in w.pauses],
            "trial_end": w.trial_end,
            "status": w.status,
            "status_rule": w.status_rule,
        }
        for w in windows
    ]
    return Explanation(member=member, at=at, sources=sources, targets=targets)


def _grant_row(grant: Grant, at: datetime) -> dict:
    return {
        "key": grant.key,
        "state": grant.state_at(at),
        "source": grant.source_label,
        "opens": grant.opens,
        "closes": grant.closes,
        "suspensions": [(p.start, p.end, p.reason) for p in grant.suspensions],
        "why": grant.why,
        "close_reason": grant.close_reason,
    }


def member_ledger(*, member: Member) -> list[LedgerEntry]:
    """Every ledger entry of the member, oldest first."""
    return list(LedgerEntry.objects.filter(member=member).order_by("at", "pk"))


def target_states(*, member_ids: Iterable[int], states: Iterable[str]) -> list[tuple[int, str, str, str]]:
    """(member pk, target kind, target id, grant state) for each grant of these members in one of `states`.
    `member_ids` may be a queryset of pks: it then runs as a subquery, in the same statement."""
    return list(
        GrantRecord.objects.filter(member_id__in=member_ids, state__in=tuple(states))
        .values_list("member_id", "target_kind", "target_id", "state")
        .distinct()
    )


def member_access_from(member: Member, course_id: str) -> datetime | None:
    """The enrollment start the built-in LMS holds for the course (LearnDash's course_<id>_access_from): that of
    her active enrollment in the course, or else the earliest of her active enrollments in groups that give it.
    None when she is not enrolled (a suspended enrollment does not let her in)."""
    rows = Enrollment.objects.filter(member=member, status=Enrollment.ACTIVE)
    direct = rows.filter(target_kind="course", target_id=course_id).values_list("access_from", flat=True).first()
    if direct is not None:
        return direct
    groups = [group for group, courses in group_courses().items() if course_id in courses]
    starts = rows.filter(target_kind="group", target_id__in=groups).values_list("access_from", flat=True)
    return min(starts, default=None)


def inbox_is_empty() -> bool:
    """No event was ever received (scenarios run on a fresh database and check it)."""
    from .models import Event

    return not Event.objects.exists()
