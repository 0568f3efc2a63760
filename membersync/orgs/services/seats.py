"""Seats: bought and removed in pools, taken and given up by people, moved between them."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from membersync.actors import Actor
from membersync.catalog.models import SeatType
from membersync.errors import ServiceError
from membersync.members.services import member_get_or_create
from membersync.people.models import Member
from membersync.results import Applied, ServiceResult
from membersync.sync.services import event_apply

from .. import permissions
from ..models import (
    Invitation,
    Organization,
    Seat,
    SeatHolding,
    SeatPool,
)
from ..selectors import pools_unpaid
from .lookups import (
    CLAIM_ATTEMPTS,
    MAX_SEATS_PER_EVENT,
    member_find,
    org_find,
    org_join,
    quantity_check,
    seat_type_find,
    subscription_find,
    target_role,
)


def seats_add(
    *,
    org_id: str,
    seat_type_id: str,
    quantity: int,
    subscription_id: str | None = None,
    actor: Actor,
    source: str = "admin",
) -> ServiceResult:
    """The organization bought `quantity` seats; with a subscription, they follow its status."""

    def apply(event) -> list[int]:
        now = event.occurred_at
        org = org_find(org_id)
        permissions.require_owner(actor, org, "buy seats")
        count = quantity_check(quantity, limit=MAX_SEATS_PER_EVENT)
        seat_type = seat_type_find(seat_type_id)
        sub = subscription_find(subscription_id) if subscription_id is not None else None
        pool = SeatPool.objects.filter(organization=org, seat_type=seat_type, subscription=sub).first()
        if pool is None:
            pool = SeatPool.objects.create(organization=org, seat_type=seat_type, subscription=sub, created_at=now)
        Seat.objects.bulk_create(
            [Seat(pool=pool, organization=org, seat_type=seat_type, created_at=now) for _ in range(count)],
            batch_size=2000,
        )
        return Applied(members=[], value=pool)

    payload = {"org": org_id, "seat_type": seat_type_id, "quantity": quantity, "subscription": subscription_id}
    return event_apply(kind="seats.add", payload=payload, actor=actor, source=source, apply=apply)


def seats_remove(
    *, org_id: str, seat_type_id: str, quantity: int, actor: Actor, source: str = "admin"
) -> ServiceResult:
    """Remove free seats; refused with seats_in_use when fewer than `quantity` are free."""

    def apply(event) -> list[int]:
        org = org_find(org_id)
        permissions.require_owner(actor, org, "remove seats")
        count = quantity_check(quantity, limit=MAX_SEATS_PER_EVENT)
        seat_type = seat_type_find(seat_type_id)
        free = Seat.objects.filter(organization=org, seat_type=seat_type, holder__isnull=True, invitation__isnull=True)
        # Newest seats go first, so a subscription-paid pool bought later shrinks before the original one.
        victims = list(free.order_by("-pk").values_list("pk", flat=True)[:count])
        deleted = free.filter(pk__in=victims).delete()[0] if len(victims) == count else 0
        if deleted != count:
            raise ServiceError(
                "seats_in_use",
                f"only {len(victims)} {seat_type.external_id} seat(s) of {org.external_id} are free; "
                f"cannot remove {count}",
                field="quantity",
            )
        return []

    payload = {"org": org_id, "seat_type": seat_type_id, "quantity": quantity}
    return event_apply(kind="seats.remove", payload=payload, actor=actor, source=source, apply=apply)


def seat_claim_free(
    org: Organization,
    seat_type: SeatType | None,
    *,
    member: Member | None = None,
    invitation: Invitation | None = None,
    now,
) -> Seat:
    """Take one free seat with a conditional UPDATE: of two claims on the same row only one updates it.

    A seat is free when nobody holds it and no invitation holds it, and its pool is paid: a pool whose paying
    subscription has ended gives no seat until it is paid again (its seats still count as bought and as held).
    A person is never given a second seat of a type she holds.

    On PostgreSQL, rows another transaction is claiming are skipped (SKIP LOCKED) rather than waited for;
    SQLite runs writers one at a time (IMMEDIATE transactions), so the UPDATE's condition is enough there.
    """
    free = Seat.objects.filter(organization=org, holder__isnull=True, invitation__isnull=True)
    if seat_type is not None:
        free = free.filter(seat_type=seat_type)
    unpaid = pools_unpaid(org, now)
    if unpaid:
        free = free.exclude(pool_id__in=unpaid)
    if member is not None:
        free = free.exclude(seat_type__in=Seat.objects.filter(organization=org, holder=member).values("seat_type"))
    for _ in range(CLAIM_ATTEMPTS):
        candidate = free.select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True).first()
        if candidate is None:
            break
        claim = {"holder": member, "held_since": now} if member is not None else {"invitation": invitation}
        try:
            with transaction.atomic():
                claimed = Seat.objects.filter(pk=candidate, holder__isnull=True, invitation__isnull=True).update(
                    **claim
                )
        except IntegrityError:
            raise ServiceError(
                "already_has_seat", f"{member.external_id} already holds a seat of that type", field="member"
            ) from None
        if claimed:
            seat = Seat.objects.select_related("seat_type", "pool").get(pk=candidate)
            if member is not None:
                SeatHolding.objects.create(
                    seat=seat, pool=seat.pool, organization=org, seat_type=seat.seat_type, member=member, start=now
                )
            return seat
    kind = f"{seat_type.external_id} " if seat_type is not None else ""
    raise ServiceError("no_free_seat", f"organization {org.external_id} has no free {kind}seat", field="seat_type")


def _refuse_a_second_seat(org: Organization, member: Member, seat_type: SeatType | None) -> None:
    """A person holds at most one seat of a type in an organization: asking for a second is `already_has_seat`,
    whether or not seats are free. Without a type, that is when she holds one of every type the organization
    has seats of."""
    mine = Seat.objects.filter(organization=org, holder=member)
    if seat_type is not None:
        if mine.filter(seat_type=seat_type).exists():
            raise ServiceError(
                "already_has_seat", f"{member.external_id} already holds a {seat_type.external_id} seat", field="member"
            )
        return
    if (
        mine.exists()
        and not Seat.objects.filter(organization=org).exclude(seat_type__in=mine.values("seat_type")).exists()
    ):
        raise ServiceError(
            "already_has_seat",
            f"{member.external_id} already holds a seat of every type {org.external_id} has",
            field="member",
        )


def seats_release_all(org: Organization, member: Member, seat_type: SeatType | None, now, why: str) -> int:
    held = Seat.objects.filter(organization=org, holder=member)
    if seat_type is not None:
        held = held.filter(seat_type=seat_type)
    seat_ids = list(held.values_list("pk", flat=True))
    if not seat_ids:
        return 0
    Seat.objects.filter(pk__in=seat_ids).update(holder=None, held_since=None)
    SeatHolding.objects.filter(seat_id__in=seat_ids, member=member, end__isnull=True).update(end=now, ended_by=why)
    return len(seat_ids)


def seat_assign(
    *, org_id: str, member_id: str, seat_type_id: str | None = None, actor: Actor, source: str = "admin"
) -> ServiceResult:
    """Give the person a free seat (of that type, or of any type they do not hold yet); they join the
    organization as a member if they are not in it. Refused with already_has_seat when only a second seat of a
    type they hold would do, and with no_free_seat when none is free (seats of a pool whose paying subscription
    ended are not free)."""

    def apply(event) -> list[int]:
        org = org_find(org_id)
        permissions.require_manager(actor, org, "assign seats", target_role=target_role(org, member_id))
        seat_type = seat_type_find(seat_type_id) if seat_type_id is not None else None
        member = member_get_or_create(external_id=str(member_id))
        _refuse_a_second_seat(org, member, seat_type)
        org_join(org, member, event.occurred_at)
        return Applied(members=[member.pk], value=seat_claim_free(org, seat_type, member=member, now=event.occurred_at))

    payload = {"org": org_id, "member": member_id, "seat_type": seat_type_id}
    return event_apply(kind="seats.assign", payload=payload, actor=actor, source=source, apply=apply)


def seat_release(
    *, org_id: str, member_id: str, seat_type_id: str | None = None, actor: Actor, source: str = "admin"
) -> ServiceResult:
    """The person gives up their seat (of that type, or all their seats there); they stay in the organization."""

    def apply(event) -> list[int]:
        org = org_find(org_id)
        permissions.require_manager(actor, org, "release seats", target_role=target_role(org, member_id))
        member = member_find(member_id)
        seat_type = seat_type_find(seat_type_id) if seat_type_id is not None else None
        released = seats_release_all(org, member, seat_type, event.occurred_at, f"seat released by {actor.label}")
        if not released:
            raise ServiceError("no_seat", f"{member_id} holds no such seat in {org_id}", field="member")
        return [member.pk]

    payload = {"org": org_id, "member": member_id, "seat_type": seat_type_id}
    return event_apply(kind="seats.release", payload=payload, actor=actor, source=source, apply=apply)


def seat_move(
    *,
    org_id: str,
    from_member_id: str,
    to_member_id: str,
    seat_type_id: str | None = None,
    actor: Actor,
    source: str = "admin",
) -> ServiceResult:
    """Hand a seat from one person to another in one step (the receiver joins as a member if needed)."""

    def apply(event) -> list[int]:
        now = event.occurred_at
        org = org_find(org_id)
        for who in (from_member_id, to_member_id):
            permissions.require_manager(actor, org, "move seats", target_role=target_role(org, who))
        giver = member_find(from_member_id, field="from")
        receiver = member_get_or_create(external_id=str(to_member_id))
        if giver.pk == receiver.pk:
            raise ServiceError("invalid_value", "a seat moves to another person", field="to")
        held = Seat.objects.filter(organization=org, holder=giver).select_related("seat_type", "pool")
        if seat_type_id is not None:
            held = held.filter(seat_type=seat_type_find(seat_type_id))
        seats = list(held[:2])
        if not seats:
            raise ServiceError("no_seat", f"{from_member_id} holds no such seat in {org_id}", field="from")
        if len(seats) > 1:
            raise ServiceError(
                "invalid_value", f"{from_member_id} holds several seats: name the seat type", field="seat_type"
            )
        seat = seats[0]
        if Seat.objects.filter(organization=org, holder=receiver, seat_type=seat.seat_type).exists():
            raise ServiceError(
                "already_has_seat",
                f"{receiver.external_id} already holds a {seat.seat_type.external_id} seat",
                field="to",
            )
        org_join(org, receiver, now)
        moved = Seat.objects.filter(pk=seat.pk, holder=giver).update(holder=receiver, held_since=now)
        if not moved:
            raise ServiceError("no_seat", f"{from_member_id}'s seat changed meanwhile; try again", field="from")
        SeatHolding.objects.filter(seat=seat, member=giver, end__isnull=True).update(
            end=now, ended_by=f"seat moved to {receiver.external_id} by {actor.label}"
        )
        SeatHolding.objects.create(
            seat=seat, pool=seat.pool, organization=org, seat_type=seat.seat_type, member=receiver, start=now
        )
        seat.holder = receiver
        return Applied(members=[giver.pk, receiver.pk], value=seat)

    payload = {"org": org_id, "from": from_member_id, "to": to_member_id, "seat_type": seat_type_id}
    return event_apply(kind="seats.move", payload=payload, actor=actor, source=source, apply=apply)
