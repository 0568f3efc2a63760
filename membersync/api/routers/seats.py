"""Seats of an organization: its pools, buying and removing seats (its owner), assigning, releasing and moving
them (its managers) (orgs.services)."""

from __future__ import annotations

from ninja import Router, Schema

from membersync.orgs import selectors as org_selectors
from membersync.orgs import services

from .. import auth, selectors
from ..common import SOURCE, WRITE, Done, Id, actor_of, answers, done

router = Router(tags=["seats"])


class PoolOut(Schema):
    seat_type: str
    subscription: str | None
    total: int
    used: int


class SeatsIn(Schema):
    seat_type: Id
    quantity: int
    subscription: Id | None = None


class SeatIn(Schema):
    member: Id
    seat_type: Id | None = None


class MoveIn(Schema):
    from_member: Id
    to_member: Id
    seat_type: Id | None = None


@router.get("/orgs/{org}/seats", response=answers(list[PoolOut]), auth=auth.org_read, summary="Its seat pools")
def org_seats(request, org: str):
    pools = org_selectors.org_pools(selectors.org_get(org))
    return [
        {
            "seat_type": p.seat_type.external_id,
            "subscription": p.subscription.external_id if p.subscription_id else None,
            "total": p.total,
            "used": p.used,
        }
        for p in pools
    ]


@router.post("/orgs/{org}/seats", response=answers(Done), auth=auth.org_write, summary="Add seats", **WRITE)
def seats_add(request, org: str, payload: SeatsIn):
    result = services.seats_add(
        org_id=org,
        seat_type_id=payload.seat_type,
        quantity=payload.quantity,
        subscription_id=payload.subscription,
        actor=actor_of(request),
        source=SOURCE,
    )
    return done(result)


@router.post(
    "/orgs/{org}/seats/remove", response=answers(Done), auth=auth.org_write, summary="Remove free seats", **WRITE
)
def seats_remove(request, org: str, payload: SeatsIn):
    result = services.seats_remove(
        org_id=org, seat_type_id=payload.seat_type, quantity=payload.quantity, actor=actor_of(request), source=SOURCE
    )
    return done(result)


@router.post("/orgs/{org}/seats/assign", response=answers(Done), auth=auth.org_write, summary="Give a seat", **WRITE)
def seat_assign(request, org: str, payload: SeatIn):
    result = services.seat_assign(
        org_id=org, member_id=payload.member, seat_type_id=payload.seat_type, actor=actor_of(request), source=SOURCE
    )
    return done(result)


@router.post(
    "/orgs/{org}/seats/release", response=answers(Done), auth=auth.org_write, summary="Release a seat", **WRITE
)
def seat_release(request, org: str, payload: SeatIn):
    result = services.seat_release(
        org_id=org, member_id=payload.member, seat_type_id=payload.seat_type, actor=actor_of(request), source=SOURCE
    )
    return done(result)


@router.post("/orgs/{org}/seats/move", response=answers(Done), auth=auth.org_write, summary="Move a seat", **WRITE)
def seat_move(request, org: str, payload: MoveIn):
    result = services.seat_move(
        org_id=org,
        from_member_id=payload.from_member,
        to_member_id=payload.to_member,
        seat_type_id=payload.seat_type,
        actor=actor_of(request),
        source=SOURCE,
    )
    return done(result)
