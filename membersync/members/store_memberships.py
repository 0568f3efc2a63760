"""Memberships a store owns: on a store running WooCommerce Memberships, its user memberships are the truth.

The store decides status and dates (start, end, paused and cancelled dates); MemberSync keeps them as facts and
still computes grants, drips, grace and the kept enrollment start from them:

- a pause starts after the plan's on-hold grace, so a renewal's `active -> paused -> active` flicker is never
  felt; when the store says it runs again, the pause ends then (or goes, if it had not started yet);
- `expired` and `cancelled` end it at the store's date (else when MemberSync learnt it);
- a membership the store brings back after an end goes on where it left off: the time it was ended counts as
  a pause, so its drips and enrollment start are pushed back, never restarted;
- `delayed` is a start the store put in the future.

Each function is one event (sync.services.event_apply).
"""

from __future__ import annotations

from datetime import datetime

from membersync.access.durations import Duration
from membersync.actors import Actor
from membersync.results import ServiceResult
from membersync.sync.services import event_apply

from .models import Membership, MembershipPause
from .services import member_get_or_create, plan_get

GRANTING = ("active", "complimentary", "free_trial", "pending_cancel")
# The store's statuses (REST and webhooks: no wcm- prefix; `pending` is a pending cancellation).
STORE_STATUSES = {
    "active": "active",
    "complimentary": "complimentary",
    "free_trial": "free_trial",
    "pending": "pending_cancel",
    "delayed": "active",
    "paused": "paused",
    "expired": "expired",
    "cancelled": "cancelled",
}


def _external_id(connection_name: str, store_id: str) -> str:
    return f"{connection_name}/um/{store_id}"


def membership_store_sync(
    *,
    connection_name: str,
    store_id: str,
    member_id: str,
    plan_id: str,
    status: str,
    start: datetime | None,
    end: datetime | None,
    paused_at: datetime | None,
    cancelled_at: datetime | None,
    store_url: str,
    actor: Actor,
    source: str = "webhook",
) -> ServiceResult:
    """The store's user membership `store_id` is now in this state: create or update the membership it owns."""
    payload = {
        "connection": connection_name,
        "id": store_id,
        "member": member_id,
        "plan": plan_id,
        "status": status,
        "start": start.isoformat() if start else None,
        "end": end.isoformat() if end else None,
        "paused": paused_at.isoformat() if paused_at else None,
        "cancelled": cancelled_at.isoformat() if cancelled_at else None,
    }

    def apply(event) -> list[int]:
        now = event.occurred_at
        plan = plan_get(plan_id, field="user_membership.plan_id")
        member = member_get_or_create(external_id=member_id)
        external_id = _external_id(connection_name, store_id)
        membership = Membership.objects.filter(external_id=external_id).first()
        touched = {member.pk}
        if membership is None:
            membership = Membership(external_id=external_id, created_at=now, start=start or now)
        elif membership.member_id != member.pk:
            touched.add(membership.member_id)  # transferred to another customer
        membership.member, membership.plan = member, plan
        membership.start = start or membership.start
        membership.managed_by, membership.store_url = connection_name, store_url
        ours = STORE_STATUSES[status]
        if ours in GRANTING or ours == "paused":
            _goes_on(membership, now)
            membership.base_status = ours if ours in GRANTING else membership.base_status
            membership.store_end = end
        else:
            membership.base_status = ours
            membership.store_end = None
            if membership.ended_at is None:
                membership.ended_at = (cancelled_at if ours == "cancelled" else end) or now
                membership.ended_by = f"the store says it is {ours}"
        if membership.base_status not in GRANTING + ("cancelled", "expired"):
            membership.base_status = "active"
        membership.save()
        _pause_follow(membership, paused=ours == "paused", paused_at=paused_at or now, now=now)
        return sorted(touched)

    return event_apply(kind="user_membership.sync", payload=payload, actor=actor, source=source, apply=apply)


def _goes_on(membership: Membership, now: datetime) -> None:
    """The store says it runs: an end recorded earlier is undone, its time counting as a pause."""
    if membership.pk is None or membership.ended_at is None:
        return
    if membership.ended_at < now:
        MembershipPause.objects.create(
            membership=membership,
            start=membership.ended_at,
            end=now,
            reason=f"ended ({membership.base_status}) until the store brought it back",
        )
    membership.ended_at, membership.ended_by = None, ""


def _pause_follow(membership: Membership, *, paused: bool, paused_at: datetime, now: datetime) -> None:
    open_pauses = membership.pauses.filter(end__isnull=True)
    if paused:
        if not open_pauses.exists():
            grace = membership.plan.on_hold_grace
            begins = Duration.parse(grace).after(paused_at) if grace else paused_at
            MembershipPause.objects.create(
                membership=membership,
                start=begins,
                reason=f"paused in the store since {paused_at:%Y-%m-%d %H:%M}"
                + (f" (after the plan's grace of {grace})" if grace else ""),
            )
        return
    open_pauses.filter(start__gt=now).delete()  # recovered inside the grace: never felt
    open_pauses.update(end=now)


def membership_store_delete(
    *, connection_name: str, store_id: str, actor: Actor, source: str = "webhook"
) -> ServiceResult:
    """The store deleted its user membership: the membership goes (its grants close; the ledger keeps them)."""

    def apply(event) -> list[int]:
        membership = Membership.objects.filter(external_id=_external_id(connection_name, store_id)).first()
        if membership is None:
            return []
        member_pk = membership.member_id
        membership.delete()
        return [member_pk]

    payload = {"connection": connection_name, "id": store_id}
    return event_apply(kind="user_membership.delete", payload=payload, actor=actor, source=source, apply=apply)
