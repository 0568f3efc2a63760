"""A synthetic site for benchmarks, written with bulk inserts (building it is not what is measured)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from membersync.catalog.models import AccessRule, Course, Plan
from membersync.members.models import Member, Membership, MembershipPause

START = datetime(2026, 1, 1, tzinfo=UTC)


def synthetic_site_build(*, members: int, seed: int = 7) -> dict:
    """N members with on average 1.5 memberships each over 20 plans granting 5 to 10 courses with drips;
    a quarter of the memberships paused or ended."""
    rng = random.Random(seed)
    courses = Course.objects.bulk_create([Course(external_id=f"c{i}", title=f"Course {i}") for i in range(120)])
    plans = Plan.objects.bulk_create(
        [
            Plan(
                external_id=f"plan{i}",
                name=f"Plan {i}",
                length_kind="specific" if i % 4 == 0 else "unlimited",
                length_duration="12 months" if i % 4 == 0 else "",
            )
            for i in range(20)
        ]
    )
    rules = []
    for plan in plans:
        for course in rng.sample(courses, rng.randint(5, 10)):
            after = rng.choice(["", "", "7 days", "14 days", "1 months", "3 months"])
            rules.append(AccessRule(plan=plan, target_kind="course", course=course, after=after))
    AccessRule.objects.bulk_create(rules)

    Member.objects.bulk_create(
        [Member(external_id=f"m{i}", email=f"m{i}@example.com", created_at=START) for i in range(members)],
        batch_size=5000,
    )
    member_ids = list(Member.objects.order_by("pk").values_list("pk", flat=True))
    memberships = []
    for member_id in member_ids:
        for plan in rng.sample(plans, 1 if rng.random() < 0.5 else 2):
            start = START + timedelta(days=rng.randint(0, 300))
            row = Membership(member_id=member_id, plan=plan, start=start, created_at=start)
            if rng.random() < 0.125:
                row.base_status, row.ended_at, row.ended_by = "cancelled", start + timedelta(days=30), "bench"
            memberships.append(row)
    Membership.objects.bulk_create(memberships, batch_size=5000)
    paused_rows = Membership.objects.filter(ended_at__isnull=True).values_list("pk", "start")
    pauses = [
        MembershipPause(membership_id=pk, start=start + timedelta(days=10), reason="bench pause")
        for pk, start in paused_rows
        if rng.random() < 0.143
    ]
    MembershipPause.objects.bulk_create(pauses, batch_size=5000)
    return {"members": members, "memberships": len(memberships), "paused": len(pauses), "rules": len(rules)}
