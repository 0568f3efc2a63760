"""Reads the API needs that no app offers yet: members by a connection's id, pages of the ledger, events and
operations by cursor, and a course's stored access. They read what the engine stored; they compute nothing.
(They belong beside sync/selectors.py; they live here while the engine is being reworked in another branch.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from membersync.catalog.selectors import group_courses
from membersync.errors import NotFound
from membersync.people.models import Identity, Member
from membersync.people.services import member_find
from membersync.sync.models import Enrollment, Event, GrantRecord, LedgerEntry, MemberAccess, Operation

PAGE_MAX = 500
LIVE_STATES = ("open", "suspended", "pending")


def member_get(member_id: str) -> Member:
    """The member with this id (or the one it was merged into)."""
    found = member_find(external_id=str(member_id))
    if found is None:
        raise NotFound("member", member_id, field="member")
    return found.member


def members_lookup(*, email: str = "", connection: str = "", kind: str = "", identity: str = "") -> list[Member]:
    """By normalized email, or by the id a connection knows her by (a store customer id, a WordPress user id)."""
    if identity:
        rows = Identity.objects.filter(external_id=str(identity)).select_related("member")
        if connection:
            rows = rows.filter(connection__name=connection)
        if kind:
            rows = rows.filter(kind=kind)
        return list({row.member_id: row.member for row in rows[:PAGE_MAX]}.values())
    if email:
        return list(Member.objects.filter(email_normalized=email.strip().lower()).order_by("pk")[:PAGE_MAX])
    return []


@dataclass(frozen=True)
class StoredAccess:
    """What the reconciler last decided about one course for a member, and what the built-in LMS holds."""

    target_kind: str
    target_id: str
    state: str  # open | suspended | pending | none
    via: tuple[str, ...]  # the grants' targets that give it: the course itself, or groups
    enrolled_from: datetime | None  # the enrollment start the LMS holds (an active enrollment only)
    computed_at: datetime | None


def stored_access(member: Member, course_id: str | None = None) -> list[StoredAccess]:
    """Each course (or group) the member has a live grant or an enrollment for, as last reconciled; with
    `course_id`, that course only (a grant of a group giving it counts). Three small queries when no group is
    involved (the catalog's groups are read only when one of her rows names a group)."""
    grants = GrantRecord.objects.filter(member=member, state__in=LIVE_STATES).values_list(
        "target_kind", "target_id", "state"
    )
    enrollments = Enrollment.objects.filter(member=member, status=Enrollment.ACTIVE).values_list(
        "target_kind", "target_id", "access_from"
    )
    grants, enrollments = list(grants), list(enrollments)
    groups = group_courses() if any(row[0] != "course" for row in [*grants, *enrollments]) else {}
    computed = MemberAccess.objects.filter(member=member).values_list("computed_at", flat=True).first()
    rank = {"open": 3, "suspended": 2, "pending": 1}
    states: dict[tuple[str, str], tuple[str, set[str]]] = {}

    def key_for(kind: str, target: str) -> tuple[str, str] | None:
        if course_id is None:
            return (kind, target)
        if (kind == "course" and target == course_id) or (kind == "group" and course_id in groups.get(target, ())):
            return ("course", course_id)
        return None

    for kind, target, state in grants:
        if (key := key_for(kind, target)) is None:
            continue
        best, vias = states.get(key, ("none", set()))
        vias.add(f"{kind}:{target}")
        states[key] = (state if rank.get(state, 0) > rank.get(best, 0) else best, vias)
    starts: dict[tuple[str, str], datetime] = {}
    for kind, target, access_from in enrollments:
        if kind == "leader" or (key := key_for(kind, target)) is None:
            continue
        starts[key] = min(access_from, starts.get(key, access_from))
        states.setdefault(key, ("none", set()))
    if course_id is not None and not states:
        states[("course", course_id)] = ("none", set())
    return [
        StoredAccess(kind, target, state, tuple(sorted(via)), starts.get((kind, target)), computed)
        for (kind, target), (state, via) in sorted(states.items())
    ]


def _page(query: QuerySet, after: int | None, limit: int) -> tuple[list, int | None]:
    if after:
        query = query.filter(pk__gt=after)
    rows = list(query.order_by("pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (rows[-1].pk if more and rows else None)


def ledger_page(
    *,
    member: Member | None = None,
    target: str = "",
    source: str = "",
    since: datetime | None = None,
    until: datetime | None = None,
    after: int | None = None,
    limit: int = 100,
) -> tuple[list[LedgerEntry], int | None]:
    """Ledger entries in the order they were recorded, filtered; (entries, the cursor of the next page)."""
    query = LedgerEntry.objects.select_related("member")
    if member is not None:
        query = query.filter(member=member)
    if target:
        query = query.filter(target_id=target)
    if source:
        kind, _, ident = source.partition(":")
        query = query.filter(source_kind=kind, source_id=ident) if ident else query.filter(source_kind=kind)
    if since is not None:
        query = query.filter(at__gte=since)
    if until is not None:
        query = query.filter(at__lt=until)
    return _page(query, after, limit)


def events_page(*, kind: str = "", outcome: str = "", after: int | None = None, limit: int = 100):
    query = Event.objects.all()
    if kind:
        query = query.filter(kind=kind)
    if outcome:
        query = query.filter(outcome=outcome)
    return _page(query, after, limit)


def event_get(event_id: int) -> Event:
    found = Event.objects.filter(pk=event_id).first()
    if found is None:
        raise NotFound("event", event_id, field="event")
    return found


def operations_page(*, status: str = "", member: Member | None = None, after: int | None = None, limit: int = 100):
    query = Operation.objects.select_related("member")
    if status:
        query = query.filter(status=status)
    if member is not None:
        query = query.filter(member=member)
    return _page(query, after, limit)


def operation_get(operation_id: int) -> Operation:
    found = Operation.objects.select_related("member").filter(pk=operation_id).first()
    if found is None:
        raise NotFound("operation", operation_id, field="operation")
    return found


def org_get(org_id: str):
    from membersync.orgs.selectors import org_by_external_id

    found = org_by_external_id(org_id)
    if found is None:
        raise NotFound("organization", org_id, field="org")
    return found


def invitation_in_org(org, invitation_id: int):
    from membersync.orgs.models import Invitation

    found = Invitation.objects.filter(organization=org, pk=invitation_id).first()
    if found is None:
        raise NotFound("invitation", invitation_id, field="invitation")
    return found


def license_get(license_id: str, *, org=None):
    from membersync.orgs.models import License

    query = License.objects.select_related("license_type", "member", "organization")
    if org is not None:
        query = query.filter(organization=org)
    found = query.filter(external_id=str(license_id)).first()
    if found is None:
        raise NotFound("license", license_id, field="license")
    return found
