"""A subscription as the rules see it, whatever it pays for (a membership, seats, licenses)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .rules import Interval
from .statuses import SUBSCRIPTION_GONE

# A subscription in one of these is in force: it creates the memberships of its plans (not while `pending`:
# nothing is paid yet), and a delivery saying so undoes an end that its earlier state brought.
SUBSCRIPTION_IN_FORCE = frozenset({"active", "on-hold", "pending-cancel"})


@dataclass(frozen=True, slots=True)
class SubscriptionFacts:
    id: str
    status: str
    status_since: datetime
    end: datetime | None = None  # end of the prepaid period once pending-cancel; the term's end otherwise
    next_payment: datetime | None = None
    on_hold: tuple[Interval, ...] = ()  # its on-hold periods, for what it pays besides memberships


def prepaid_end(sub: SubscriptionFacts) -> datetime:
    """When a pending cancellation's prepaid period ends: its end date, else its next payment date, else now."""
    return sub.end or sub.next_payment or sub.status_since


def paid_until(sub: SubscriptionFacts | None) -> tuple[datetime, str] | None:
    """When what `sub` pays for (seats, licenses) stops, and why; None while it keeps paying."""
    if sub is None:
        return None
    if sub.status == "pending-cancel":
        return prepaid_end(sub), f"the prepaid period of subscription {sub.id} ended"
    if sub.status in SUBSCRIPTION_GONE:
        return sub.status_since, f"subscription {sub.id} became {sub.status}"
    return None


def on_hold_intervals(changes: list[tuple[datetime, str]], status: str, status_since: datetime) -> tuple[Interval, ...]:
    """The on-hold periods in a subscription's history of (moment, status) changes, oldest first."""
    intervals: list[Interval] = []
    began: datetime | None = None
    for at, changed_to in sorted(changes, key=lambda c: c[0]):
        if changed_to == "on-hold" and began is None:
            began = at
        elif changed_to != "on-hold" and began is not None:
            intervals.append(Interval(began, at, "the paying subscription was on-hold"))
            began = None
    if began is None and status == "on-hold":
        began = status_since
    if began is not None:
        intervals.append(Interval(began, None, "the paying subscription is on-hold"))
    return tuple(intervals)
