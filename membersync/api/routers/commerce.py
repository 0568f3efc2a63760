"""Subscriptions and orders, sent as a store sends them (for stores that are not WooCommerce): each PUT is the
record's whole state; the same state sent again changes nothing, an older one is recorded as stale."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Router, Schema

from membersync.errors import ServiceError
from membersync.members import services
from membersync.members.subscriptions import subscription_delete, subscription_update
from membersync.orgs.services import order_complete_licenses

from .. import auth
from ..common import SOURCE, WRITE, Done, Id, Moment, actor_of, answers, done

router = Router(tags=["commerce"])


class SubscriptionIn(Schema):
    """The subscription as the store has it now. `status`: the store's (active, on-hold, pending-cancel,
    cancelled, expired, ...); `modified`: when the store changed it (an older state than one applied is stale)."""

    member: Id
    plans: list[Id] = []
    status: str
    start: Moment | None = None
    trial_end: Moment | None = None
    next_payment: Moment | None = None
    end: Moment | None = None
    modified: Moment | None = None


class OrderIn(Schema):
    """A completed order buys a plan (a membership), licenses of a type, or both; `refunded` takes it back."""

    member: Id
    status: Literal["completed", "refunded"] = "completed"
    plan: Id | None = None
    license_type: Id | None = None
    quantity: int = 0
    org: Id | None = None
    paid_at: Moment | None = None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@router.put(
    "/subscriptions/{subscription}", response=answers(Done), auth=auth.write, summary="Upsert a subscription", **WRITE
)
def subscription_put(request, subscription: str, payload: SubscriptionIn):
    state = {
        "id": subscription,
        "member": payload.member,
        "plans": payload.plans,
        "status": payload.status,
        **{
            k: _iso(getattr(payload, k))
            for k in ("start", "trial_end", "next_payment", "end", "modified")
            if getattr(payload, k) is not None
        },
    }
    return done(subscription_update(subscription=state, actor=actor_of(request), source=SOURCE))


@router.delete(
    "/subscriptions/{subscription}", response=answers(Done), auth=auth.write, summary="Delete a subscription", **WRITE
)
def subscription_remove(request, subscription: str):
    return done(subscription_delete(subscription_id=subscription, actor=actor_of(request), source=SOURCE))


@router.put("/orders/{order}", response=answers(Done), auth=auth.write, summary="Upsert an order", **WRITE)
def order_put(request, order: str, payload: OrderIn):
    actor = actor_of(request)
    if payload.status == "refunded":
        return done(services.order_refund(order_id=order, actor=actor, source=SOURCE))
    if payload.license_type is not None:
        result = order_complete_licenses(
            order_id=order,
            member_id=payload.member,
            type_id=payload.license_type,
            quantity=payload.quantity,
            org_id=payload.org,
            plan_id=payload.plan,
            actor=actor,
            source=SOURCE,
        )
        return done(result)
    if payload.plan is None:
        raise ServiceError("invalid_value", "an order buys a plan, licenses (license_type), or both", field="plan")
    result = services.order_complete(
        order_id=order,
        member_id=payload.member,
        plan_id=payload.plan,
        paid_at=payload.paid_at,
        actor=actor,
        source=SOURCE,
    )
    return done(result)
