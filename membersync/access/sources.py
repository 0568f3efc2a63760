"""Sources of access and the one shape they all reduce to: a window of time with pauses.

A membership, a seat or a license each becomes a `SourceWindow`: when its access starts and ends, when it is
paused, and which grant rules it carries. The grant computation (`grants.py`) then treats every kind alike.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from .durations import Duration
from .rules import FIXED, SPECIFIC, SUBSCRIPTION, GrantRule, Interval, Length, shift_past_pauses
from .statuses import (
    ACTIVE,
    CANCELLED,
    DELAYED,
    EXPIRED,
    FREE_TRIAL,
    GRANTING_STATUSES,
    PAUSED,
    PENDING_CANCEL,
    SUBSCRIPTION_ENDED,
    SUBSCRIPTION_RUNNING,
)
from .subscriptions import SUBSCRIPTION_IN_FORCE, SubscriptionFacts, prepaid_end


@dataclass(frozen=True, slots=True)
class SourceWindow:
    kind: str  # membership | seat | license | manual
    id: str
    label: str  # a person reads this: "membership in plan Gold"
    rules: tuple[GrantRule, ...]
    start: datetime
    end: datetime | None = None
    end_reason: str = ""
    end_status: str = ""  # the status the source has once it ended (expired, cancelled, revoked, ...)
    pauses: tuple[Interval, ...] = ()
    trial_end: datetime | None = None
    # Moments at which the source's status changes by itself without changing any grant (a trial ending).
    status_changes: tuple[datetime, ...] = ()
    # The source's status at the moment it was loaded and the rule that set it, for explanations.
    status: str = ""
    status_rule: str = ""


@dataclass(frozen=True, slots=True)
class PlanFacts:
    id: str
    name: str
    length: Length
    rules: tuple[GrantRule, ...]
    on_hold_grace: Duration | None = None


@dataclass(frozen=True, slots=True)
class MembershipFacts:
    """A membership as stored: what events and admins set. Its status at a moment is derived from these."""

    id: str
    plan: PlanFacts
    start: datetime
    base_status: str = ACTIVE  # active | complimentary | cancelled | expired
    ended_at: datetime | None = None  # when base_status became cancelled or expired
    ended_by: str = ""
    pauses: tuple[Interval, ...] = ()
    trial_end: datetime | None = None
    subscription: SubscriptionFacts | None = None  # the linked subscription, if any
    # Set for a membership a store running WooCommerce Memberships owns: the store's end date is its end, and
    # the plan's own length (which the store already applied) is not counted again.
    store_managed: bool = False
    store_end: datetime | None = None
    # An end an operator set (extend, transfer: decision 0018): it replaces the plan's length or fixed end.
    ends_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MembershipState:
    status: str
    rule: str  # why the membership has this status, in words
    window: SourceWindow

    @property
    def grants_access(self) -> bool:
        return self.status in GRANTING_STATUSES

    @property
    def ended(self) -> bool:
        return self.status in (EXPIRED, CANCELLED)


# How long before its end a member is told that her membership ends (WooCommerce Memberships' "ending soon").
ENDING_SOON = timedelta(days=7)


def is_tied(m: MembershipFacts) -> bool:
    """Subscription-tied: the plan lasts as long as the subscription, and one is linked."""
    return m.plan.length.kind == SUBSCRIPTION and m.subscription is not None


@dataclass(frozen=True, slots=True)
class End:
    """A moment a membership ends, the status it leaves it in, and why. `by_subscription`: the end comes from
    the linked subscription's last known state (a prepaid period, an end date, a status), which a later delivery
    of that subscription can undo; any other end (its own length, a fixed date, a stored end) stands."""

    at: datetime
    status: str
    why: str
    by_subscription: bool = False


def membership_ends(m: MembershipFacts) -> list[End]:
    """Every end the membership has, earliest first: stored, its own length or dates, and its subscription's."""
    start, pauses = _start(m), tuple(sorted(m.pauses, key=lambda p: p.start))
    length, sub = m.plan.length, m.subscription
    ends: list[End] = []
    if m.ended_at is not None:
        ends.append(End(m.ended_at, m.base_status, m.ended_by or f"it was {m.base_status}"))
    if m.store_managed:
        if m.store_end is not None:
            status = CANCELLED if m.base_status == PENDING_CANCEL else EXPIRED
            ends.append(End(m.store_end, status, f"the store's end date {m.store_end:%Y-%m-%d %H:%M} passed"))
    elif m.ends_at is not None:
        ends.append(
            End(m.ends_at, EXPIRED, f"its end date {m.ends_at:%Y-%m-%d %H:%M}, set by an administrator, passed")
        )
    elif length.kind == SPECIFIC and length.duration is not None:
        own_end = shift_past_pauses(length.duration.after(start), pauses, start)
        if own_end is not None:
            ends.append(End(own_end, EXPIRED, f"its length of {length.duration} ran out (paused time added)"))
    elif length.kind == FIXED and length.ends is not None:
        ends.append(End(length.ends, EXPIRED, f"its fixed end date {length.ends:%Y-%m-%d} passed"))
    if sub is not None:
        end = _subscription_end(sub, tied=is_tied(m))
        if end is not None:
            ends.append(end)
    return sorted(ends, key=lambda e: e.at)


def _subscription_end(sub: SubscriptionFacts, *, tied: bool) -> End | None:
    if sub.status == "pending-cancel":
        return End(prepaid_end(sub), CANCELLED, f"the prepaid period of subscription {sub.id} ended", True)
    if sub.status in SUBSCRIPTION_ENDED:
        return End(sub.status_since, CANCELLED, f"subscription {sub.id} became {sub.status}", True)
    if sub.status == "expired" and tied:
        return End(sub.status_since, EXPIRED, f"subscription {sub.id} expired", True)
    if sub.status in SUBSCRIPTION_RUNNING and tied and sub.end is not None:
        return End(sub.end, EXPIRED, f"subscription {sub.id} reached its end date", True)
    return None


def _start(m: MembershipFacts) -> datetime:
    length = m.plan.length
    if length.kind == FIXED and length.starts is not None and length.starts > m.start:
        return length.starts
    return m.start


@dataclass(frozen=True, slots=True)
class Delivery:
    """What a delivery of its subscription's state, in effect from a moment, means for a linked membership."""

    ended: End | None = None  # it had ended before that moment and stays ended there, whatever the delivery says
    gap: Interval | None = None  # an end the delivery undoes: the membership goes on, suspended for this gap


def delivery_effect(m: MembershipFacts, status: str, at: datetime) -> Delivery:
    """A delivery saying its subscription is `status` from `at` (its `modified`, else its arrival: the latest
    wins) reaches membership `m`, whose facts still carry the subscription's previous state.

    - Nothing ended it before `at`: it follows the new state from `at` (Delivery()).
    - Its first end came before `at` and is its own (length, fixed date, a stored end), or the delivery does not
      say the subscription is in force: it stays ended at that end.
    - Its first end came from the subscription's previous state (a prepaid period ran out, an end date passed)
      and the delivery says the subscription is in force again: that end is undone. The time between the end
      and `at` counts as a suspension, so the enrollment start is kept, pushed back by the gap.
    """
    ends = membership_ends(m)
    if not ends or ends[0].at >= at:
        return Delivery()
    first = ends[0]
    if first.by_subscription and status in SUBSCRIPTION_IN_FORCE:
        return Delivery(gap=Interval(first.at, at, f"{first.why}; a later delivery says it went on"))
    return Delivery(ended=first)


def membership_window(m: MembershipFacts) -> SourceWindow:
    """The membership's access window: start, the earliest of its possible ends, pauses.

    Every end that time alone brings is in here (own length, fixed date, a pending cancellation's prepaid
    period, a tied subscription's end date), so the worker ends the membership on time even if the store's
    webhook never comes. A later delivery of the subscription may undo an end its earlier state brought
    (`delivery_effect`); no delivery undoes the membership's own end.
    """
    start = _start(m)
    pauses = tuple(sorted(m.pauses, key=lambda p: p.start))
    sub = m.subscription
    ends = membership_ends(m)
    end, end_status, end_reason = (ends[0].at, ends[0].status, ends[0].why) if ends else (None, "", "")

    # The status changes without any grant changing when a trial ends and when the end comes within
    # ENDING_SOON (the member is told then): the worker must wake the member at both.
    status_changes = []
    if m.trial_end is not None and sub is not None:
        status_changes.append(m.trial_end)
    if end is not None and end_status in (EXPIRED, CANCELLED):
        warn_at = end - ENDING_SOON
        if warn_at > start:
            status_changes.append(warn_at)
    return SourceWindow(
        kind="membership",
        id=m.id,
        label=_label(m),
        rules=m.plan.rules,
        start=start,
        end=end,
        end_reason=end_reason,
        end_status=end_status,
        pauses=pauses,
        trial_end=m.trial_end,
        status_changes=tuple(status_changes),
    )


def _label(m: MembershipFacts) -> str:
    label = f"membership in plan {m.plan.name}"
    if m.subscription is None:
        return label
    if m.plan.length.kind == SUBSCRIPTION:
        return f"{label}, tied to subscription {m.subscription.id}"
    return f"{label}, paid by subscription {m.subscription.id} (payment plan)"


def membership_state(m: MembershipFacts, now: datetime) -> MembershipState:
    """The membership's status at `now`, per the WooCommerce Memberships and Subscriptions rules (DOMAIN.md).

    Subscription events are materialised by the services (an on-hold is a pause starting after the plan's
    grace; a cancel, switch, deletion or tied expiry ends the membership and unlinks it), so what is left
    here is what the linked subscription's current status and time say. While linked, the status comes from
    the tables alone (never from the status the membership had before it was linked).
    """
    window = membership_window(m)
    sub = m.subscription

    def state(status: str, rule: str) -> MembershipState:
        ends_soon = window.end is not None and window.end_status in (EXPIRED, CANCELLED)
        ends_soon = ends_soon and now + ENDING_SOON >= window.end
        if status in GRANTING_STATUSES and ends_soon:
            rule = f"{rule}; ends {window.end:%Y-%m-%d %H:%M} because {window.end_reason}"
        return MembershipState(status, rule, replace(window, status=status, status_rule=rule))

    if window.end is not None and now >= window.end:
        return state(window.end_status, window.end_reason)
    if now < window.start:
        return state(DELAYED, f"access starts on {window.start:%Y-%m-%d %H:%M}")
    for pause in window.pauses:
        if pause.contains(now):
            return state(PAUSED, pause.reason or f"paused since {pause.start:%Y-%m-%d %H:%M}")
    if m.store_managed:
        return state(m.base_status, f"the store says the membership is {m.base_status}")
    if sub is None:
        return state(m.base_status, f"the membership is {m.base_status}")
    if sub.status == "pending-cancel":
        return state(
            PENDING_CANCEL,
            f"subscription {sub.id} is pending cancellation; access until {window.end:%Y-%m-%d %H:%M}",
        )
    if sub.status == "on-hold":
        upcoming = [p.start for p in window.pauses if p.start > now]
        until = f" until {min(upcoming):%Y-%m-%d %H:%M}" if upcoming else ""
        return state(
            FREE_TRIAL if m.trial_end is not None and now < m.trial_end else ACTIVE,
            f"subscription {sub.id} is on-hold; access continues through the plan's grace period{until}",
        )
    if m.trial_end is not None and now < m.trial_end:
        return state(FREE_TRIAL, f"subscription {sub.id} is in its free trial until {m.trial_end:%Y-%m-%d %H:%M}")
    # A linked membership follows the subscription tables whatever status it had before it was linked (a
    # complimentary membership linked by hand is active while its subscription is).
    if m.trial_end is not None and now >= m.trial_end:
        return state(
            ACTIVE, f"subscription {sub.id} is {sub.status}; its free trial ended {m.trial_end:%Y-%m-%d %H:%M}"
        )
    return state(ACTIVE, f"subscription {sub.id} is {sub.status}")
