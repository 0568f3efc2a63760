"""Reads for the admin home ("is everything in step?") and the operators' reports."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.apps import apps as django_apps
from django.db.models import Count, Max, Min, Q

from membersync.access.grants import OPEN, SUSPENDED
from membersync.access.statuses import GRANTING_STATUSES
from membersync.catalog.models import Course, Group
from membersync.catalog.selectors import group_courses
from membersync.connectors.models import Delivery
from membersync.members.models import Membership
from membersync.orgs.models import Organization, OrgRole, SeatHolding, SeatPool
from membersync.people.models import Member
from membersync.sync.models import Event, GrantRecord, MemberAccess, Operation

from .models import PlanChangeJob

WORKER_STOPPED_AFTER = timedelta(minutes=5)


@dataclass
class SinkCounts:
    sink: str
    pending: int = 0
    held: int = 0
    failing: int = 0  # pending, tried and failed at least once
    dead: int = 0


@dataclass
class SiteStatus:
    now: datetime
    members: int = 0
    plans: list[tuple[str, int]] = field(default_factory=list)  # (plan name, active memberships)
    sinks: list[SinkCounts] = field(default_factory=list)
    worker_seen_at: datetime | None = None
    lag: timedelta | None = None  # how late the oldest due operation is
    wake_ups: list[tuple[datetime, str]] = field(default_factory=list)  # (when, member)
    expiring: list[tuple[datetime, str, str]] = field(default_factory=list)  # (when, member, target)
    refused_events: int = 0
    failed_deliveries: int = 0
    jobs: list[PlanChangeJob] = field(default_factory=list)

    @property
    def worker_stopped(self) -> bool:
        return self.worker_seen_at is None or self.now - self.worker_seen_at > WORKER_STOPPED_AFTER

    @property
    def dead(self) -> int:
        return sum(s.dead for s in self.sinks)


def alerts_get(now: datetime) -> list[str]:
    """What must be shown in red at the top of every admin page: dead operations, a stopped worker."""
    alerts = []
    dead = Operation.objects.filter(status=Operation.DEAD).count()
    if dead:
        alerts.append(f"{dead} operation{'s' if dead != 1 else ''} dead: the LMS did not get them. Retry them.")
    seen = worker_last_seen()
    if seen is None:
        alerts.append("No worker has run yet: start `membersync worker` beside the web server.")
    elif now - seen > WORKER_STOPPED_AFTER:
        alerts.append(f"The worker has stopped: last seen {_ago(now - seen)} ago. Start `membersync worker`.")
    return alerts


def worker_last_seen() -> datetime | None:
    """When a worker last made a pass: the ops app's heartbeats (None when none is recorded)."""
    if not django_apps.is_installed("membersync.ops"):
        return None
    heartbeats = django_apps.get_model("ops", "WorkerHeartbeat")
    return heartbeats.objects.aggregate(last=Max("seen_at"))["last"]


def _ago(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    hours = minutes // 60
    return f"{hours} hours" if hours < 48 else f"{hours // 24} days"


def site_status_get(now: datetime) -> SiteStatus:
    status = SiteStatus(now=now, members=Member.objects.count())
    granting = Membership.objects.filter(status__in=GRANTING_STATUSES)
    status.plans = list(
        granting.values_list("plan__name").annotate(n=Count("pk")).order_by("plan__name").values_list("plan__name", "n")
    )
    counts: dict[str, SinkCounts] = {}
    rows = (
        Operation.objects.filter(status__in=[Operation.PENDING, Operation.HELD, Operation.DEAD])
        .values_list("sink", "status")
        .annotate(n=Count("pk"), failing=Count("pk", filter=Q(attempts__gt=0)))
    )
    for sink, state, n, failing in rows:
        entry = counts.setdefault(sink, SinkCounts(sink))
        if state == Operation.PENDING:
            entry.pending, entry.failing = n, failing
        elif state == Operation.HELD:
            entry.held = n
        else:
            entry.dead = n
    status.sinks = [counts[name] for name in sorted(counts)]
    status.worker_seen_at = worker_last_seen()
    oldest_due = Operation.objects.filter(status=Operation.PENDING, next_attempt_at__lte=now).aggregate(
        t=Min("next_attempt_at")
    )["t"]
    status.lag = now - oldest_due if oldest_due else timedelta(0)
    wakes = MemberAccess.objects.filter(next_change_at__isnull=False).order_by("next_change_at")[:5]
    status.wake_ups = [(a.next_change_at, str(a.member)) for a in wakes.select_related("member")]
    status.expiring = [
        (r.closes_at, str(r.member), _target_title(r.target_kind, r.target_id))
        for r in upcoming_expiries(now, days=7)[:20]
    ]
    week_ago = now - timedelta(days=7)
    status.refused_events = Event.objects.filter(outcome=Event.REFUSED, received_at__gte=week_ago).count()
    status.failed_deliveries = Delivery.objects.filter(status=Delivery.FAILED).count()
    status.jobs = list(PlanChangeJob.objects.all()[:5])
    return status


def upcoming_expiries(now: datetime, *, days: int):
    """Grants open (or suspended) now that close within `days` days, soonest first."""
    return (
        GrantRecord.objects.filter(
            state__in=[OPEN, SUSPENDED], closes_at__gt=now, closes_at__lte=now + timedelta(days=days)
        )
        .select_related("member")
        .order_by("closes_at", "member__external_id")
    )


# --- reports -----------------------------------------------------------------------------------------------------


def _target_title(kind: str, target_id: str) -> str:
    model = Course if kind == "course" else Group
    title = model.objects.filter(external_id=target_id).values_list("title", flat=True).first()
    what = {"course": "", "group": "group ", "group_leader": "leader of group "}.get(kind, f"{kind} ")
    return f"{what}{title or target_id}"


SOURCE_WORDS = {
    "membership": "membership",
    "seat": "seat",
    "license": "license",
    "lms": "enrolled in the LMS",
    "manual": "manual grant",
}


def course_access_report(course: Course, now: datetime) -> list[dict]:
    """Who can open the course now, and through what: grants of the course itself, and of groups that give it."""
    groups = [g for g, courses in group_courses().items() if course.external_id in courses]
    records = (
        GrantRecord.objects.filter(state=OPEN)
        .filter(Q(target_kind="course", target_id=course.external_id) | Q(target_kind="group", target_id__in=groups))
        .select_related("member")
        .order_by("member__external_id", "opens_at")
    )
    rows = []
    for record in records:
        through = SOURCE_WORDS.get(record.source_kind, record.source_kind)
        if record.target_kind == "group":
            through += f" (through group {_target_title('group', record.target_id).removeprefix('group ')})"
        rows.append(
            {
                "member": record.member.external_id,
                "name": record.member.name,
                "email": record.member.email,
                "through": through,
                "source": f"{record.source_kind} {record.source_id}",
                "since": record.opens_at,
                "until": record.closes_at,
            }
        )
    return rows


def expiries_report(now: datetime, *, days: int = 30) -> list[dict]:
    return [
        {
            "closes": record.closes_at,
            "member": record.member.external_id,
            "name": record.member.name,
            "email": record.member.email,
            "what": _target_title(record.target_kind, record.target_id),
            "through": f"{SOURCE_WORDS.get(record.source_kind, record.source_kind)} {record.source_id}",
        }
        for record in upcoming_expiries(now, days=days)
    ]


def plan_status_report() -> list[dict]:
    rows = Membership.objects.values_list("plan__name", "status").annotate(n=Count("member_id", distinct=True))
    table: dict[str, dict[str, int]] = defaultdict(dict)
    for plan, state, n in rows.order_by("plan__name", "status"):
        table[plan][state] = n
    return [{"plan": plan, **statuses, "total": sum(statuses.values())} for plan, statuses in table.items()]


def org_access_report(org: Organization) -> dict:
    """An organization's seat use per seat type, and each person with her role, seats and course access."""
    pools = (
        SeatPool.objects.filter(organization=org)
        .values_list("seat_type__name")
        .annotate(
            total=Count("seats", distinct=True),
            used=Count("seats", filter=Q(seats__holder__isnull=False), distinct=True),
        )
        .values_list("seat_type__name", "total", "used")
    )
    seats: dict[int, list[str]] = defaultdict(list)
    for member_id, seat_type in SeatHolding.objects.filter(organization=org, end__isnull=True).values_list(
        "member_id", "seat_type__name"
    ):
        seats[member_id].append(seat_type)
    people = list(OrgRole.objects.filter(organization=org).select_related("member").order_by("member__external_id"))
    access: dict[int, list[str]] = defaultdict(list)
    records = GrantRecord.objects.filter(member__in=[p.member_id for p in people], state=OPEN).order_by("target_id")
    for record in records:
        access[record.member_id].append(_target_title(record.target_kind, record.target_id))
    return {
        "seat_use": [
            {"seat_type": name, "seats": total, "used": used, "free": total - used} for name, total, used in pools
        ],
        "people": [
            {
                "member": role.member.external_id,
                "name": role.member.name,
                "email": role.member.email,
                "role": role.role,
                "seats": ", ".join(sorted(seats.get(role.member_id, []))),
                "access": ", ".join(sorted(set(access.get(role.member_id, [])))),
            }
            for role in people
        ],
    }
