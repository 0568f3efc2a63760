"""Reads of organizations, seats and licenses: for the portal, the admin, the scenario checks and the sources.

Every function here answers with a fixed number of queries, whatever the organization's size.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Count, Q

from membersync import clock, memo
from membersync.access.seats import (
    HoldingFacts,
    LicenseFacts,
    license_status,
    license_status_through,
    pool_is_paid,
)
from membersync.access.subscriptions import SubscriptionFacts, on_hold_intervals
from membersync.catalog.selectors import length_of, template_rules
from membersync.members.models import Subscription, SubscriptionChange
from membersync.people.models import Member
from membersync.sync.models import Enrollment

from .models import (
    MANAGER,
    OWNER,
    Invitation,
    License,
    LicenseAssignment,
    Organization,
    OrgRole,
    Seat,
    SeatHolding,
    SeatPool,
)


def paying_subscriptions(subscription_pks: Iterable[int], *, history: bool = True) -> dict[int, SubscriptionFacts]:
    """Subscription pk -> its state and on-hold history, in two queries (one without the history)."""
    pks = {pk for pk in subscription_pks if pk is not None}
    if not pks:
        return {}
    changes: dict[int, list[tuple[datetime, str]]] = defaultdict(list)
    if history:
        for sub_id, at, status in SubscriptionChange.objects.filter(subscription_id__in=pks).values_list(
            "subscription_id", "at", "status"
        ):
            changes[sub_id].append((at, status))
    return {
        pk: SubscriptionFacts(
            id=ext,
            status=status,
            status_since=since,
            end=end,
            next_payment=next_payment,
            on_hold=on_hold_intervals(changes.get(pk, []), status, since),
        )
        for pk, ext, status, since, end, next_payment in Subscription.objects.filter(pk__in=pks).values_list(
            "pk", "external_id", "status", "status_since", "end", "next_payment"
        )
    }


def license_facts(licenses: list[License], rules: dict | None = None) -> dict[int, LicenseFacts]:
    """License pk -> facts; `licenses` should come with their license_type selected."""
    rules = template_rules() if rules is None else rules
    subs = paying_subscriptions(lic.subscription_id for lic in licenses)
    return {
        lic.pk: LicenseFacts(
            id=lic.external_id,
            type_name=lic.license_type.name,
            length=length_of(lic.license_type),
            rules=rules.get(("license_type", lic.license_type_id), ()),
            assigned_at=lic.assigned_at,
            revoked_at=lic.revoked_at,
            revoked_by=lic.revoked_by,
            subscription=subs.get(lic.subscription_id),
        )
        for lic in licenses
    }


def license_statuses_now(licenses: list[License], now: datetime | None = None) -> dict[int, tuple[str, str]]:
    """License pk -> (status, rule) at `now`, derived from its facts (not the stored column)."""
    now = now or clock.now()
    facts = license_facts(licenses)
    return {lic.pk: license_status(facts[lic.pk], assigned_now=bool(lic.assigned_to), now=now) for lic in licenses}


def member_license_statuses(member: Member, now: datetime | None = None) -> dict[str, str]:
    """License external id -> its status for this person, for every license that is hers at `now`: assigned to
    her then, or assigned then to an organization where she holds a seat then (it reaches her through the seat,
    and follows it: access/seats.py). A license that is not hers at `now` (never assigned to her, given to
    someone else or taken back since, or of an organization where she holds no seat) is not listed: it is `none`
    for her. Answers as of `now`, past or future, from the assignment and seat histories, in a fixed number of
    queries."""
    now = now or clock.now()
    current = Q(start__lte=now) & (Q(end__isnull=True) | Q(end__gt=now))
    own = set(LicenseAssignment.objects.filter(current, member=member).values_list("license_id", flat=True))
    held = list(
        SeatHolding.objects.filter(current, member=member).values_list(
            "pk",
            "organization_id",
            "organization__name",
            "seat_type__name",
            "pool__subscription_id",
            "start",
            "end",
            "ended_by",
        )
    )
    through: dict[int, int] = {}  # license pk -> the organization whose seats it reaches her through
    if held:
        through = dict(
            LicenseAssignment.objects.filter(current, organization_id__in={h[1] for h in held}).values_list(
                "license_id", "organization_id"
            )
        )
    if not own and not through:
        return {}
    subs = paying_subscriptions(h[4] for h in held)
    seats: dict[int, list[HoldingFacts]] = defaultdict(list)
    for pk, org_id, org_name, seat_type_name, sub_id, start, end, ended_by in held:
        seats[org_id].append(HoldingFacts(str(pk), org_name, seat_type_name, start, end, ended_by, subs.get(sub_id)))
    licenses = list(License.objects.filter(pk__in=own | set(through)).select_related("license_type"))
    facts = license_facts(licenses)
    statuses: dict[str, str] = {}
    for lic in licenses:
        if lic.pk in own:
            statuses[lic.external_id] = license_status(facts[lic.pk], assigned_now=True, now=now)[0]
        else:
            statuses[lic.external_id] = license_status_through(facts[lic.pk], seats[through[lic.pk]], now)[0]
    return statuses


def pools_unpaid(org: Organization, now: datetime) -> list[int]:
    """Pks of the organization's seat pools whose paying subscription has ended by `now` (access/seats.py
    pool_is_paid): their free seats cannot be given to anyone. At most two queries."""
    paid_by = dict(
        SeatPool.objects.filter(organization=org, subscription__isnull=False).values_list("pk", "subscription_id")
    )
    subs = paying_subscriptions(paid_by.values(), history=False)
    return [pk for pk, sub_id in paid_by.items() if not pool_is_paid(subs.get(sub_id), now)]


@memo.scoped
def seats_or_licenses_held() -> bool:
    """Does anyone hold a seat, or a license (in person or through an organization)? When nobody does, no seat or
    license gives access to anyone and reading them can be skipped. Read once per memo scope (one event, one
    reconcile batch, one worker's lease of deliveries), never kept longer: the first seat or license given counts
    from the next scope."""
    tables = [connection.ops.quote_name(m._meta.db_table) for m in (SeatHolding, LicenseAssignment)]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(f"SELECT 1 FROM (SELECT 1 FROM {t} LIMIT 1) AS any_row" for t in tables))
        return cursor.fetchone() is not None


def members_paid_by(subscription_pks: Iterable[int]) -> set[int]:
    """Members whose seats or licenses a change of these subscriptions may change."""
    if not seats_or_licenses_held():
        return set()
    pks = list(subscription_pks)
    licenses = License.objects.filter(subscription_id__in=pks)
    orgs = LicenseAssignment.objects.filter(license__in=licenses, organization__isnull=False).values("organization_id")
    seat_holders = SeatHolding.objects.filter(Q(pool__subscription_id__in=pks) | Q(organization_id__in=orgs))
    license_holders = LicenseAssignment.objects.filter(license__in=licenses, member__isnull=False)
    # One query: the holders of seats these subscriptions pay, of licenses they pay, and of seats in organizations
    # that hold licenses they pay.
    return set(
        seat_holders.values_list("member_id", flat=True).union(license_holders.values_list("member_id", flat=True))
    )


# ---- for the portal ----


@dataclass
class SeatTypeUse:
    seat_type_id: str
    name: str
    total: int
    used: int  # held by a person
    held: int  # held for a pending invitation

    @property
    def free(self) -> int:
        return self.total - self.used - self.held


def org_dashboard(org: Organization) -> list[SeatTypeUse]:
    """Seats per seat type: total, held by people, held for invitations, free. One query."""
    rows = (
        Seat.objects.filter(organization=org)
        .values("seat_type__external_id", "seat_type__name")
        .annotate(
            total=Count("pk"),
            used=Count("pk", filter=Q(holder__isnull=False)),
            held=Count("pk", filter=Q(invitation__isnull=False)),
        )
        .order_by("seat_type__name")
    )
    return [
        SeatTypeUse(r["seat_type__external_id"], r["seat_type__name"], r["total"], r["used"], r["held"]) for r in rows
    ]


def org_seat_counts(org: Organization) -> tuple[int, int]:
    """(seats in total, seats not free): a seat held for a pending invitation is not free."""
    counts = Seat.objects.filter(organization=org).aggregate(
        total=Count("pk"), taken=Count("pk", filter=Q(holder__isnull=False) | Q(invitation__isnull=False))
    )
    return counts["total"], counts["taken"]


@dataclass
class OrgPerson:
    member: Member
    role: str
    since: datetime
    seat_types: list[str] = field(default_factory=list)  # names of the seat types they hold
    licenses: list[str] = field(default_factory=list)  # external ids of the org's licenses assigned to them


@dataclass
class OrgPeople:
    people: list[OrgPerson]
    invitations: list[Invitation]


def org_people(org: Organization) -> OrgPeople:
    """People with their role, seats and licenses, and the pending invitations. Four queries."""
    roles = list(OrgRole.objects.filter(organization=org).select_related("member").order_by("member__name", "pk"))
    seats: dict[int, list[str]] = defaultdict(list)
    for holder_id, name in Seat.objects.filter(organization=org, holder__isnull=False).values_list(
        "holder_id", "seat_type__name"
    ):
        seats[holder_id].append(name)
    licenses: dict[int, list[str]] = defaultdict(list)
    for member_id, ext in License.objects.filter(organization=org, member__isnull=False).values_list(
        "member_id", "external_id"
    ):
        licenses[member_id].append(ext)
    people = [
        OrgPerson(r.member, r.role, r.since, sorted(seats.get(r.member_id, [])), sorted(licenses.get(r.member_id, [])))
        for r in roles
    ]
    invitations = list(
        Invitation.objects.filter(organization=org, status=Invitation.PENDING)
        .select_related("held_seat__seat_type")
        .order_by("created_at")
    )
    return OrgPeople(people, invitations)


def org_licenses(org: Organization, now: datetime | None = None) -> list[tuple[License, str]]:
    """The organization's licenses (its own and those assigned to it as a whole) with their status now."""
    licenses = list(
        License.objects.filter(organization=org).select_related("license_type", "member").order_by("external_id")
    )
    statuses = license_statuses_now(licenses, now)
    return [(lic, statuses[lic.pk][0]) for lic in licenses]


def member_course_access(member: Member) -> list[Enrollment]:
    """What the person can open in the built-in LMS now (active and suspended enrollments)."""
    return list(Enrollment.objects.filter(member=member).order_by("target_kind", "target_id"))


def org_course_access(org: Organization) -> dict[int, list[Enrollment]]:
    """Member pk -> enrollments, for everyone in the organization, in one query."""
    access: dict[int, list[Enrollment]] = defaultdict(list)
    for enrollment in Enrollment.objects.filter(member__org_roles__organization=org).order_by("target_id"):
        access[enrollment.member_id].append(enrollment)
    return access


def orgs_for_user(user) -> list[tuple[Organization, str]]:
    """The organizations a logged-in user belongs to, with their role in each."""
    if not getattr(user, "is_authenticated", False):
        return []
    rows = OrgRole.objects.filter(member__user=user).select_related("organization").order_by("organization__name")
    return [(r.organization, r.role) for r in rows]


def managed_orgs_for_user(user) -> list[tuple[Organization, str]]:
    return [(org, role) for org, role in orgs_for_user(user) if role in (OWNER, MANAGER)]


def org_role(org: Organization, member: Member | None) -> str | None:
    if member is None:
        return None
    return OrgRole.objects.filter(organization=org, member=member).values_list("role", flat=True).first()


def org_by_external_id(external_id: str) -> Organization | None:
    return Organization.objects.filter(external_id=str(external_id)).first()


def org_pools(org: Organization) -> list[SeatPool]:
    return list(
        SeatPool.objects.filter(organization=org)
        .select_related("seat_type", "subscription")
        .annotate(total=Count("seats"), used=Count("seats", filter=Q(seats__holder__isnull=False)))
        .order_by("seat_type__name", "pk")
    )
