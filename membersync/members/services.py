"""Writes to members' sources: orders and the admin actions on memberships.

Every public function here is one event: it is stored, applied and reconciled in one transaction
(sync.services.event_apply), and refused with a ServiceError that changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from membersync import clock, wiring
from membersync.access.statuses import ACTIVE, CANCELLED, COMPLIMENTARY, DELAYED, EXPIRED, PAUSED
from membersync.actors import Actor
from membersync.catalog.models import LicenseType, Plan
from membersync.errors import ServiceError
from membersync.lookups import by_external_id
from membersync.people.models import Member
from membersync.people.services import member_find
from membersync.results import Applied, ServiceResult
from membersync.sync.services import event_apply

from .models import Membership, MembershipPause, Order
from .selectors import membership_states

ADMIN_CREATE_STATUSES = (ACTIVE, COMPLIMENTARY, PAUSED, CANCELLED, EXPIRED, DELAYED)


def member_get_or_create(*, external_id: str, email: str = "", name: str = "") -> Member:
    """The member with this id (or the one it was merged into), else the one with this normalized email (one
    person is one member: docs/decisions/0005), else a new one."""
    found = member_find(external_id=str(external_id), email=email)
    if found is not None:
        return found.member
    member, created = Member.objects.get_or_create(
        external_id=str(external_id), defaults={"email": email, "name": name, "created_at": clock.now()}
    )
    return member


def plan_get(external_id: str, *, field: str = "plan") -> Plan:
    return by_external_id(Plan, external_id, what="plan", field=field)


def order_record(
    *,
    order_id: str,
    member_id: str,
    now: datetime,
    plan: Plan | None = None,
    license_type: LicenseType | None = None,
    license_quantity: int = 0,
    paid_at: datetime | None = None,
) -> tuple[Order, bool]:
    """Inside an event: record a completed order, and the membership its plan grants. (order, created):
    an order the store sends again with the same purchase is returned as it is; one that was refunded, or
    whose id names a different purchase, is refused."""
    existing = Order.objects.select_related("member").filter(external_id=str(order_id)).first()
    if existing is not None:
        if existing.status == Order.REFUNDED:
            raise ServiceError("order_refunded", f"order {order_id} was refunded", field="order.id")
        same = (
            existing.member.external_id == str(member_id)
            and existing.plan_id == (plan.pk if plan else None)
            and existing.license_type_id == (license_type.pk if license_type else None)
            and existing.license_quantity == license_quantity
        )
        if not same:
            raise ServiceError(
                "order_reused", f"order {order_id} was already completed for a different purchase", field="order.id"
            )
        return existing, False
    member = member_get_or_create(external_id=member_id)
    order = Order.objects.create(
        external_id=str(order_id),
        member=member,
        plan=plan,
        license_type=license_type,
        license_quantity=license_quantity,
        status=Order.COMPLETED,
        completed_at=min(paid_at, now) if paid_at else now,
    )
    if plan is not None:
        # A store's order paid earlier (a late delivery, an import) grants from when it was paid.
        start = order.completed_at
        Membership.objects.create(member=member, plan=plan, start=start, order=order, created_at=now)
    return order, True


def order_complete(
    *,
    order_id: str,
    member_id: str,
    plan_id: str,
    actor: Actor,
    source: str = "admin",
    idempotency_key: str | None = None,
    paid_at: datetime | None = None,
) -> ServiceResult:
    """A one-off order was completed: it grants its plan from when it was paid (`paid_at`, never later than
    now; default now). (An order that buys licenses:
    orgs.services.order_complete_licenses.)"""

    def apply(event) -> list[int]:
        plan = plan_get(plan_id, field="order.plan")
        order, created = order_record(
            order_id=order_id, member_id=member_id, now=event.occurred_at, plan=plan, paid_at=paid_at
        )
        return [order.member_id] if created else []  # completed twice: the store resent it

    payload = {"order": {"id": order_id, "member": member_id, "plan": plan_id}}
    if paid_at is not None:
        payload["order"]["paid_at"] = paid_at.isoformat()
    return event_apply(
        kind="order.complete", payload=payload, actor=actor, source=source, apply=apply, idempotency_key=idempotency_key
    )


def order_refund(*, order_id: str, actor: Actor, source: str = "admin", idempotency_key: str | None = None):
    """A full refund cancels the membership the order granted and whatever else it issued (licenses)."""

    def apply(event) -> list[int]:
        order = Order.objects.filter(external_id=str(order_id)).first()
        if order is None:
            raise ServiceError("not_found", f"no order with id {order_id!r}", field="id")
        if order.status == Order.REFUNDED:
            return []
        order.status, order.refunded_at = Order.REFUNDED, event.occurred_at
        order.save(update_fields=["status", "refunded_at"])
        why = f"order {order.external_id} was refunded"
        for membership in order.memberships.filter(ended_at__isnull=True):
            _end(membership, CANCELLED, event.occurred_at, why)
        touched = {order.member_id}
        for handler in wiring.order_refund_handlers():
            touched.update(handler(order, event.occurred_at, actor, why))
        return sorted(touched)

    return event_apply(
        kind="order.refund",
        payload={"id": order_id},
        actor=actor,
        source=source,
        apply=apply,
        idempotency_key=idempotency_key,
    )


def membership_create(
    *,
    member_id: str,
    plan_id: str,
    actor: Actor,
    status: str = ACTIVE,
    start: datetime | None = None,
    external_id: str | None = None,
    source: str = "admin",
) -> ServiceResult:
    """An admin creates a membership. free_trial and pending_cancel are only ever set by a subscription."""

    def apply(event) -> list[int]:
        now = event.occurred_at
        if status not in ADMIN_CREATE_STATUSES:
            raise ServiceError(
                "invalid_status",
                f"an admin cannot create a membership with status {status!r}; "
                f"choose one of {', '.join(ADMIN_CREATE_STATUSES)}",
                field="membership.status",
            )
        begins = start or now
        if status == DELAYED and begins <= now:
            raise ServiceError(
                "invalid_status", "a delayed membership needs a start in the future", field="membership.start"
            )
        plan = plan_get(plan_id, field="membership.plan")
        if external_id and Membership.objects.filter(external_id=external_id).exists():
            raise ServiceError("duplicate_id", f"membership {external_id!r} already exists", field="membership.id")
        member = member_get_or_create(external_id=member_id)
        membership = Membership.objects.create(
            member=member,
            plan=plan,
            start=begins,
            external_id=external_id or None,
            created_at=now,
            base_status=COMPLIMENTARY if status == COMPLIMENTARY else ACTIVE,
        )
        if status in (CANCELLED, EXPIRED):
            _end(membership, status, begins, f"created as {status} by {actor.label}")
        elif status == PAUSED:
            MembershipPause.objects.create(
                membership=membership, start=begins, reason=f"created paused by {actor.label}"
            )
        return Applied(members=[member.pk], value=membership)

    payload = {
        "membership": {
            "id": external_id,
            "member": member_id,
            "plan": plan_id,
            "status": status,
            "start": start.isoformat() if start else None,
        }
    }
    return event_apply(kind="membership.create", payload=payload, actor=actor, source=source, apply=apply)


def membership_find(
    *, membership_id: str | None = None, member_id: str | None = None, plan_id: str | None = None
) -> Membership:
    """By its own id, or by member and plan (her newest membership in that plan)."""
    if membership_id is not None:
        found = Membership.objects.filter(external_id=str(membership_id)).first()
        if found is None and str(membership_id).isdigit():
            found = Membership.objects.filter(pk=int(membership_id)).first()
        if found is None:
            raise ServiceError("not_found", f"no membership with id {membership_id!r}", field="id")
        return found
    if member_id is None or plan_id is None:
        raise ServiceError("invalid_value", "name the membership by id, or by member and plan", field="member")
    found = (
        Membership.objects.filter(member__external_id=str(member_id), plan__external_id=str(plan_id))
        .order_by("-start", "-pk")
        .first()
    )
    if found is None:
        raise ServiceError("not_found", f"{member_id} has no membership in plan {plan_id}", field="plan")
    return found


def _admin_action(kind: str, action, *, actor: Actor, source: str, details: dict | None = None, **ident):
    """One operator action on a standalone membership, as one event. `action(membership, now, actor)` may return
    the pks of other members it touched (a transfer's new holder)."""

    def apply(event) -> list[int]:
        membership = membership_find(**ident)
        store_managed_refuse(membership)
        subscription_tied_refuse(membership)
        touched = action(membership, event.occurred_at, actor) or ()
        return sorted({membership.member_id, *touched})

    payload = {**{k: v for k, v in ident.items() if v is not None}, **(details or {})}
    return event_apply(kind=kind, payload=payload, actor=actor, source=source, apply=apply)


def subscription_tied_refuse(membership: Membership) -> None:
    """A membership that follows a subscription changes with the subscription (DOMAIN.md), never by itself."""
    if membership.subscription_id is not None:
        raise ServiceError(
            "subscription_tied",
            f"this membership follows subscription {membership.subscription.external_id}: pause, resume, cancel, "
            "extend, move or transfer it by changing the subscription in the store",
            field="membership",
        )


def membership_pause(*, actor: Actor, source: str = "admin", **ident) -> ServiceResult:
    def pause(membership: Membership, now: datetime, actor: Actor) -> None:
        _require_current(membership, now, "paused")
        if membership.pauses.filter(end__isnull=True).exists():
            raise ServiceError("already_paused", "the membership is already paused", field="membership")
        MembershipPause.objects.create(membership=membership, start=now, reason=f"paused by {actor.label}")

    return _admin_action("membership.pause", pause, actor=actor, source=source, **ident)


def membership_resume(*, actor: Actor, source: str = "admin", **ident) -> ServiceResult:
    def resume(membership: Membership, now: datetime, actor: Actor) -> None:
        updated = membership.pauses.filter(end__isnull=True, start__lte=now).update(end=now)
        if not updated:
            raise ServiceError("not_paused", "the membership is not paused", field="membership")

    return _admin_action("membership.resume", resume, actor=actor, source=source, **ident)


def membership_cancel(*, actor: Actor, source: str = "admin", **ident) -> ServiceResult:
    def cancel(membership: Membership, now: datetime, actor: Actor) -> None:
        _require_current(membership, now, "cancelled")
        membership.pauses.filter(end__isnull=True).update(end=now)
        _end(membership, CANCELLED, now, f"cancelled by {actor.label}")

    return _admin_action("membership.cancel", cancel, actor=actor, source=source, **ident)


def membership_delete(*, actor: Actor, source: str = "admin", **ident) -> ServiceResult:
    """Delete the membership itself (its grants close; the ledger keeps their history)."""

    def apply(event) -> list[int]:
        membership = membership_find(**ident)
        member_pk = membership.member_id
        membership.delete()
        return [member_pk]

    payload = {k: v for k, v in ident.items() if v is not None}
    return event_apply(kind="membership.delete", payload=payload, actor=actor, source=source, apply=apply)


def membership_extend(*, until: datetime, actor: Actor, source: str = "admin", **ident) -> ServiceResult:
    """A later end for a standalone membership (decision 0018): `until` replaces the end its plan's length
    or fixed dates give it. It must be in the future and later than the end it has now. A membership that ran out by
    its dates goes on: the time it was ended counts as a pause, so its drips and enrollment start continue where
    they stopped. One without an end (unlimited) has nothing to extend; one cancelled, refunded or ended by an
    operator is not extended (add a new membership)."""

    def extend(membership: Membership, now: datetime, actor: Actor) -> None:
        if until.tzinfo is None:
            raise ServiceError("invalid_value", "the new end needs a time zone", field="until")
        if membership.ended_at is not None:
            raise ServiceError(
                "not_active",
                f"the membership was {membership.base_status} ({membership.ended_by}): add a new membership instead",
                field="membership",
            )
        _, state = membership_states(membership.member, now)[membership.pk]
        end = state.window.end
        if end is None:
            raise ServiceError(
                "invalid_value",
                f"the membership has no end to extend: plan {membership.plan.name} gives access without an end",
                field="until",
            )
        floor = max(end, now)
        if until <= floor:
            what = f"its current end, {end:%Y-%m-%d %H:%M} UTC" if end > now else f"now ({now:%Y-%m-%d %H:%M} UTC)"
            raise ServiceError("invalid_value", f"the new end must be later than {what}", field="until")
        if end < now:
            MembershipPause.objects.create(
                membership=membership,
                start=end,
                end=now,
                reason=f"it had run out on {end:%Y-%m-%d %H:%M} until {actor.label} extended it",
            )
        membership.ends_at = until
        membership.save(update_fields=["ends_at"])

    details = {"until": until.isoformat() if isinstance(until, datetime) else str(until)}
    return _admin_action("membership.extend", extend, actor=actor, source=source, details=details, **ident)


def membership_plan_change(*, to_plan_id: str, actor: Actor, source: str = "admin", **ident) -> ServiceResult:
    """Move a standalone membership to another plan the way a subscription switch does (DOMAIN.md): this one is
    cancelled now and a new one in `to_plan_id` starts now, with the same status and the same order. A course both
    plans grant keeps its enrollment start, so its drip goes on where it was (access/grants.py: an uninterrupted
    run of grants). The new plan's own length and drips count from now. A paused one is resumed first: a grant
    cannot open into a pause, so the new one would not keep the place."""

    def move(membership: Membership, now: datetime, actor: Actor) -> None:
        _require_current(membership, now, "moved to another plan")
        _require_running(membership, now, "moving it to another plan")
        plan = plan_get(to_plan_id, field="to_plan")
        if plan.pk == membership.plan_id:
            raise ServiceError("invalid_value", f"the membership is already in plan {plan.name}", field="to_plan")
        _successor(membership, now, f"moved to plan {plan.name} by {actor.label}", member=membership.member, plan=plan)

    details = {"to_plan": to_plan_id}
    return _admin_action("membership.plan_change", move, actor=actor, source=source, details=details, **ident)


def membership_transfer(*, to_member_id: str, actor: Actor, source: str = "admin", **ident) -> ServiceResult:
    """Give a standalone membership to another member: it ends now for its holder (cancelled, "transferred") and the
    other member gets one in the same plan from now until the same end (decision 0018): what is left of it,
    not a fresh length. Her drips count from now; the order that paid for it follows it (a refund ends hers)."""

    def transfer(membership: Membership, now: datetime, actor: Actor) -> list[int]:
        _require_current(membership, now, "transferred")
        _require_running(membership, now, "transferring it")
        found = member_find(external_id=str(to_member_id).strip(), email="") if str(to_member_id).strip() else None
        if found is None:
            raise ServiceError("not_found", f"no member with id {to_member_id!r}", field="to_member")
        to = found.member
        if to.pk == membership.member_id:
            raise ServiceError("invalid_value", f"{to.external_id} already holds this membership", field="to_member")
        _, state = membership_states(membership.member, now)[membership.pk]
        why = f"transferred to {to.external_id} by {actor.label}"
        _successor(membership, now, why, member=to, plan=membership.plan, ends_at=state.window.end)
        return [to.pk]

    details = {"to_member": to_member_id}
    return _admin_action("membership.transfer", transfer, actor=actor, source=source, details=details, **ident)


def _successor(
    membership: Membership, now: datetime, why: str, *, member: Member, plan: Plan, ends_at: datetime | None = None
) -> Membership:
    """End `membership` now and start the one that follows it: same status, same order."""
    base_status = membership.base_status
    _end(membership, CANCELLED, now, why)
    return Membership.objects.create(
        member=member,
        plan=plan,
        start=max(now, membership.start),
        base_status=base_status,
        ends_at=ends_at,
        order=membership.order,
        trial_end=membership.trial_end,
        created_at=now,
    )


def _require_running(membership: Membership, now: datetime, doing: str) -> None:
    if membership.pauses.filter(start__lte=now).filter(Q(end__isnull=True) | Q(end__gt=now)).exists():
        raise ServiceError("already_paused", f"the membership is paused: resume it before {doing}", field="membership")


def store_managed_refuse(membership: Membership) -> None:
    """A membership a store owns (WooCommerce Memberships) is changed in the store, never here."""
    if membership.managed_by:
        where = f": {membership.store_url}" if membership.store_url else ""
        raise ServiceError(
            "store_managed",
            f"store {membership.managed_by} owns this membership (WooCommerce Memberships); change it there{where}",
            field="membership",
        )


def _require_current(membership: Membership, now: datetime, verb: str) -> None:
    """Refuse to act on a membership that has ended, by an admin or by its own dates (length, fixed end)."""
    _, state = membership_states(membership.member, now)[membership.pk]
    if state.ended:
        raise ServiceError(
            "not_active", f"a {state.status} membership cannot be {verb}: {state.rule}", field="membership"
        )


def _end(membership: Membership, status: str, at: datetime, why: str) -> None:
    membership.base_status, membership.ended_at, membership.ended_by = status, at, why
    membership.save(update_fields=["base_status", "ended_at", "ended_by"])
