"""Scenario events for subscriptions: they call the same services as the store's webhooks and the admin."""

from __future__ import annotations

from membersync.members import subscriptions

from .parsing import ScenarioError, mapping_fields, parse_moment
from .registry import Context, event

# `plans` (several plans at once), `start` and `modified` (the store's modification time; default: the step's
# time) extend FORMAT.md's fields; `modified` is how a file shows an out-of-order (stale) delivery.
SUBSCRIPTION_KEYS = {"id", "member", "plan", "plans", "status", "trial_end", "end", "next_payment", "start", "modified"}
DATE_KEYS = ("trial_end", "end", "next_payment", "start", "modified")


def _subscription(value: dict, ctx: Context, where: str, required: set[str]) -> dict:
    state = dict(mapping_fields(value, SUBSCRIPTION_KEYS, required, where))
    for key in DATE_KEYS:
        if state.get(key) not in (None, ""):
            try:
                state[key] = parse_moment(state[key], ctx.tz)
            except ValueError as error:
                raise ScenarioError(f"{where}.{key}: {error}") from None
    for key in ("id", "member"):
        if key in state:
            state[key] = str(state[key])
    state.setdefault("modified", ctx.now)
    return state


@event("subscription.update", required=("subscription",))
def subscription_update(step: dict, ctx: Context):
    state = _subscription(step["subscription"], ctx, "subscription", {"id", "status"})
    return subscriptions.subscription_update(subscription=state, actor=ctx.actor, source="scenario")


@event("subscription.switch", required=("from", "to"))
def subscription_switch(step: dict, ctx: Context):
    to = _subscription(step["to"], ctx, "to", {"id", "status"})
    return subscriptions.subscription_switch(from_id=str(step["from"]), to=to, actor=ctx.actor, source="scenario")


@event("subscription.delete", required=("id",))
def subscription_delete(step: dict, ctx: Context):
    return subscriptions.subscription_delete(subscription_id=str(step["id"]), actor=ctx.actor, source="scenario")


@event("membership.link", required=("member", "plan", "subscription"))
def membership_link(step: dict, ctx: Context):
    return subscriptions.membership_link(
        member_id=str(step["member"]),
        plan_id=str(step["plan"]),
        subscription_id=str(step["subscription"]),
        actor=ctx.actor,
        source="scenario",
    )
