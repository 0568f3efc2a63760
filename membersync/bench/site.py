"""A synthetic site for benchmarks, written with bulk inserts (building it is not what is measured).

N members with on average 1.5 memberships each over 20 plans granting 5 to 10 courses with drips. Half of the
memberships are paid by subscriptions in every status, tied (length "subscription") or as payment plans, laid
out exactly as the subscription services leave them; of the rest, a quarter are paused or ended.
Organizations (one per 50 members: 2,000 for 100,000) hold 50 seats each on average, four fifths of them
taken; a tenth of the organizations have a license assigned to the whole organization.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from membersync.catalog.models import AccessRule, Course, LicenseType, Plan, SeatType
from membersync.members.models import Membership, MembershipPause, Subscription
from membersync.orgs.models import License, LicenseAssignment, Organization, OrgRole, Seat, SeatHolding, SeatPool
from membersync.people.models import Member

START = datetime(2026, 1, 1, tzinfo=UTC)
NOW = datetime(2026, 12, 1, tzinfo=UTC)
SUBSCRIPTION_STATUSES = ["active", "active", "trial", "on-hold", "pending-cancel", "cancelled", "expired", "switched"]


def synthetic_site_build(*, members: int, seed: int = 7) -> dict:
    rng = random.Random(seed)
    courses = Course.objects.bulk_create([Course(external_id=f"c{i}", title=f"Course {i}") for i in range(120)])
    lengths = ["subscription", "unlimited", "specific", "unlimited"]
    plans = Plan.objects.bulk_create(
        [
            Plan(
                external_id=f"plan{i}",
                name=f"Plan {i}",
                length_kind=lengths[i % 4],
                length_duration="12 months" if lengths[i % 4] == "specific" else "",
                on_hold_grace="3 days" if i % 8 == 0 else "",
            )
            for i in range(20)
        ]
    )
    tied = [p for p in plans if p.length_kind == "subscription"]
    installment = [p for p in plans if p.length_kind != "subscription"]
    rules = []
    for plan in plans:
        for course in rng.sample(courses, rng.randint(5, 10)):
            after = rng.choice(["", "", "7 days", "14 days", "1 months", "3 months"])
            rules.append(
                AccessRule(plan=plan, target_kind="course", course=course, after=after, after_trial=rng.random() < 0.1)
            )
    AccessRule.objects.bulk_create(rules)

    Member.objects.bulk_create(
        [
            Member(
                external_id=f"m{i}", email=f"m{i}@example.com", email_normalized=f"m{i}@example.com", created_at=START
            )
            for i in range(members)
        ],
        batch_size=5000,
    )
    member_ids = list(Member.objects.order_by("pk").values_list("pk", flat=True))
    memberships, subscriptions, paused_by_subscription = [], [], {}
    for member_id in member_ids:
        for _ in range(1 if rng.random() < 0.5 else 2):
            start = START + timedelta(days=rng.randint(0, 300))
            if rng.random() < 0.5:
                sub, row, on_hold = _subscribed(
                    rng, member_id, start, rng.choice(tied + installment), len(subscriptions)
                )
                subscriptions.append(sub)
                if on_hold:
                    paused_by_subscription[len(memberships)] = sub.status_since
            else:
                row = Membership(member_id=member_id, plan=rng.choice(installment), start=start, created_at=start)
                if rng.random() < 0.125:
                    row.base_status, row.ended_at, row.ended_by = "cancelled", start + timedelta(days=30), "bench"
            memberships.append(row)
    Subscription.objects.bulk_create(subscriptions, batch_size=5000)
    for row in memberships:  # the subscriptions have their pks now
        row.subscription_id = row.subscription.pk if row.subscription else None
        row.last_subscription_id = row.last_subscription.pk if row.last_subscription else None
    Membership.objects.bulk_create(memberships, batch_size=5000)

    pauses = [
        MembershipPause(
            membership=row,
            start=paused_by_subscription[i],
            reason="subscription on-hold",
            subscription_id=row.subscription_id,
        )
        for i, row in enumerate(memberships)
        if i in paused_by_subscription
    ]
    pauses += [
        MembershipPause(membership=row, start=row.start + timedelta(days=10), reason="bench pause")
        for row in memberships
        if row.subscription is None and row.last_subscription is None and row.ended_at is None and rng.random() < 0.143
    ]
    MembershipPause.objects.bulk_create(pauses, batch_size=5000)
    orgs = _organizations(rng, member_ids, courses)
    return {
        **orgs,
        "members": members,
        "memberships": len(memberships),
        "subscriptions": len(subscriptions),
        "paused": len(pauses),
        "rules": len(rules),
    }


def _subscribed(rng: random.Random, member_id: int, start: datetime, plan: Plan, index: int):
    """A subscription in a random status and its membership, as the subscription services leave them."""
    status = rng.choice(SUBSCRIPTION_STATUSES)
    since = start + timedelta(days=rng.randint(1, max(1, (NOW - start).days - 1)))
    sub = Subscription(
        external_id=f"s{index}",
        member_id=member_id,
        status="active" if status == "trial" else status,
        status_since=since,
        start=start,
        store_modified_at=since,
        memberships_granted_at=start,  # it made its membership: a later delivery makes no second one
        trial_end=start + timedelta(days=14) if status == "trial" else None,
        end=NOW + timedelta(days=rng.randint(1, 30)) if status == "pending-cancel" else None,
    )
    row = Membership(member_id=member_id, plan=plan, start=start, created_at=start, trial_end=sub.trial_end)
    is_tied = plan.length_kind == "subscription"
    if status in ("cancelled", "switched") or (status == "expired" and is_tied):
        row.base_status = "cancelled" if status != "expired" else "expired"
        row.ended_at, row.ended_by = since, f"subscription {sub.external_id} became {status}"
        row.last_subscription = sub
    elif status == "expired":  # a payment plan paid in full: unlinked, keeps its own dates
        row.last_subscription = sub
    else:
        row.subscription = sub
    return sub, row, status == "on-hold"


def _organizations(rng: random.Random, member_ids: list[int], courses: list[Course]) -> dict:
    seat_types = SeatType.objects.bulk_create([SeatType(external_id=f"seat{i}", name=f"Seat {i}") for i in range(5)])
    license_type = LicenseType.objects.create(
        external_id="compliance", name="Compliance", length_kind="specific", length_duration="12 months"
    )
    rules = [
        AccessRule(seat_type=seat_type, target_kind="course", course=course)
        for seat_type in seat_types
        for course in rng.sample(courses, rng.randint(2, 5))
    ]
    rules += [AccessRule(license_type=license_type, target_kind="course", course=c) for c in rng.sample(courses, 2)]
    AccessRule.objects.bulk_create(rules)

    count = max(1, len(member_ids) // 50)
    orgs = Organization.objects.bulk_create(
        [Organization(external_id=f"org{i}", name=f"Organization {i}", created_at=START) for i in range(count)]
    )
    pools = SeatPool.objects.bulk_create(
        [SeatPool(organization=org, seat_type=rng.choice(seat_types), created_at=START) for org in orgs]
    )
    seats = []
    people = iter(rng.sample(member_ids, len(member_ids)))
    for pool in pools:
        for _ in range(rng.randint(25, 75)):
            seat = Seat(
                pool=pool, organization_id=pool.organization_id, seat_type_id=pool.seat_type_id, created_at=START
            )
            if rng.random() < 0.8:
                seat.holder_id = next(people, None)
                seat.held_since = START + timedelta(days=rng.randint(0, 300)) if seat.holder_id else None
            seats.append(seat)
    Seat.objects.bulk_create(seats, batch_size=5000)
    held = [seat for seat in seats if seat.holder_id]
    SeatHolding.objects.bulk_create(
        [
            SeatHolding(
                seat=seat,
                pool_id=seat.pool_id,
                organization_id=seat.organization_id,
                seat_type_id=seat.seat_type_id,
                member_id=seat.holder_id,
                start=seat.held_since,
            )
            for seat in held
        ],
        batch_size=5000,
    )
    OrgRole.objects.bulk_create(
        [
            OrgRole(
                organization_id=seat.organization_id, member_id=seat.holder_id, role="member", since=seat.held_since
            )
            for seat in held
        ],
        batch_size=5000,
    )
    licensed = rng.sample(orgs, max(1, count // 10))
    licenses = License.objects.bulk_create(
        [
            License(
                external_id=f"L{i}",
                license_type=license_type,
                organization=org,
                assigned_to=License.TO_ORG,
                assigned_at=START,
                issued_at=START,
            )
            for i, org in enumerate(licensed)
        ]
    )
    LicenseAssignment.objects.bulk_create(
        [LicenseAssignment(license=lic, organization_id=lic.organization_id, start=START) for lic in licenses]
    )
    return {"organizations": count, "seats": len(seats), "seats_held": len(held), "org_licenses": len(licenses)}
