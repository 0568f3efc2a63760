"""Sources of access and the one shape they all reduce to: a window of time with pauses.

A membership, a seat or a license each becomes a `SourceWindow`: when its access starts and ends, when it is
paused, and which grant rules it carries. The grant computation (`grants.py`) then treats every kind alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .durations import Duration
from .rules import FIXED, SPECIFIC, SUBSCRIPTION, GrantRule, Interval, Length, shift_past_pauses

# Membership statuses (WooCommerce Memberships) and the ones that grant access.
ACTIVE = "active"
COMPLIMENTARY = "complimentary"
FREE_TRIAL = "free_trial"
PENDING_CANCEL = "pending_cancel"
DELAYED = "delayed"
PAUSED = "paused"
EXPIRED = "expired"
CANCELLED = "cancelled"
MEMBERSHIP_STATUSES = (ACTIVE, COMPLIMENTARY, FREE_TRIAL, PENDING_CANCEL, DELAYED, PAUSED, EXPIRED, CANCELLED)
GRANTING_STATUSES = frozenset({ACTIVE, COMPLIMENTARY, FREE_TRIAL, PENDING_CANCEL})

# Subscription statuses (WooCommerce Subscriptions); "trash" is a deleted subscription.
SUBSCRIPTION_STATUSES = ("pending", "active", "on-hold", "pending-cancel", "cancelled", "expired", "switched", "trash")
SUBSCRIPTION_ENDED = frozenset({"cancelled", "switched", "trash"})


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


@dataclass(frozen=True, slots=True)
class PlanFacts:
    id: str
    name: str
    length: Length
    rules: tuple[GrantRule, ...]
    on_hold_grace: Duration | None = None


@dataclass(frozen=True, slots=True)
class SubscriptionFacts:
    id: str
    status: str
    status_since: datetime
    end: datetime | None = None  # end of the prepaid period once pending-cancel
    next_payment: datetime | None = None


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


@dataclass(frozen=True, slots=True)
class MembershipState:
    status: str
    rule: str  # why the membership has this status, in words
    window: SourceWindow


def membership_window(m: MembershipFacts) -> SourceWindow:
    """The membership's access window: start, the earliest of its possible ends, pauses."""
    length = m.plan.length
    start = m.start
    if length.kind == FIXED and length.starts is not None and length.starts > start:
        start = length.starts
    pauses = tuple(sorted(m.pauses, key=lambda p: p.start))
    sub = m.subscription
    tied = length.kind == SUBSCRIPTION and sub is not None

    ends: list[tuple[datetime, str, str]] = []  # (moment, status after it, why)
    if m.ended_at is not None:
        ends.append((m.ended_at, m.base_status, m.ended_by or f"it was {m.base_status}"))
    if length.kind == SPECIFIC and length.duration is not None:
        own_end = shift_past_pauses(length.duration.after(start), pauses, start)
        if own_end is not None:
            ends.append((own_end, EXPIRED, f"its length of {length.duration} ran out (paused time added)"))
    elif length.kind == FIXED and length.ends is not None:
        ends.append((length.ends, EXPIRED, f"its fixed end date {length.ends:%Y-%m-%d} passed"))
    if sub is not None:
        if sub.status == "pending-cancel":
            paid_until = sub.end or sub.next_payment or sub.status_since
            ends.append((paid_until, CANCELLED, f"the prepaid period of subscription {sub.id} ended"))
        elif sub.status in SUBSCRIPTION_ENDED:
            ends.append((sub.status_since, CANCELLED, f"subscription {sub.id} became {sub.status}"))
        elif sub.status == "expired" and tied:
            ends.append((sub.status_since, EXPIRED, f"subscription {sub.id} expired"))
    end, end_status, end_reason = min(ends, key=lambda e: e[0]) if ends else (None, "", "")

    status_changes = tuple(t for t in (m.trial_end,) if t is not None and sub is not None)
    return SourceWindow(
        kind="membership",
        id=m.id,
        label=f"membership in plan {m.plan.name}",
        rules=m.plan.rules,
        start=start,
        end=end,
        end_reason=end_reason,
        end_status=end_status,
        pauses=pauses,
        trial_end=m.trial_end,
        status_changes=status_changes,
    )


def membership_state(m: MembershipFacts, now: datetime) -> MembershipState:
    """The membership's status at `now`, per the WooCommerce Memberships and Subscriptions rules (DOMAIN.md)."""
    window = membership_window(m)
    sub = m.subscription

    def state(status: str, rule: str) -> MembershipState:
        return MembershipState(status, rule, window)

    if window.end is not None and now >= window.end:
        return state(window.end_status, window.end_reason)
    if now < window.start:
        return state(DELAYED, f"access starts on {window.start:%Y-%m-%d %H:%M}")
    for pause in window.pauses:
        if pause.contains(now):
            return state(PAUSED, pause.reason or f"paused since {pause.start:%Y-%m-%d %H:%M}")
    if sub is not None and sub.status == "pending-cancel":
        return state(PENDING_CANCEL, f"subscription {sub.id} is pending cancellation; access until {window.end:%Y-%m-%d %H:%M}")
    if sub is not None and m.trial_end is not None and now < m.trial_end:
        return state(FREE_TRIAL, f"subscription {sub.id} is in its free trial until {m.trial_end:%Y-%m-%d %H:%M}")
    if sub is not None and sub.status in ("on-hold", "pending"):
        return state(ACTIVE, f"subscription {sub.id} is {sub.status}; access continues through the plan's grace period")
    if sub is not None:
        return state(m.base_status, f"subscription {sub.id} is {sub.status}")
    return state(m.base_status, f"the membership is {m.base_status}")

