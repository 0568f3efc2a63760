"""Subscriptions as the store sees them, and the memberships that follow them (DOMAIN.md, WooCommerce
Memberships + Subscriptions).

An update carries the store's current state of a subscription, as a webhook does. What it means for each
linked membership is materialised here, once, so that a membership's status can be derived from stored facts
and time alone (access/sources.py):

- on-hold becomes a MembershipPause starting after the plan's `on_hold_grace`; reactivation ends it, or
  deletes it if it had not started yet, so a recovery inside the grace is never felt;
- cancelled, switched or deleted ends the membership as cancelled and unlinks it;
- expired ends a subscription-tied membership as expired; a payment-plan (installment) membership is unlinked
  and keeps its own dates;
- an end that time already brought (a pending cancellation's prepaid period, the membership's own length) is
  frozen at the moment it happened, so a late webhook neither extends nor cuts access, and a membership whose
  own end came first is never revived by later renewals.

Every public function is one event (sync.services.event_apply): stored, applied, reconciled in one
transaction; refused with a ServiceError naming the field, changing nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Q

from membersync import wiring
from membersync.access.durations import Duration
from membersync.access.rules import SUBSCRIPTION
from membersync.access.sources import MembershipState, membership_state
from membersync.access.statuses import SUBSCRIPTION_ENDED
from membersync.actors import Actor
from membersync.catalog.models import Plan
from membersync.catalog.selectors import plan_facts_all
from membersync.errors import ServiceError
from membersync.lookups import by_external_id
from membersync.results import ServiceResult
from membersync.sync.models import Event
from membersync.sync.services import event_apply

from .models import Membership, MembershipPause, Subscription, SubscriptionChange
from .selectors import membership_facts_for
from .services import member_get_or_create, membership_find, plan_get

# The statuses a store's update may carry; deletion ("trash") comes through subscription_delete.
UPDATE_STATUSES = ("pending", "active", "on-hold", "pending-cancel", "cancelled", "expired", "switched")
# A subscription in one of these creates the memberships of its plans (not while `pending`: nothing paid).
CREATES_MEMBERSHIP = frozenset({"active", "on-hold", "pending-cancel"})
_UNSET = object()


@dataclass
class _State:
    """A subscription update, read and checked. Fields left out of the update are _UNSET: kept as they were."""

    id: str
    member: str | None
    plans: list[Plan] | None
    status: str
    start: object
    trial_end: object
    next_payment: object
    end: object
    modified: datetime


def _moment(value, *, field: str):
    """A store date: a datetime, an ISO 8601 string (no offset means UTC, as WooCommerce sends `*_gmt`), or
    "" / None for an unset date."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ServiceError("invalid_value", f"{value!r} is not an ISO 8601 date", field=field) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read_state(state: Mapping, *, now: datetime, where: str = "subscription") -> _State:
    if not isinstance(state, Mapping):
        raise ServiceError("invalid_value", "a subscription is a mapping of its fields", field=where)
    if state.get("id") in (None, ""):
        raise ServiceError("invalid_value", "a subscription needs its id", field=f"{where}.id")
    status = str(state.get("status", ""))
    if status not in UPDATE_STATUSES:
        raise ServiceError(
            "invalid_status",
            f"{status!r} is not a subscription status; the store has {', '.join(UPDATE_STATUSES)}",
            field=f"{where}.status",
        )
    plans = None
    if "plans" in state or "plan" in state:
        raw = state.get("plans", state.get("plan"))
        ids = [] if raw in (None, "") else raw if isinstance(raw, list | tuple) else [raw]
        plans = [plan_get(str(pid), field=f"{where}.plan") for pid in ids]

    def dated(key: str):
        return _moment(state[key], field=f"{where}.{key}") if key in state else _UNSET

    modified = _moment(state.get("modified"), field=f"{where}.modified") or now
    member = state.get("member")
    return _State(
        id=str(state["id"]),
        member=str(member) if member not in (None, "") else None,
        plans=plans,
        status=status,
        start=dated("start"),
        trial_end=dated("trial_end"),
        next_payment=dated("next_payment"),
        end=dated("end"),
        modified=modified,
    )


def _payload(state: Mapping) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in state.items()}


def subscription_update(
    *, subscription: Mapping, actor: Actor, source: str = "webhook", idempotency_key: str | None = None
) -> ServiceResult:
    """The store's subscription now looks like `subscription` ({id, member, plan(s)?, status, trial_end?, end?,
    next_payment?, start?, modified?}). An update older than the state already applied is recorded as stale
    and not applied; one that changes nothing is applied as a no-op."""

    def apply(event: Event) -> list[int]:
        now = event.occurred_at
        state = _read_state(subscription, now=now)
        existing = Subscription.objects.select_for_update().filter(external_id=state.id).first()
        if existing is not None and state.modified < existing.store_modified_at:
            event.outcome = Event.STALE
            event.error = (
                f"stale: the store modified it at {state.modified:%Y-%m-%d %H:%M:%S}, "
                f"before the state already applied ({existing.store_modified_at:%Y-%m-%d %H:%M:%S})"
            )
            event.save(update_fields=["outcome", "error"])
            return []
        return sorted(_subscription_apply(existing, state, event, now))

    return event_apply(
        kind="subscription.update",
        payload={"subscription": _payload(subscription)},
        actor=actor,
        source=source,
        apply=apply,
        idempotency_key=idempotency_key,
    )


def subscription_switch(
    *, from_id: str, to: Mapping, actor: Actor, source: str = "webhook", idempotency_key: str | None = None
) -> ServiceResult:
    """The customer switched plans: the old subscription becomes `switched` (its memberships are cancelled and
    unlinked) and the new one is created (and creates its memberships). Both happen at the same instant, so
    a course granted by both plans stays open with its enrollment start."""

    def apply(event: Event) -> list[int]:
        now = event.occurred_at
        old = Subscription.objects.select_for_update().filter(external_id=str(from_id)).first()
        if old is None:
            raise ServiceError("not_found", f"no subscription with id {from_id!r} to switch from", field="from")
        to_state = dict(to)
        to_state.setdefault("member", old.member.external_id)
        state = _read_state(to_state, now=now, where="to")
        if state.id == old.external_id:
            raise ServiceError("invalid_value", "a switch creates a new subscription: give it a new id", field="to.id")
        new = Subscription.objects.select_for_update().filter(external_id=state.id).first()
        if new is not None:
            if old.switched_to_id == new.pk:
                return []  # the store resent the switch
            raise ServiceError("duplicate_id", f"subscription {state.id!r} already exists", field="to.id")
        if old.status in SUBSCRIPTION_ENDED:
            raise ServiceError(
                "subscription_ended",
                f"subscription {old.external_id} is {old.status}: it cannot be switched",
                field="from",
            )
        old_state = _State(
            id=old.external_id,
            member=None,
            plans=None,
            status="switched",
            start=_UNSET,
            trial_end=_UNSET,
            next_payment=_UNSET,
            end=_UNSET,
            modified=max(now, old.store_modified_at),
        )
        touched = _subscription_apply(old, old_state, event, now, switched_to=state.id)
        touched |= _subscription_apply(None, state, event, now)
        Subscription.objects.filter(pk=old.pk).update(switched_to=Subscription.objects.get(external_id=state.id))
        return sorted(touched)

    payload = {"from": str(from_id), "to": _payload(to)}
    return event_apply(
        kind="subscription.switch",
        payload=payload,
        actor=actor,
        source=source,
        apply=apply,
        idempotency_key=idempotency_key,
    )


def subscription_delete(
    *, subscription_id: str, actor: Actor, source: str = "webhook", idempotency_key: str | None = None
) -> ServiceResult:
    """The subscription was deleted (trashed): its memberships are cancelled and unlinked. The row stays, with
    status `trash`, as the record of what it was."""

    def apply(event: Event) -> list[int]:
        sub = by_external_id(Subscription.objects.select_for_update(), subscription_id, what="subscription", field="id")
        return sorted(_trash(sub, event))

    return event_apply(
        kind="subscription.delete",
        payload={"id": str(subscription_id)},
        actor=actor,
        source=source,
        apply=apply,
        idempotency_key=idempotency_key,
    )


def membership_link(
    *, member_id: str, plan_id: str, subscription_id: str, actor: Actor, source: str = "admin"
) -> ServiceResult:
    """An admin links an existing membership to a subscription by hand ("Edit link"); from now on it follows
    that subscription (which may be another person's, or pay for something else)."""

    def apply(event: Event) -> list[int]:
        now = event.occurred_at
        membership = membership_find(member_id=member_id, plan_id=plan_id)
        locked = Subscription.objects.select_for_update()
        sub = by_external_id(locked, subscription_id, what="subscription", field="subscription")
        if membership.subscription_id == sub.pk:
            return []
        if sub.status in SUBSCRIPTION_ENDED or sub.status == "expired":
            raise ServiceError(
                "subscription_ended",
                f"subscription {sub.external_id} is {sub.status}: link a running one",
                field="subscription",
            )
        before = _states_now([membership], now)[membership.pk]
        if before.ended:
            raise ServiceError(
                "not_active",
                f"the membership is {before.status}: an ended membership cannot follow a subscription",
                field="membership",
            )
        membership.subscription = sub
        membership.trial_end = sub.trial_end
        membership.save(update_fields=["subscription", "trial_end"])
        _follow(membership, sub, before, now, trial_changed=False)
        return [membership.member_id, sub.member_id]

    payload = {"member": str(member_id), "plan": str(plan_id), "subscription": str(subscription_id)}
    return event_apply(kind="membership.link", payload=payload, actor=actor, source=source, apply=apply)


def membership_delete_with_subscription(
    *,
    actor: Actor,
    source: str = "admin",
    membership_id: str | None = None,
    member_id: str | None = None,
    plan_id: str | None = None,
) -> ServiceResult:
    """Delete a membership together with the subscription it follows (both go, irreversibly: the subscription
    is trashed, and any other membership following it is cancelled)."""

    def apply(event: Event) -> list[int]:
        membership = membership_find(membership_id=membership_id, member_id=member_id, plan_id=plan_id)
        if membership.subscription_id is None:
            raise ServiceError(
                "not_linked",
                "this membership follows no subscription: delete it alone",
                field="with_subscription",
            )
        sub = Subscription.objects.select_for_update().get(pk=membership.subscription_id)
        touched = {membership.member_id}
        membership.delete()
        touched |= _trash(sub, event)
        return sorted(touched)

    ident = {"id": membership_id, "member": member_id, "plan": plan_id}
    payload = {k: v for k, v in ident.items() if v is not None} | {"with_subscription": True}
    return event_apply(kind="membership.delete", payload=payload, actor=actor, source=source, apply=apply)


# --- applying a subscription's state ------------------------------------------------------------------------


def _trash(sub: Subscription, event: Event) -> set[int]:
    if sub.status == "trash":
        return set()
    now = event.occurred_at
    state = _State(
        id=sub.external_id,
        member=None,
        plans=None,
        status="trash",
        start=_UNSET,
        trial_end=_UNSET,
        next_payment=_UNSET,
        end=_UNSET,
        modified=max(now, sub.store_modified_at),
    )
    return _subscription_apply(sub, state, event, now)


def _subscription_apply(
    sub: Subscription | None, state: _State, event: Event, now: datetime, *, switched_to: str | None = None
) -> set[int]:
    """Store the subscription's new state, make its linked memberships follow it, and create the memberships
    of its plans on its first activation. Returns the members touched."""
    created = sub is None
    if created:
        if state.member is None:
            raise ServiceError(
                "invalid_value", f"subscription {state.id} is new: name its member", field="subscription.member"
            )
        sub = Subscription(
            external_id=state.id,
            status=state.status,
            status_since=now,
            start=now,
            store_modified_at=state.modified,
            member=member_get_or_create(external_id=state.member),
        )
    elif state.member is not None and state.member != sub.member.external_id:
        sub.member = member_get_or_create(external_id=state.member)

    start_known = state.start not in (_UNSET, None)
    start = state.start if start_known else sub.start
    trial_end = sub.trial_end if state.trial_end is _UNSET else state.trial_end
    # A new subscription without a start starts now; only a start the store gave can contradict a trial end
    # (a late first webhook may carry a trial that ended before we heard of it).
    if trial_end is not None and (start_known or not created) and trial_end < start:
        raise ServiceError(
            "invalid_value",
            f"the trial end {trial_end:%Y-%m-%d %H:%M} is before the start {start:%Y-%m-%d %H:%M}",
            field="subscription.trial_end",
        )

    linked = list(Membership.objects.filter(subscription_id=sub.pk).select_related("plan")) if not created else []
    # Derived with the subscription as it stood: an end that time already brought is frozen at its moment.
    before = _states_now(linked, now)

    previous = (sub.status, sub.start, sub.trial_end, sub.next_payment, sub.end)
    if sub.status != state.status:
        sub.status, sub.status_since = state.status, now
    sub.start, sub.trial_end = start, trial_end
    if state.next_payment is not _UNSET:
        sub.next_payment = state.next_payment
    if state.end is not _UNSET:
        sub.end = state.end
    sub.store_modified_at = max(sub.store_modified_at, state.modified)
    sub.save()
    if state.plans is not None:
        sub.plans.set(state.plans)
    if created or previous != (sub.status, sub.start, sub.trial_end, sub.next_payment, sub.end):
        SubscriptionChange.objects.create(
            subscription=sub,
            at=now,
            status=sub.status,
            trial_end=sub.trial_end,
            next_payment=sub.next_payment,
            end=sub.end,
            event=event,
        )

    touched = {sub.member_id}
    trial_changed = not created and previous[2] != sub.trial_end
    for membership in linked:
        _follow(membership, sub, before[membership.pk], now, trial_changed=trial_changed, switched_to=switched_to)
        touched.add(membership.member_id)
    if sub.status in CREATES_MEMBERSHIP:
        touched |= _memberships_create(sub, now)
    for dependent in wiring.subscription_dependents():
        touched.update(dependent([sub.pk]))
    return touched


def _memberships_create(sub: Subscription, now: datetime) -> set[int]:
    """One membership per plan of the subscription that has none from it yet (linked now or before: a
    membership the subscription once had is never recreated by a later renewal)."""
    had = set(
        Membership.objects.filter(Q(subscription=sub) | Q(last_subscription=sub)).values_list("plan_id", flat=True)
    )
    touched = set()
    for plan in sub.plans.all():
        if plan.pk in had:
            continue
        membership = Membership.objects.create(
            member_id=sub.member_id, plan=plan, start=now, subscription=sub, trial_end=sub.trial_end, created_at=now
        )
        if sub.status == "on-hold":
            _on_hold(membership, sub, now)
        touched.add(sub.member_id)
    return touched


def _states_now(memberships: list[Membership], now: datetime) -> dict[int, MembershipState]:
    if not memberships:
        return {}
    wanted = {m.pk for m in memberships}
    facts = membership_facts_for({m.member_id for m in memberships}, plan_facts_all())
    return {s.pk: membership_state(s.facts, now) for stored in facts.values() for s in stored if s.pk in wanted}


def _follow(
    membership: Membership,
    sub: Subscription,
    before: MembershipState,
    now: datetime,
    *,
    trial_changed: bool,
    switched_to: str | None = None,
) -> None:
    """Make one linked membership follow its subscription's current status (the DOMAIN.md tables)."""
    if before.ended:
        # Its own end, or a pending cancellation's prepaid period, came first: it stays ended at that moment,
        # and no later renewal revives it.
        _end(membership, sub, before.status, before.window.end or now, before.rule)
        return
    tied = membership.plan.length_kind == SUBSCRIPTION
    status = sub.status
    if trial_changed:
        membership.trial_end = sub.trial_end
        membership.save(update_fields=["trial_end"])
    if status in ("active", "pending-cancel"):
        _pauses_end(membership, now)
    elif status == "on-hold":
        _on_hold(membership, sub, now)
    elif status in SUBSCRIPTION_ENDED:
        why = {
            "cancelled": f"subscription {sub.external_id} was cancelled",
            "switched": f"subscription {sub.external_id} was switched to subscription {switched_to}"
            if switched_to
            else f"subscription {sub.external_id} was switched",
            "trash": f"subscription {sub.external_id} was deleted",
        }[status]
        _end(membership, sub, "cancelled", now, why)
    elif status == "expired":
        if tied:
            _end(membership, sub, "expired", now, f"subscription {sub.external_id} expired")
        else:
            # Payments are complete: the membership goes on by its own dates, no longer following the subscription.
            _pauses_end(membership, now)
            membership.last_subscription, membership.subscription = sub, None
            membership.save(update_fields=["subscription", "last_subscription"])


def _on_hold(membership: Membership, sub: Subscription, now: datetime) -> None:
    if membership.pauses.filter(end__isnull=True).exists():
        return  # already paused (or its grace is already running): a repeated on-hold changes nothing
    grace = Duration.parse(membership.plan.on_hold_grace) if membership.plan.on_hold_grace else None
    start = grace.after(now) if grace is not None else now
    reason = f"subscription {sub.external_id} is on-hold since {now:%Y-%m-%d %H:%M}"
    if grace is not None:
        reason += f" (after a grace period of {grace})"
    MembershipPause.objects.create(membership=membership, start=start, reason=reason, subscription=sub)


def _pauses_end(membership: Membership, at: datetime) -> None:
    """End the running pause at `at`; one that has not started yet (still inside the grace) never happened."""
    membership.pauses.filter(end__isnull=True, start__gte=at).delete()
    membership.pauses.filter(end__isnull=True).update(end=at)


def _end(membership: Membership, sub: Subscription, status: str, at: datetime, why: str) -> None:
    _pauses_end(membership, at)
    membership.base_status, membership.ended_at, membership.ended_by = status, at, why[:200]
    membership.last_subscription, membership.subscription = sub, None
    membership.save(update_fields=["base_status", "ended_at", "ended_by", "subscription", "last_subscription"])
