"""Subscriptions as the store sees them, and the memberships that follow them (DOMAIN.md, WooCommerce
Memberships + Subscriptions).

An update carries the store's whole current state of a subscription, as a webhook does: a field it leaves out or
sends empty is unset (a trial's end excepted: it is history, kept once given). Deliveries arrive late, twice or
out of order, so each takes effect at its effective time, the store's `modified` (else its arrival); one older
than the state already applied is stale and changes nothing (the latest wins). What a state means for each
linked membership is materialised here, once, so that a membership's status can be derived from stored facts
and time alone (access/sources.py):

- a subscription creates the memberships of its plans once, starting at its start, when it is first in force
  (active, on-hold, pending-cancel), or, for a payment plan first seen already expired, with the plan's own
  length; never again (renewals never grant; a plan changed in the store makes no second membership);
- on-hold becomes a MembershipPause starting after the plan's `on_hold_grace`; reactivation ends it, or
  deletes it if it had not started yet, so a recovery inside the grace is never felt;
- cancelled, switched or deleted ends the membership as cancelled and unlinks it;
- expired ends a subscription-tied membership as expired; a payment-plan (installment) membership is unlinked
  and keeps its own dates;
- an end the membership's own dates brought stands, and no later renewal revives it; an end the subscription's
  earlier state brought (a prepaid period, an end date) is undone by a later delivery saying it is in force,
  and the gap counts as a suspension (access.sources.delivery_effect; docs/decisions/0010).

Every public function is one event (sync.services.event_apply): stored, applied, reconciled in one
transaction; refused with a ServiceError naming the field, changing nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from membersync import wiring
from membersync.access.durations import Duration
from membersync.access.rules import SUBSCRIPTION, Interval
from membersync.access.sources import MembershipFacts, delivery_effect, membership_state
from membersync.access.statuses import SUBSCRIPTION_ENDED
from membersync.access.subscriptions import SUBSCRIPTION_IN_FORCE
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


@dataclass(frozen=True)
class _State:
    """A subscription's whole state, read and checked. `start` and `trial_end` None: not given, kept as they were."""

    id: str
    member: str | None
    plans: list[Plan] | None  # None only for a state MemberSync makes itself (a switch, a deletion): plans kept
    status: str
    start: datetime | None
    trial_end: datetime | None
    next_payment: datetime | None
    end: datetime | None
    modified: datetime  # the store's modification time: an older delivery is stale
    at: datetime  # when it takes effect: `modified`, never later than its arrival


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
    raw = state.get("plans", state.get("plan"))
    ids = [] if raw in (None, "") else raw if isinstance(raw, list | tuple) else [raw]
    plans = [plan_get(str(pid), field=f"{where}.plan") for pid in ids]

    def dated(key: str) -> datetime | None:
        return _moment(state.get(key), field=f"{where}.{key}")

    modified = dated("modified") or now
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
        at=min(modified, now),
    )


def _as_stored(sub: Subscription, *, status: str, at: datetime) -> _State:
    """`sub` as stored, with a new status from `at`: a state MemberSync makes itself (a switch, a deletion)."""
    return _State(
        id=sub.external_id,
        member=None,
        plans=None,
        status=status,
        start=None,
        trial_end=None,
        next_payment=sub.next_payment,
        end=sub.end,
        modified=max(at, sub.store_modified_at),
        at=at,
    )


def _stale(sub: Subscription | None, state: _State, event: Event) -> bool:
    """An update older than the state already applied is recorded as stale and changes nothing."""
    if sub is None or state.modified >= sub.store_modified_at:
        return False
    event.outcome = Event.STALE
    event.error = (
        f"stale: the store modified subscription {sub.external_id} at {state.modified:%Y-%m-%d %H:%M:%S}, "
        f"before the state already applied ({sub.store_modified_at:%Y-%m-%d %H:%M:%S})"
    )
    event.save(update_fields=["outcome", "error"])
    return True


def _payload(state: Mapping) -> dict:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in state.items()}


def subscription_update(
    *, subscription: Mapping, actor: Actor, source: str = "webhook", idempotency_key: str | None = None
) -> ServiceResult:
    """The store's subscription now looks like `subscription` ({id, member, plan(s)?, status, trial_end?, end?,
    next_payment?, start?, modified?}): its whole state. An update older than the state already applied is
    recorded as stale and not applied; one that changes nothing is applied as a no-op."""

    def apply(event: Event) -> list[int]:
        state = _read_state(subscription, now=event.occurred_at)
        existing = Subscription.objects.select_for_update().filter(external_id=state.id).first()
        if _stale(existing, state, event):
            return []
        return sorted(_subscription_apply(existing, state, event))

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
    unlinked) and the new one, in state `to`, creates its memberships. Both happen at the switch's moment (the
    new state's `modified`, else now), so a course granted by both plans stays open with its enrollment start.

    Deliveries arrive in any order, and a refused one is lost for good (the store never retries it), so whichever
    side is already known is brought up to date: the new subscription may have arrived first (its own update), the
    old one may already say `switched`, or be unknown yet (its deliveries are late or lost: it is recorded as
    switched, so they are stale when they come). Each side takes the switch's state unless the store already told
    a newer one for it. Refused when the old subscription is unknown and the new state names no member, when the
    old one ended otherwise or was switched to another one, and when the new id is another member's."""

    def apply(event: Event) -> list[int]:
        now = event.occurred_at
        old = Subscription.objects.select_for_update().filter(external_id=str(from_id)).first()
        known_member = {"member": old.member.external_id} if old is not None else {}
        state = _read_state({**known_member, **to}, now=now, where="to")
        if old is None and state.member is None:
            raise ServiceError("not_found", f"no subscription with id {from_id!r} to switch from", field="from")
        if state.id == str(from_id):
            raise ServiceError("invalid_value", "a switch creates a new subscription: give it a new id", field="to.id")
        new = Subscription.objects.select_for_update().filter(external_id=state.id).first()
        if old is None:
            old = _switched_unseen(str(from_id), state, event)
        _switch_check(old, new, state)

        touched: set[int] = set()
        if old.status != "switched" and state.modified >= old.store_modified_at:
            switched = _as_stored(old, status="switched", at=state.at)
            touched |= _subscription_apply(old, switched, event, switched_to=state.id)
        if new is None or state.modified >= new.store_modified_at:
            touched |= _subscription_apply(new, state, event)
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


def _switched_unseen(external_id: str, state: _State, event: Event) -> Subscription:
    """The old side of a switch that arrived before anything else about it: recorded as switched at the switch's
    moment (it made no membership), so its own older deliveries are stale when they come."""
    sub = Subscription.objects.create(
        external_id=external_id,
        member=member_get_or_create(external_id=state.member),
        status="switched",
        status_since=state.at,
        start=state.at,
        store_modified_at=state.modified,
    )
    SubscriptionChange.objects.create(subscription=sub, at=state.at, status="switched", event=event)
    return sub


def _switch_check(old: Subscription, new: Subscription | None, state: _State) -> None:
    if old.switched_to_id is not None and (new is None or old.switched_to_id != new.pk):
        raise ServiceError(
            "subscription_ended",
            f"subscription {old.external_id} was already switched to another subscription",
            field="from",
        )
    if old.status in SUBSCRIPTION_ENDED - {"switched"} or old.status == "expired":
        raise ServiceError(
            "subscription_ended",
            f"subscription {old.external_id} is {old.status}: it cannot be switched",
            field="from",
        )
    if new is not None and new.member_id != old.member_id:
        raise ServiceError(
            "duplicate_id", f"subscription {state.id!r} already exists for another member", field="to.id"
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
    that subscription (which may be another person's, or pay for something else), whatever status it had: a
    complimentary membership becomes a paid one."""

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
        before = membership_state(_facts_of([membership])[membership.pk], now)
        if before.ended:
            raise ServiceError(
                "not_active",
                f"the membership is {before.status}: an ended membership cannot follow a subscription",
                field="membership",
            )
        membership.subscription = sub
        membership.trial_end = sub.trial_end
        membership.base_status = "active"
        membership.save(update_fields=["subscription", "trial_end", "base_status"])
        _follow(membership, sub, _facts_of([membership])[membership.pk], now, trial_changed=False)
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
    return _subscription_apply(sub, _as_stored(sub, status="trash", at=event.occurred_at), event)


def _subscription_apply(
    sub: Subscription | None, state: _State, event: Event, *, switched_to: str | None = None
) -> set[int]:
    """Store the subscription's new state, in effect from `state.at`; make its linked memberships follow it,
    and create the memberships of its plans the first time it is in force. Returns the members touched."""
    at = state.at
    created = sub is None
    if created:
        if state.member is None:
            raise ServiceError(
                "invalid_value", f"subscription {state.id} is new: name its member", field="subscription.member"
            )
        sub = Subscription(
            external_id=state.id,
            status=state.status,
            status_since=at,
            start=state.start or at,
            store_modified_at=state.modified,
            member=member_get_or_create(external_id=state.member),
        )
    elif state.member is not None and state.member != sub.member.external_id:
        sub.member = member_get_or_create(external_id=state.member)

    start = state.start or sub.start
    trial_end = state.trial_end or sub.trial_end
    # A new subscription without a start starts when it takes effect; only a start the store gave can contradict
    # a trial end (a late first webhook may carry a trial that ended before we heard of it).
    if trial_end is not None and (state.start is not None or not created) and trial_end < start:
        raise ServiceError(
            "invalid_value",
            f"the trial end {trial_end:%Y-%m-%d %H:%M} is before the start {start:%Y-%m-%d %H:%M}",
            field="subscription.trial_end",
        )

    linked = list(Membership.objects.filter(subscription_id=sub.pk).select_related("plan")) if not created else []
    # The linked memberships' facts with the subscription as it stood, before this state is stored.
    before = _facts_of(linked)

    previous = (sub.status, sub.start, sub.trial_end, sub.next_payment, sub.end)
    if sub.status != state.status:
        sub.status, sub.status_since = state.status, at
    sub.start, sub.trial_end = start, trial_end
    sub.next_payment, sub.end = state.next_payment, state.end
    sub.store_modified_at = max(sub.store_modified_at, state.modified)
    sub.save()
    if state.plans is not None:
        sub.plans.set(state.plans)
    if created or previous != (sub.status, sub.start, sub.trial_end, sub.next_payment, sub.end):
        SubscriptionChange.objects.create(
            subscription=sub,
            at=at,
            status=sub.status,
            trial_end=sub.trial_end,
            next_payment=sub.next_payment,
            end=sub.end,
            event=event,
        )

    touched = {sub.member_id}
    trial_changed = not created and previous[2] != sub.trial_end
    for membership in linked:
        _follow(membership, sub, before[membership.pk], at, trial_changed=trial_changed, switched_to=switched_to)
        touched.add(membership.member_id)
    touched |= _memberships_create(sub, at, now=event.occurred_at)
    for dependent in wiring.subscription_dependents():
        touched.update(dependent([sub.pk]))
    return touched


def _memberships_create(sub: Subscription, at: datetime, *, now: datetime) -> set[int]:
    """The memberships of the subscription's plans, made once and starting at the subscription's start: when it
    is first in force, each following it; or, when it is first seen already expired, the payment plans'
    memberships with their own length (its payments are complete), unlinked. A subscription that granted once
    never grants again, whatever its plans are now (renewals never grant, a plan edit makes no second one)."""
    if sub.memberships_granted_at is not None:
        return set()
    if sub.status in SUBSCRIPTION_IN_FORCE:
        plans, paid_off = list(sub.plans.all()), False
    elif sub.status == "expired":
        plans, paid_off = [p for p in sub.plans.all() if p.length_kind != SUBSCRIPTION], True
    else:
        return set()
    sub.memberships_granted_at = at
    sub.save(update_fields=["memberships_granted_at"])
    for plan in plans:
        membership = Membership.objects.create(
            member_id=sub.member_id,
            plan=plan,
            start=sub.start,
            subscription=None if paid_off else sub,
            last_subscription=sub if paid_off else None,
            trial_end=sub.trial_end,
            created_at=now,
        )
        if sub.status == "on-hold":
            _on_hold(membership, sub, at)
    return {sub.member_id} if plans else set()


def _facts_of(memberships: list[Membership]) -> dict[int, MembershipFacts]:
    """Membership pk -> its facts as stored (with the linked subscription as it stands)."""
    if not memberships:
        return {}
    wanted = {m.pk for m in memberships}
    facts = membership_facts_for({m.member_id for m in memberships}, plan_facts_all())
    return {s.pk: s.facts for stored in facts.values() for s in stored if s.pk in wanted}


def _follow(
    membership: Membership,
    sub: Subscription,
    before: MembershipFacts,
    at: datetime,
    *,
    trial_changed: bool,
    switched_to: str | None = None,
) -> None:
    """Make one linked membership follow its subscription's state in effect from `at` (the DOMAIN.md tables)."""
    effect = delivery_effect(before, sub.status, at)
    if effect.ended is not None:
        # Its own end came first, or the subscription's earlier state ended it and this one does not say it is
        # in force: it stays ended at that moment, and no later renewal revives it.
        _end(membership, sub, effect.ended.status, effect.ended.at, effect.ended.why)
        return
    if effect.gap is not None:
        _suspend(membership, sub, effect.gap)
    tied = membership.plan.length_kind == SUBSCRIPTION
    status = sub.status
    if trial_changed:
        membership.trial_end = sub.trial_end
        membership.save(update_fields=["trial_end"])
    if status in ("active", "pending-cancel"):
        _pauses_end(membership, at)
    elif status == "on-hold":
        _on_hold(membership, sub, at)
    elif status in SUBSCRIPTION_ENDED:
        why = {
            "cancelled": f"subscription {sub.external_id} was cancelled",
            "switched": f"subscription {sub.external_id} was switched to subscription {switched_to}"
            if switched_to
            else f"subscription {sub.external_id} was switched",
            "trash": f"subscription {sub.external_id} was deleted",
        }[status]
        _end(membership, sub, "cancelled", at, why)
    elif status == "expired":
        if tied:
            _end(membership, sub, "expired", at, f"subscription {sub.external_id} expired")
        else:
            # Payments are complete: the membership goes on by its own dates, no longer following the subscription.
            _pauses_end(membership, at)
            membership.last_subscription, membership.subscription = sub, None
            membership.save(update_fields=["subscription", "last_subscription"])


def _on_hold(membership: Membership, sub: Subscription, at: datetime) -> None:
    if membership.pauses.filter(end__isnull=True).exists():
        return  # already paused (or its grace is already running): a repeated on-hold changes nothing
    grace = Duration.parse(membership.plan.on_hold_grace) if membership.plan.on_hold_grace else None
    start = grace.after(at) if grace is not None else at
    reason = f"subscription {sub.external_id} is on-hold since {at:%Y-%m-%d %H:%M}"
    if grace is not None:
        reason += f" (after a grace period of {grace})"
    MembershipPause.objects.create(membership=membership, start=start, reason=reason, subscription=sub)


def _suspend(membership: Membership, sub: Subscription, gap: Interval) -> None:
    """An end that a later delivery undid: the time it lasted is a suspension (one pause, overlapping none)."""
    membership.pauses.filter(end__isnull=True, start__gte=gap.start).delete()
    if membership.pauses.filter(end__isnull=True).exists():
        return  # a pause running since before the end covers the gap already
    ended = [p.end for p in membership.pauses.all() if p.end is not None]
    start = max([gap.start, *ended])
    if start < gap.end:
        MembershipPause.objects.create(
            membership=membership, start=start, end=gap.end, reason=gap.reason[:200], subscription=sub
        )


def _pauses_end(membership: Membership, at: datetime) -> None:
    """End the running pause at `at`; one that has not started yet (still inside the grace) never happened."""
    membership.pauses.filter(end__isnull=True, start__gte=at).delete()
    membership.pauses.filter(end__isnull=True).update(end=at)


def _end(membership: Membership, sub: Subscription, status: str, at: datetime, why: str) -> None:
    _pauses_end(membership, at)
    membership.base_status, membership.ended_at, membership.ended_by = status, at, why[:200]
    membership.last_subscription, membership.subscription = sub, None
    membership.save(update_fields=["base_status", "ended_at", "ended_by", "subscription", "last_subscription"])
