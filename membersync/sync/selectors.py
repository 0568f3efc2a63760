"""Reads: what a member can open, why, and what she will have at another moment (the what-if preview)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import Q, QuerySet

from membersync import clock, memo
from membersync.access.grants import OPEN, SUSPENDED, Grant, TargetAccess, access_at, days, grants_from_window
from membersync.access.rules import Target
from membersync.catalog.models import AccessRule, Course, Group
from membersync.catalog.selectors import group_courses
from membersync.errors import NotFound, ServiceError
from membersync.people.models import Member

from .asof import SourceAsOf, SourceHistory, as_of_window
from .models import Enrollment, Event, GrantRecord, LedgerEntry, MemberAccess, Operation
from .sinks import sinks_all
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
class GrantExplanation:
    key: str
    state: str  # open | suspended | pending | closed | never (pending, but its source ends before it opens)
    source: str
    opens: datetime | None
    closes: datetime | None
    opening: str  # when it opens, in words ("opens 9 days after the source resumes (5 of 14 days served)")
    suspensions: list[tuple[datetime, datetime | None, str]]
    why: str
    close_reason: str
    scheduled: str  # what opens it by time ("drip of plan Gold"), or ""


@dataclass
class LedgerLine:
    entry: LedgerEntry
    recorded_later: bool  # it took effect by the moment asked, but was recorded after it
    title: str = ""  # its course's or group's title


@dataclass
class TargetExplanation:
    kind: str
    id: str
    title: str
    state: str  # open | suspended | none, as in force at the moment asked
    access_from: datetime | None
    run_start: datetime | None = None  # the start of her uninterrupted access, before suspensions pushed it back
    pushed_back: timedelta = timedelta(0)
    grants: list[GrantExplanation] = field(default_factory=list)
    history: list[LedgerLine] = field(default_factory=list)
    correction: str = ""  # what is known now about that moment, when it differs
    granted_by: list[str] = field(default_factory=list)  # for a target none of her sources grant: what would

    @property
    def pushed_back_days(self) -> str:
        return days(self.pushed_back)


@dataclass
class SourceExplanation:
    kind: str
    id: str
    label: str
    start: datetime
    end: datetime | None
    end_reason: str
    pauses: list[tuple[datetime, datetime | None, str]]
    trial_end: datetime | None
    status: str
    status_rule: str
    details: tuple[str, ...] = ()
    correction: str = ""
    known_then: bool = True


PAST, NOW, FUTURE = "past", "now", "future"


@dataclass
class Explanation:
    member: Member
    at: datetime
    now: datetime
    sources: list[SourceExplanation]
    targets: list[TargetExplanation]
    asked: str | None = None  # the course or group asked about, if any
    ledger: list[LedgerLine] = field(default_factory=list)  # every entry that took effect by `at`
    notes: list[str] = field(default_factory=list)  # what a sink does differently with her access (sinks.py)

    @property
    def when(self) -> str:
        return PAST if self.at < self.now else FUTURE if self.at > self.now else NOW


def member_explain(
    *,
    member: Member,
    at: datetime,
    target_id: str | None = None,
    history: Sequence[SourceHistory] = (),
    now: datetime | None = None,
) -> Explanation:
    """Every grant that gives, gave, would give, or no longer gives the member access at `at`, with its source,
    window and why; the ledger up to `at`.

    `at` in the past: what was in force then. The sources of the kinds a `history` covers are rebuilt as they
    were known then (the apps that own them know their history; the entry points pass them in), and what later
    deliveries corrected is marked. `at` in the future: a preview from her sources as they stand now.
    `target_id`: only that course (and the groups that give it) or group; one that none of her sources grant
    says what would; an id that is no course or group is refused (not_found)."""
    now = now or clock.now()
    titles = target_titles()
    if target_id is not None and str(target_id) not in titles:
        raise ServiceError("not_found", f"no course or group with id {str(target_id)!r}", field="course")
    current = load_sources([member.pk], at).windows.get(member.pk, [])
    covered: set[str] = set()
    views: list[SourceAsOf] = []
    for source_history in history:
        covered |= source_history.kinds
        views.extend(source_history.load([member.pk], at, now).get(member.pk, []))
    everything = member_ledger(member=member)
    for window in current:
        if window.kind not in covered:
            view = as_of_window(window, at)
            views.append(_as_known_then(view, everything, at) if at < now else view)

    then_grants = [g for v in views if v.known_then for g in grants_from_window(v.window)]
    then = access_at(then_grants, at)
    known_now = access_at([g for w in current for g in grants_from_window(w)], at) if at < now else then
    ledger = [e for e in everything if e.at <= at]
    targets = []
    for target in sorted(then.keys() | known_now.keys()):
        if target_id is not None and not _concerns(target, str(target_id)):
            continue
        access = then.get(target)
        entries = [e for e in ledger if (e.target_kind, e.target_id) == (target.kind, target.id)]
        correction = _target_correction(access, known_now.get(target), entries, at)
        if access is None and not correction:
            continue  # only a source nobody knew of then grants it, and not yet at that moment
        targets.append(
            TargetExplanation(
                kind=target.kind,
                id=target.id,
                title=titles.get(target.id, target.id),
                state=access.state if access else "none",
                access_from=access.access_from if access else None,
                run_start=access.run_start if access else None,
                pushed_back=access.pushed_back if access else timedelta(0),
                grants=[_grant_row(g, at) for g in (access.grants if access else ())],
                history=[LedgerLine(e, e.recorded_at > at, titles.get(e.target_id, e.target_id)) for e in entries],
                correction=correction,
            )
        )
    if target_id is not None and not targets:
        asked = str(target_id)
        kind = "course" if asked in titles.courses else "group"
        targets.append(
            TargetExplanation(
                kind=kind, id=asked, title=titles[asked], state="none", access_from=None, granted_by=granted_by(asked)
            )
        )
    sources = [_source_row(v) for v in views]
    lines = [LedgerLine(e, e.recorded_at > at, titles.get(e.target_id, e.target_id)) for e in ledger]
    interrupted = any(t.state == "suspended" or t.pushed_back for t in targets)
    with memo.scope():
        notes = [s.suspension_note for s in sinks_all().values() if s.suspension_note] if interrupted else []
    return Explanation(
        member=member, at=at, now=now, sources=sources, targets=targets, asked=target_id, ledger=lines, notes=notes
    )


class _Titles(dict):
    courses: set[str]


def target_titles() -> _Titles:
    """Course and group external id -> title (a group's id, for its leadership too)."""
    titles = _Titles(Group.objects.values_list("external_id", "title"))
    courses = dict(Course.objects.values_list("external_id", "title"))
    titles.courses = set(courses)
    titles.update(courses)
    return titles


def _concerns(target: Target, asked: str) -> bool:
    """A target shown when `asked` is asked about: itself, or a group that gives the course asked about."""
    return target.id == asked or (target.kind == "group" and asked in group_courses().get(target.id, set()))


def granted_by(target_id: str) -> list[str]:
    """What in the catalog would grant the course or group: the plans, seat types and license types that
    include it, directly or through a group."""
    groups = {g for g, courses in group_courses().items() if target_id in courses}
    found = []
    rules = AccessRule.objects.filter(
        Q(course__external_id=target_id) | Q(group__external_id=target_id) | Q(group__external_id__in=groups)
    ).select_related("plan", "seat_type", "license_type", "group")
    for rule in rules.order_by("pk"):
        template = rule.plan or rule.seat_type or rule.license_type
        kind = "plan" if rule.plan else "seat type" if rule.seat_type else "license type"
        name = f"{kind} {template.external_id}"
        if template.name and template.name != template.external_id:
            name += f" ({template.name})"
        if rule.group is not None and rule.group.external_id != target_id:
            name += f", through group {rule.group.external_id}"
        if rule.target_kind == "group_leader":
            name += " (as the group's leader)"
        if name not in found:
            found.append(name)
    return found


def _as_known_then(view: SourceAsOf, ledger: list[LedgerEntry], at: datetime) -> SourceAsOf:
    """A source no history covers, at a past moment, read with the ledger: an end that an event made after `at`
    (a seat given up, a license revoked or given to someone else) was not known then, and says so; a source that
    started after `at` and of which nothing was recorded by then was not known at all."""
    window = view.window
    entries = [e for e in ledger if (e.source_kind, e.source_id) == (window.kind, window.id)]
    if window.start > at and not any(e.recorded_at <= at for e in entries):
        return replace(view, known_then=False, correction=f"not known then; it started {window.start:%Y-%m-%d %H:%M}")
    if window.end is not None and window.end > at:
        made = [e for e in entries if e.action == LedgerEntry.CLOSED and e.at == window.end and e.event_id]
        made = [e for e in made if e.event.occurred_at >= window.end]
        if made:
            event = made[0].event
            said = f"its end on {window.end:%Y-%m-%d %H:%M} was not known then: a later {event.kind}"
            return replace(view, correction=f"{said} (received {event.received_at:%Y-%m-%d %H:%M}) made it")
    return view


def _source_row(view: SourceAsOf) -> SourceExplanation:
    w = view.window
    return SourceExplanation(
        kind=w.kind,
        id=w.id,
        label=w.label,
        start=w.start,
        end=w.end,
        end_reason=w.end_reason,
        pauses=[(p.start, p.end, p.reason) for p in w.pauses],
        trial_end=w.trial_end,
        status=w.status,
        status_rule=w.status_rule,
        details=view.details,
        correction=view.correction,
        known_then=view.known_then,
    )


def _word(state: str, other: str) -> str:
    if state == "none":
        return "closed" if other in (OPEN, SUSPENDED) else "not open"
    return state


def _target_correction(then: TargetAccess | None, known_now: TargetAccess | None, entries, at: datetime) -> str:
    """What is known now about the target at `at`, when it differs from what was in force then."""
    was = then.state if then else "none"
    is_ = known_now.state if known_now else "none"
    if was == is_:
        return ""
    later = sorted((e for e in entries if e.recorded_at > at), key=lambda e: (e.recorded_at, e.pk))
    who, since = "what is known now", ""
    if later:
        entry = later[0]
        since = f" (since {entry.at:%Y-%m-%d %H:%M})"
        if entry.event_id is not None:
            event = entry.event
            who = f"a later delivery ({event.kind}, received {event.received_at:%Y-%m-%d %H:%M})"
        else:
            who = f"a later reconcile ({entry.cause}, recorded {entry.recorded_at:%Y-%m-%d %H:%M})"
    return f"was {_word(was, is_)} then; {who} says it was already {_word(is_, was)}{since}"


def _grant_row(grant: Grant, at: datetime) -> GrantExplanation:
    state = grant.state_at(at)
    if grant.never_opens:
        state = "never"
    return GrantExplanation(
        key=grant.key,
        state=state,
        source=grant.source_label,
        opens=grant.opens,
        closes=grant.closes,
        opening=grant.opening(at),
        suspensions=[(p.start, p.end, p.reason) for p in grant.suspensions],
        why=grant.why,
        close_reason=grant.close_reason,
        scheduled=grant.scheduled,
    )


def member_ledger(*, member: Member) -> list[LedgerEntry]:
    """Every ledger entry of the member, oldest first."""
    return list(LedgerEntry.objects.filter(member=member).select_related("event").order_by("at", "pk"))


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


# Reads for other systems (the REST API): what the reconciler stored, and pages of the ledger, events and the
# outbox. They compute nothing.

LIVE_GRANT_STATES = ("open", "suspended", "pending")
PAGE_MAX = 500
_RANK = {"open": 3, "suspended": 2, "pending": 1}


@dataclass(frozen=True)
class StoredAccess:
    """What the reconciler last decided about one course (or group) for a member, and what the built-in LMS holds."""

    target_kind: str
    target_id: str
    state: str  # open | suspended | pending | none
    via: tuple[str, ...]  # the grants' targets that give it: the course itself, or groups
    enrolled_from: datetime | None  # the enrollment start the LMS holds (an active enrollment only)
    computed_at: datetime | None


@dataclass(frozen=True)
class MemberStoredAccess:
    member_pk: int
    member: str  # her external id
    access: list[StoredAccess]


def _stored_access_sql() -> str:
    # One statement for the API's hottest read (an access check): the member and her last computation, her live
    # grants (tagged g) and her active enrollments (tagged e). Built from the models' table names.
    member, computed = Member._meta.db_table, MemberAccess._meta.db_table
    grants, enrollments = GrantRecord._meta.db_table, Enrollment._meta.db_table
    her = f"(SELECT id FROM {member} WHERE external_id = %s)"
    live = ", ".join(f"'{state}'" for state in LIVE_GRANT_STATES)
    return (
        f"SELECT 'm', m.id, m.external_id, '', '', a.computed_at FROM {member} m "
        f"LEFT JOIN {computed} a ON a.member_id = m.id WHERE m.external_id = %s "
        f"UNION ALL SELECT 'g', g.member_id, g.target_kind, g.target_id, g.state, NULL FROM {grants} g "
        f"WHERE g.member_id = {her} AND g.state IN ({live}) "
        f"UNION ALL SELECT 'e', e.member_id, e.target_kind, e.target_id, '', e.access_from FROM {enrollments} e "
        f"WHERE e.member_id = {her} AND e.status = '{Enrollment.ACTIVE}'"
    )


def _aware(value) -> datetime | None:
    """A moment as a raw cursor gives it (SQLite: text or naive UTC; PostgreSQL: aware)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def stored_access(*, member_id: str, course_id: str | None = None) -> MemberStoredAccess | None:
    """What the reconciler last stored for the member with this external id (None: no member has it; a merged
    member's old id is not followed here): each course or group she has a live grant or an active enrollment
    for; with `course_id`, that course only (a group giving it counts), state "none" when nothing gives it.
    One query, plus the catalog's groups when one of her rows names a group."""
    with connection.cursor() as cursor:
        cursor.execute(_stored_access_sql(), [member_id, member_id, member_id])
        rows = cursor.fetchall()
    heads = [row for row in rows if row[0] == "m"]
    if not heads:
        return None
    _, pk, external_id, _, _, computed_at = heads[0]
    computed_at = _aware(computed_at)
    groups = group_courses() if any(row[0] != "m" and row[2] != "course" for row in rows) else {}

    def key_for(kind: str, target: str) -> tuple[str, str] | None:
        if course_id is None:
            return (kind, target)
        if (kind == "course" and target == course_id) or (kind == "group" and course_id in groups.get(target, ())):
            return ("course", course_id)
        return None

    states: dict[tuple[str, str], tuple[str, set[str]]] = {}
    starts: dict[tuple[str, str], datetime] = {}
    for tag, _, kind, target, state, moment in rows:
        if tag == "m" or (tag == "e" and kind == "leader") or (key := key_for(kind, target)) is None:
            continue
        best, vias = states.get(key, ("none", set()))
        if tag == "g":
            vias.add(f"{kind}:{target}")
            best = state if _RANK.get(state, 0) > _RANK.get(best, 0) else best
        else:
            moment = _aware(moment)
            starts[key] = min(moment, starts.get(key, moment))
        states[key] = (best, vias)
    if course_id is not None and not states:
        states[("course", course_id)] = ("none", set())
    access = [
        StoredAccess(kind, target, state, tuple(sorted(via)), starts.get((kind, target)), computed_at)
        for (kind, target), (state, via) in sorted(states.items())
    ]
    return MemberStoredAccess(pk, external_id, access)


def _page(query: QuerySet, after: int | None, limit: int) -> tuple[list, int | None]:
    if after:
        query = query.filter(pk__gt=after)
    rows = list(query.order_by("pk")[: min(limit, PAGE_MAX) + 1])
    more = len(rows) > min(limit, PAGE_MAX)
    rows = rows[: min(limit, PAGE_MAX)]
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
    """Ledger entries in the order they were recorded, filtered by member, target, source (`kind` or `kind:id`) and
    when they took effect (`since` inclusive, `until` exclusive); (entries, the cursor of the next page or None)."""
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


def events_page(
    *, kind: str = "", outcome: str = "", after: int | None = None, limit: int = 100
) -> tuple[list[Event], int | None]:
    """Inbox events in the order they arrived, by kind and outcome; (events, the cursor of the next page or None)."""
    query = Event.objects.all()
    if kind:
        query = query.filter(kind=kind)
    if outcome:
        query = query.filter(outcome=outcome)
    return _page(query, after, limit)


def event_get(*, event_id: int) -> Event:
    found = Event.objects.filter(pk=event_id).first()
    if found is None:
        raise NotFound("event", event_id, field="event")
    return found


def operations_page(
    *, status: str = "", member: Member | None = None, after: int | None = None, limit: int = 100
) -> tuple[list[Operation], int | None]:
    """The outbox's operations in the order they were made; (operations, the cursor of the next page or None)."""
    query = Operation.objects.select_related("member")
    if status:
        query = query.filter(status=status)
    if member is not None:
        query = query.filter(member=member)
    return _page(query, after, limit)


def operation_get(*, operation_id: int) -> Operation:
    found = Operation.objects.select_related("member").filter(pk=operation_id).first()
    if found is None:
        raise NotFound("operation", operation_id, field="operation")
    return found


def sink_operations_waiting(*, sink: str, limit: int = 100) -> tuple[list[Operation], list[Operation]]:
    """A sink's operations not yet sent, newest first, with their members: (pending: what shadow mode recorded or
    what waits for the worker, held: what the brake holds for an operator)."""
    query = Operation.objects.filter(sink=sink).select_related("member").order_by("-pk")
    pending = query.filter(status=Operation.PENDING)[:limit]
    return list(pending), list(query.filter(status=Operation.HELD)[:limit])
