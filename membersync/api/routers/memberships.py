"""Memberships: list a member's, create, pause, resume, cancel, extend (members.services). A membership a connected
WooCommerce Memberships store owns is refused with store_managed; one following a subscription with
subscription_tied."""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema, Status

from membersync.members import services
from membersync.members.models import Membership

from .. import auth, selectors
from ..common import SOURCE, WRITE, Id, Moment, actor_of, answers

router = Router(tags=["memberships"])


class MembershipIn(Schema):
    """`status`: active, complimentary, paused, cancelled, expired or delayed (with a `start` in the future)."""

    member: Id
    plan: Id
    id: Id | None = None
    status: str = "active"
    start: Moment | None = None


class ExtendIn(Schema):
    """`until`: the new end, later than the end it has now and than now (UTC when no zone is given)."""

    until: Moment


class MembershipOut(Schema):
    id: str
    member: str
    plan: str
    status: str
    status_rule: str
    start: datetime
    ends_at: datetime | None  # an end an operator set (extend), in place of the one its plan gives
    ended_at: datetime | None
    subscription: str | None
    managed_by: str


def membership_out(m: Membership) -> dict:
    return {
        "id": m.external_id or str(m.pk),
        "member": m.member.external_id,
        "plan": m.plan.external_id,
        "status": m.status,
        "status_rule": m.status_rule,
        "start": m.start,
        "ends_at": m.ends_at,
        "ended_at": m.ended_at,
        "subscription": m.subscription.external_id if m.subscription_id else None,
        "managed_by": m.managed_by,
    }


def _read(membership_id: str) -> dict:
    found = services.membership_find(membership_id=membership_id)
    found = Membership.objects.select_related("member", "plan", "subscription").get(pk=found.pk)
    return membership_out(found)


@router.get(
    "/members/{member}/memberships", response=answers(list[MembershipOut]), auth=auth.read, summary="Her memberships"
)
def member_memberships(request, member: str):
    found = selectors.member_get(member)
    rows = found.memberships.select_related("member", "plan", "subscription").order_by("start", "pk")
    return [membership_out(m) for m in rows]


@router.get("/memberships/{membership}", response=answers(MembershipOut), auth=auth.read, summary="A membership")
def membership_read(request, membership: str):
    return _read(membership)


@router.post(
    "/memberships", response=answers(MembershipOut, 201), auth=auth.write, summary="Create a membership", **WRITE
)
def membership_new(request, payload: MembershipIn):
    result = services.membership_create(
        member_id=payload.member,
        plan_id=payload.plan,
        status=payload.status,
        start=payload.start,
        external_id=payload.id,
        actor=actor_of(request),
        source=SOURCE,
    )
    return Status(201, _read(result.value.external_id or str(result.value.pk)))


def _action(request, action, membership: str) -> dict:
    action(membership_id=membership, actor=actor_of(request), source=SOURCE)
    return _read(membership)


@router.post(
    "/memberships/{membership}/pause", response=answers(MembershipOut), auth=auth.write, summary="Pause", **WRITE
)
def membership_pause(request, membership: str):
    return _action(request, services.membership_pause, membership)


@router.post(
    "/memberships/{membership}/resume", response=answers(MembershipOut), auth=auth.write, summary="Resume", **WRITE
)
def membership_resume(request, membership: str):
    return _action(request, services.membership_resume, membership)


@router.post(
    "/memberships/{membership}/cancel", response=answers(MembershipOut), auth=auth.write, summary="Cancel", **WRITE
)
def membership_cancel(request, membership: str):
    return _action(request, services.membership_cancel, membership)


@router.post(
    "/memberships/{membership}/extend", response=answers(MembershipOut), auth=auth.write, summary="Extend", **WRITE
)
def membership_extend(request, membership: str, payload: ExtendIn):
    """A later end for a standalone membership (decision 0018): it replaces the end its plan gives it; one
    that had run out goes on, the time it was ended counting as a pause. One without an end, or ended by a cancel,
    a refund or an operator, is refused."""
    services.membership_extend(until=payload.until, membership_id=membership, actor=actor_of(request), source=SOURCE)
    return _read(membership)
