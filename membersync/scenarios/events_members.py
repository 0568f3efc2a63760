"""Scenario events and checks for orders and memberships."""

from __future__ import annotations

from datetime import UTC, date, datetime

from membersync.members import services
from membersync.members.selectors import membership_states
from membersync.people.models import Member
from membersync.sync.selectors import member_access_from, member_courses, member_groups

from .parsing import ScenarioError, ident, mapping_fields, parse_moment
from .registry import Context, event, member_check


@event("order.complete", required=("order",))
def order_complete(step: dict, ctx: Context):
    order = mapping_fields(step["order"], {"id", "member", "plan"}, {"id", "member", "plan"}, "order")
    return services.order_complete(
        order_id=str(order["id"]),
        member_id=str(order["member"]),
        plan_id=str(order["plan"]),
        actor=ctx.actor,
        source="scenario",
    )


@event("order.refund", required=("id",))
def order_refund(step: dict, ctx: Context):
    return services.order_refund(order_id=str(step["id"]), actor=ctx.actor, source="scenario")


@event("membership.create", required=("membership",))
def membership_create(step: dict, ctx: Context):
    m = mapping_fields(
        step["membership"], {"id", "member", "plan", "status", "start"}, {"member", "plan"}, "membership"
    )
    return services.membership_create(
        member_id=str(m["member"]),
        plan_id=str(m["plan"]),
        status=m.get("status", "active"),
        start=parse_moment(m["start"], ctx.tz) if m.get("start") else None,
        external_id=str(m["id"]) if m.get("id") is not None else None,
        actor=ctx.actor,
        source="scenario",
    )


def _ident(step: dict) -> dict:
    if "id" in step:
        return {"membership_id": str(step["id"])}
    return {"member_id": str(step.get("member")), "plan_id": str(step.get("plan"))}


IDENT = ("id", "member", "plan")


@event("membership.pause", optional=IDENT)
def membership_pause(step: dict, ctx: Context):
    return services.membership_pause(actor=ctx.actor, source="scenario", **_ident(step))


@event("membership.resume", optional=IDENT)
def membership_resume(step: dict, ctx: Context):
    return services.membership_resume(actor=ctx.actor, source="scenario", **_ident(step))


@event("membership.cancel", optional=IDENT)
def membership_cancel(step: dict, ctx: Context):
    return services.membership_cancel(actor=ctx.actor, source="scenario", **_ident(step))


@event("membership.delete", optional=(*IDENT, "with_subscription"))
def membership_delete(step: dict, ctx: Context):
    if step.get("with_subscription"):
        from membersync.members.subscriptions import membership_delete_with_subscription

        return membership_delete_with_subscription(actor=ctx.actor, source="scenario", **_ident(step))
    return services.membership_delete(actor=ctx.actor, source="scenario", **_ident(step))


def _ids(expected, what: str) -> list[str]:
    if expected is None:
        return []
    if not isinstance(expected, list):
        raise ScenarioError(f"{what}: expects a list of ids, not {expected!r}")
    return sorted(ident(item, f"an entry of {what}") for item in expected)


@member_check("courses")
def check_courses(member: Member | None, expected, ctx: Context):
    found = sorted(member_courses(member)) if member else []
    return [("courses", _ids(expected, "courses"), found)]


@member_check("groups")
def check_groups(member: Member | None, expected, ctx: Context):
    found = sorted(member_groups(member)) if member else []
    return [("groups", _ids(expected, "groups"), found)]


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@member_check("access_from")
def check_access_from(member: Member | None, expected, ctx: Context):
    """`access_from: {COURSE: DATE | DATE-TIME | none}`: a date compares the UTC day only, a date-time the instant."""
    if not isinstance(expected, dict):
        raise ScenarioError("access_from: expects a mapping of course id to a date, a date-time or none")
    pairs = []
    for course, value in expected.items():
        found = member_access_from(member, str(course)) if member else None
        what = f"access_from {course}"
        if value is None or value == "none":
            pairs.append((what, "none", _utc(found) if found else "none"))
            continue
        try:
            moment = parse_moment(value, ctx.tz)
        except ValueError as error:
            raise ScenarioError(f"{what}: {error}") from None
        day_only = (isinstance(value, date) and not isinstance(value, datetime)) or (
            isinstance(value, str) and len(value.strip()) == 10
        )
        if day_only:
            day = value if isinstance(value, date) else moment.date()
            pairs.append((what, day.isoformat(), found.astimezone(UTC).date().isoformat() if found else "none"))
        else:
            pairs.append((what, _utc(moment), _utc(found) if found else "none"))
    return pairs


@member_check("membership")
def check_membership(member: Member | None, expected, ctx: Context):
    if not isinstance(expected, dict):
        raise ScenarioError("membership: expects a mapping of plan id to status")
    states = membership_states(member, ctx.now) if member else {}
    newest: dict[str, str] = {}
    for pk in sorted(states):
        plan_id, state = states[pk]
        newest[plan_id] = state.status
    return [(f"membership {plan}", str(status), newest.get(str(plan), "none")) for plan, status in expected.items()]
