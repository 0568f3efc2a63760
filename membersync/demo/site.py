"""The demo's catalog, members and admin login. Every write goes through catalog.services and members.services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth import get_user_model

from membersync import clock
from membersync.catalog import services as catalog
from membersync.catalog.models import Course, Group, Plan
from membersync.members import services as members
from membersync.members.models import Membership, Order
from membersync.people.models import Member

from . import DemoContext

ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "membersync-demo"

COURSES = {
    "intro": "Introduction to Mindful Leadership",
    "advanced": "Advanced Leadership",
    "masterclass": "Live Masterclass",
    "python-101": "Python in 30 Days",
    "workshop": "Summer Workshop",
    "forum-basics": "Community Forum: Basics",
    "forum-etiquette": "Community Forum: Etiquette",
}
GROUPS = {"community": ("Community", ["forum-basics", "forum-etiquette"])}


def catalog_load(ctx: DemoContext) -> None:
    for external_id, title in COURSES.items():
        if not Course.objects.filter(external_id=external_id).exists():
            catalog.course_create(external_id=external_id, title=title)
            ctx.count("courses")
    for external_id, (title, courses) in GROUPS.items():
        if not Group.objects.filter(external_id=external_id).exists():
            catalog.group_create(external_id=external_id, title=title, course_ids=courses)
            ctx.count("groups")
    day = ctx.anchor
    plans = [
        dict(
            external_id="gold",
            name="Gold (unlimited)",
            length="unlimited",
            grants=[
                {"course": "intro"},
                {"course": "advanced", "after": "14 days"},
                {"group": "community"},
                {"course": "masterclass", "on": day + timedelta(days=20)},
            ],
        ),
        dict(
            external_id="sprint",
            name="30-day sprint",
            length="30 days",
            grants=[{"course": "python-101"}, {"course": "intro", "after": "1 week"}],
        ),
        dict(
            external_id="summer",
            name="Summer school (fixed dates)",
            length={"from": day - timedelta(days=30), "until": day + timedelta(days=60)},
            grants=[{"course": "workshop"}, {"course": "masterclass", "after": "2 weeks"}],
        ),
        dict(
            external_id="starter",
            name="Starter (drip after the trial)",
            length="unlimited",
            grants=[{"course": "intro"}, {"course": "advanced", "after": "7 days", "after_trial": True}],
        ),
    ]
    for spec in plans:
        if not Plan.objects.filter(external_id=spec["external_id"]).exists():
            catalog.plan_create(**spec)
            ctx.count("plans")


@dataclass(frozen=True)
class Step:
    """One thing that happened to a member, `days` after the anchor (negative: in the past)."""

    days: int
    action: str  # order | refund | membership | pause | resume | cancel
    ref: str  # the order's or the membership's id
    plan: str = ""
    status: str = "active"


# Each member's history, in time order. Together they cover every status an admin or an order can produce.
MEMBERS: list[tuple[str, str, list[Step]]] = [
    ("alice", "Alice Archer", [Step(-40, "order", "demo-1001", "gold")]),
    ("bob", "Bob Baker", [Step(-15, "membership", "demo-bob-gold", "gold", "complimentary")]),
    ("carol", "Carol Chen", [Step(-45, "order", "demo-1002", "sprint")]),  # its 30 days ran out: expired
    ("dave", "Dave Dunn", [Step(-20, "membership", "demo-dave-gold", "gold"), Step(-5, "pause", "demo-dave-gold")]),
    ("erin", "Erin Evans", [Step(10, "membership", "demo-erin-gold", "gold", "delayed")]),
    ("frank", "Frank Fox", [Step(-30, "membership", "demo-frank-gold", "gold"), Step(-3, "cancel", "demo-frank-gold")]),
    (
        "grace",
        "Grace Green",
        [
            Step(-60, "membership", "demo-grace-gold", "gold"),
            Step(-50, "pause", "demo-grace-gold"),
            Step(-40, "resume", "demo-grace-gold"),
        ],
    ),
    ("heidi", "Heidi Hill", [Step(-10, "order", "demo-1003", "sprint"), Step(-8, "refund", "demo-1003")]),
    ("ivan", "Ivan Ives", [Step(-20, "order", "demo-1004", "summer")]),
    ("judy", "Judy Jones", [Step(-12, "order", "demo-1005", "starter")]),
    ("ken", "Ken King", [Step(-50, "order", "demo-1006", "sprint"), Step(-5, "order", "demo-1007", "gold")]),
    (
        "laura",
        "Laura Lane",
        [
            Step(-10, "membership", "demo-laura-sprint", "sprint"),
            Step(-7, "pause", "demo-laura-sprint"),
            Step(-4, "resume", "demo-laura-sprint"),
        ],
    ),
    ("mallory", "Mallory Moss", [Step(-6, "membership", "demo-mallory-expired", "sprint", "expired")]),
]


def members_load(ctx: DemoContext) -> None:
    for external_id, name, steps in MEMBERS:
        if not Member.objects.filter(external_id=external_id).exists():
            members.member_get_or_create(external_id=external_id, email=f"{external_id}@example.com", name=name)
            ctx.count("members")
        for step in steps:
            _step_run(ctx, external_id, step)


def _step_run(ctx: DemoContext, member_id: str, step: Step) -> None:
    """Run one step unless its result is already there, with the clock at the step's moment if it is past."""
    membership = Membership.objects.filter(external_id=step.ref).first()
    order = Order.objects.filter(external_id=step.ref).first()
    done = {
        "order": order is not None,
        "refund": order is not None and order.status == Order.REFUNDED,
        "membership": membership is not None,
        "pause": membership is not None and membership.pauses.exists(),
        "resume": membership is not None and not membership.pauses.filter(end__isnull=True).exists(),
        "cancel": membership is not None and membership.ended_at is not None,
    }[step.action]
    if done:
        return
    moment = ctx.anchor + timedelta(days=step.days)
    actor = ctx.actor
    with clock.frozen_at(min(moment, ctx.now)):
        if step.action == "order":
            members.order_complete(order_id=step.ref, member_id=member_id, plan_id=step.plan, actor=actor)
        elif step.action == "refund":
            members.order_refund(order_id=step.ref, actor=actor)
        elif step.action == "membership":
            members.membership_create(
                member_id=member_id,
                plan_id=step.plan,
                status=step.status,
                start=moment if moment > ctx.now else None,
                external_id=step.ref,
                actor=actor,
            )
        elif step.action == "pause":
            members.membership_pause(membership_id=step.ref, actor=actor)
        elif step.action == "resume":
            members.membership_resume(membership_id=step.ref, actor=actor)
        elif step.action == "cancel":
            members.membership_cancel(membership_id=step.ref, actor=actor)
    ctx.count(f"{step.action}s")


def admin_user_load(ctx: DemoContext) -> None:
    users = get_user_model()
    if not users.objects.filter(username=ADMIN_USERNAME).exists():
        users.objects.create_superuser(ADMIN_USERNAME, "admin@example.com", ADMIN_PASSWORD)
        ctx.count("admin users")
    ctx.logins.append(("admin", ADMIN_USERNAME, ADMIN_PASSWORD))
