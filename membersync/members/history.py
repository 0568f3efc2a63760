"""Memberships as they stood at a moment: what was in force then, and what later deliveries corrected.

A membership's row says what is known now. To answer "what was in force at T" its facts are rebuilt from what
had been recorded by T:

- a membership exists once it was created (`created_at`, the moment it became known);
- the subscription it follows is in the state of its last change that had arrived by T (SubscriptionChange:
  `at` is when the state took effect, its event's `received_at` when it became known); a membership was linked
  to it until the subscription left it (cancelled, switched, deleted, expired), or from a link made by hand;
- an end counts once recorded (an admin's at once, a subscription's with the change that brought it), and a
  pause once it began or its on-hold arrived; a pause that ended later was still running at T.

Then the status at T is derived by the same rules as always (access.sources.membership_state). What is known now
about T comes from the same facts as known now; where the two disagree, the later delivery is named.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import Q

from membersync.access.rules import Interval
from membersync.access.sources import MembershipFacts, membership_state, membership_window
from membersync.access.statuses import ACTIVE, COMPLIMENTARY, DELAYED, SUBSCRIPTION_GONE
from membersync.access.subscriptions import SubscriptionFacts
from membersync.catalog.selectors import plan_facts_all
from membersync.sync.asof import SourceAsOf, SourceHistory
from membersync.sync.models import Event

from .models import Membership, MembershipPause, SubscriptionChange
from .selectors import membership_facts_for


@dataclass(frozen=True)
class _Change:
    at: datetime  # when the state took effect
    known: datetime  # when it arrived
    status: str
    trial_end: datetime | None
    next_payment: datetime | None
    end: datetime | None
    event_kind: str


@dataclass(frozen=True)
class _Sub:
    external_id: str
    changes: tuple[_Change, ...]  # in the order they took effect

    def known_by(self, known: datetime) -> list[_Change]:
        return [c for c in self.changes if c.known <= known]

    def as_of(self, at: datetime, known: datetime) -> tuple[SubscriptionFacts, _Change] | None:
        """Its state at `at` from the changes that had arrived by `known` (None: nothing had arrived)."""
        seen = self.known_by(known)
        if not seen:
            return None
        effective = [c for c in seen if c.at <= at] or seen[:1]
        last = effective[-1]
        since = last.at
        for change in reversed(effective):
            if change.status != last.status:
                break
            since = change.at
        facts = SubscriptionFacts(
            id=self.external_id, status=last.status, status_since=since, end=last.end, next_payment=last.next_payment
        )
        return facts, last

    def first_after(self, known: datetime) -> _Change | None:
        later = [c for c in self.changes if c.known > known]
        return min(later, key=lambda c: c.known) if later else None


@dataclass(frozen=True)
class _Pause:
    interval: Interval
    recorded: datetime  # when it became known
    end_recorded: datetime | None


def membership_sources_as_of(member_ids: list[int], at: datetime, now: datetime) -> dict[int, list[SourceAsOf]]:
    """Each member's memberships at `at`, as they were known then (as known now for a moment not yet past),
    each with what a later delivery says about that moment when it disagrees."""
    rows = list(
        Membership.objects.filter(member_id__in=member_ids)
        .select_related("member", "plan", "subscription", "last_subscription")
        .order_by("pk")
    )
    if not rows:
        return {}
    plans = plan_facts_all()
    current = {s.pk: s.facts for stored in membership_facts_for(member_ids, plans).values() for s in stored}
    subs = _subscriptions({m.subscription_id or m.last_subscription_id for m in rows} - {None}, rows)
    pauses = _pauses([m.pk for m in rows], subs)
    events = _admin_events(rows)

    found: dict[int, list[SourceAsOf]] = defaultdict(list)
    for m in rows:
        view = _membership_as_of(m, plans[m.plan_id], current[m.pk], subs, pauses.get(m.pk, []), events, at, now)
        if view is not None:
            found[m.member_id].append(view)
    return dict(found)


MEMBERSHIP_HISTORY = SourceHistory(kinds=frozenset({"membership"}), load=membership_sources_as_of)


def _membership_as_of(m, plan, current, subs, pauses, events, at, now) -> SourceAsOf | None:
    known = min(at, now)
    sub = subs.get(m.subscription_id or m.last_subscription_id)
    then = _facts(m, plan, sub, pauses, events, at, known)
    if then is None:
        # Nobody knew of it then: a later delivery made it. Shown only if it had started by `at`.
        window, status, rule = _state(_facts(m, plan, sub, pauses, events, at, now), current, at)
        if status == DELAYED:
            return None
        said = f"{_who_made(m, sub, known)} says it had already started {window.start:%Y-%m-%d %H:%M}"
        return SourceAsOf(
            window=replace(window, status=status, status_rule=rule),
            correction=f"not known then; {said}: {status} then ({rule})",
            known_then=False,
        )
    window, status, rule = _state(then, None, at)
    details = ()
    if then[0].subscription is not None:
        facts = then[0].subscription
        details = (f"subscription {facts.id}: {facts.status} since {facts.status_since:%Y-%m-%d %H:%M}",)
    correction = ""
    if at < now:
        now_window, now_status, now_rule = _state(_facts(m, plan, sub, pauses, events, at, now), current, at)
        if now_status != status:
            ended = now_window.end is not None and at >= now_window.end
            since = f" (since {now_window.end:%Y-%m-%d %H:%M})" if ended else ""
            who = _who_changed(m, sub, known)
            correction = f"was {status} then; {who} says it was already {now_status}{since}: {now_rule}"
    return SourceAsOf(window=replace(window, status=status, status_rule=rule), details=details, correction=correction)


def _state(facts: tuple[MembershipFacts, MembershipFacts] | None, current: MembershipFacts | None, at: datetime):
    """(window, status, rule) at `at` from (facts for the window, facts for the status). With `current` (the
    membership as the engine reads it now): an end the engine now places before `at` wins, as it did in the
    ledger."""
    window_facts, status_facts = facts
    if current is not None:
        engine = membership_state(current, at)
        if engine.window.end is not None and at >= engine.window.end:
            return engine.window, engine.status, engine.rule
    state = membership_state(status_facts, at)
    return membership_window(window_facts), state.status, state.rule


def _facts(m, plan, sub: _Sub | None, pauses: list[_Pause], events, at: datetime, known: datetime):
    """(facts for its window, facts for its status at `at`) as known at `known`; None if it was not known yet."""
    if m.created_at > known:
        return None
    linked_by_hand_later = any(received > known for received in events["link"].get(m.pk, ()))
    subscription, change = None, None
    if sub is not None and not linked_by_hand_later:
        state = sub.as_of(at, known)
        if state is not None:
            facts, change = state
            if m.subscription_id is not None or facts.status not in SUBSCRIPTION_GONE:
                subscription = facts
    end_known = m.ended_at is not None and _end_recorded(m, sub) <= known
    before_end = COMPLIMENTARY if m.pk in events["complimentary"] else ACTIVE
    in_force = [
        replace(p.interval, end=p.interval.end if p.end_recorded and p.end_recorded <= known else None)
        for p in pauses
        if p.recorded <= known
    ]
    window_facts = MembershipFacts(
        id=str(m.pk),
        plan=plan,
        start=m.start,
        base_status=m.base_status if end_known else before_end,
        ended_at=m.ended_at if end_known else None,
        ended_by=m.ended_by if end_known else "",
        pauses=tuple(sorted(in_force, key=lambda p: p.start)),
        trial_end=change.trial_end if subscription is not None and change is not None else m.trial_end,
        subscription=subscription,
        ends_at=m.ends_at,
    )
    status_facts = window_facts
    if end_known and m.ended_at > at:
        status_facts = replace(window_facts, base_status=before_end, ended_at=None, ended_by="")
    return window_facts, status_facts


def _end_recorded(m, sub: _Sub | None) -> datetime:
    """When the membership's end became known: at once for an admin's or a refund's; with the change of its
    subscription that brought it otherwise (the first to arrive that took effect at or after the end)."""
    if sub is None or m.subscription_id is not None:
        return m.ended_at
    brought = [c.known for c in sub.changes if c.at >= m.ended_at]
    return max(min(brought), m.ended_at) if brought else max(m.ended_at, m.created_at)


def _who_changed(m, sub: _Sub | None, known: datetime) -> str:
    change = sub.first_after(known) if sub is not None else None
    if change is not None:
        return f"a later delivery ({change.event_kind}, received {change.known:%Y-%m-%d %H:%M})"
    if m.ended_at is not None:
        return f"a later change (recorded {_end_recorded(m, sub):%Y-%m-%d %H:%M})"
    return "what is known now"


def _who_made(m, sub: _Sub | None, known: datetime) -> str:
    change = sub.first_after(known) if sub is not None else None
    if change is not None and change.known <= m.created_at:
        return f"a later delivery ({change.event_kind}, received {change.known:%Y-%m-%d %H:%M})"
    return f"a later change (recorded {m.created_at:%Y-%m-%d %H:%M})"


def _subscriptions(pks: set[int], rows: list[Membership]) -> dict[int, _Sub]:
    names = {}
    for m in rows:
        for sub in (m.subscription, m.last_subscription):
            if sub is not None:
                names[sub.pk] = sub.external_id
    changes: dict[int, list[_Change]] = defaultdict(list)
    for sub_id, at, status, trial_end, next_payment, end, received, kind in (
        SubscriptionChange.objects.filter(subscription_id__in=pks)
        .order_by("at", "pk")
        .values_list(
            "subscription_id", "at", "status", "trial_end", "next_payment", "end", "event__received_at", "event__kind"
        )
    ):
        changes[sub_id].append(_Change(at, received or at, status, trial_end, next_payment, end, kind or "a change"))
    return {pk: _Sub(names[pk], tuple(changes.get(pk, ()))) for pk in pks}


def _pauses(membership_ids: list[int], subs: dict[int, _Sub]) -> dict[int, list[_Pause]]:
    """Each membership's pauses, with when each (and its end) became known."""
    found: dict[int, list[_Pause]] = defaultdict(list)
    made = {
        pk: (created, start)
        for pk, created, start in Membership.objects.filter(pk__in=membership_ids).values_list(
            "pk", "created_at", "start"
        )
    }
    rows = MembershipPause.objects.filter(membership_id__in=membership_ids).values_list(
        "membership_id", "start", "end", "reason", "subscription_id"
    )
    for mid, start, end, reason, sub_id in rows:
        created, membership_start = made[mid]
        sub = subs.get(sub_id)
        changes = sub.changes if sub is not None else ()
        # An on-hold's pause is known when the on-hold arrived; a gap that a later delivery made, when it arrived;
        # a pause the membership was created with, when it was created; an admin's, when it began.
        on_hold = [c.known for c in changes if c.status == "on-hold" and c.at <= start]
        at_end = [c.known for c in changes if end is not None and c.at == end]
        if on_hold:
            recorded = on_hold[-1]
        elif at_end:
            recorded = at_end[0]
        elif start == membership_start:
            recorded = created
        else:
            recorded = max(start, created)
        end_recorded = None if end is None else max(at_end[0] if at_end else end, recorded)
        found[mid].append(_Pause(Interval(start, end, reason), recorded, end_recorded))
    return found


def _admin_events(rows: list[Membership]) -> dict[str, dict]:
    """From the inbox: the memberships an admin created complimentary, and when links made by hand arrived."""
    by_name = {(m.member.external_id, m.plan.external_id): m for m in rows}
    names = sorted({m.member.external_id for m in rows})
    complimentary: set[int] = set()
    links: dict[int, list[datetime]] = defaultdict(list)
    wanted = Q(kind="membership.create", payload__membership__member__in=names) | Q(
        kind="membership.link", payload__member__in=names
    )
    for kind, payload, occurred, received in Event.objects.filter(wanted, outcome=Event.APPLIED).values_list(
        "kind", "payload", "occurred_at", "received_at"
    ):
        if kind == "membership.create":
            spec = payload.get("membership") or {}
            m = by_name.get((str(spec.get("member")), str(spec.get("plan"))))
            if m is not None and spec.get("status") == COMPLIMENTARY and occurred == m.created_at:
                complimentary.add(m.pk)
        else:
            m = by_name.get((str(payload.get("member")), str(payload.get("plan"))))
            linked = m is not None and m.subscription is not None
            if linked and str(payload.get("subscription")) == m.subscription.external_id:
                links[m.pk].append(received)
    return {"complimentary": complimentary, "link": links}
