"""Seats and licenses as access windows: pure rules, no Django, so they can be tested on their own.

A seat's window is the time a person holds it; a license's window runs from its assignment for its type's
length. Either one, when paid by a subscription, is paused while the subscription is on-hold and ends when
it is cancelled, expired or its prepaid period runs out. An organization's license reaches a person through
a seat there: its window is the overlap of the license's and the seat holding's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from membersync.access.rules import FIXED, SPECIFIC, GrantRule, Interval, Length
from membersync.access.sources import SourceWindow

ACTIVE = "active"
AVAILABLE = "available"
SUSPENDED = "suspended"
EXPIRED = "expired"
REVOKED = "revoked"

SUBSCRIPTION_GONE = frozenset({"cancelled", "switched", "trash", "expired"})


@dataclass(frozen=True, slots=True)
class PayingSubscription:
    """A subscription that pays for seats or a license, with its on-hold history."""

    id: str
    status: str
    status_since: datetime
    end: datetime | None = None
    next_payment: datetime | None = None
    on_hold: tuple[Interval, ...] = ()


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


def subscription_end(sub: PayingSubscription | None) -> tuple[datetime, str] | None:
    """When access paid by `sub` ends, and why; None while it keeps paying."""
    if sub is None:
        return None
    if sub.status == "pending-cancel":
        return sub.end or sub.next_payment or sub.status_since, f"the prepaid period of subscription {sub.id} ended"
    if sub.status in SUBSCRIPTION_GONE:
        return sub.status_since, f"subscription {sub.id} became {sub.status}"
    return None


def _pauses(sub: PayingSubscription | None) -> tuple[Interval, ...]:
    if sub is None:
        return ()
    return tuple(Interval(p.start, p.end, f"{p.reason} ({sub.id})") for p in sub.on_hold)


@dataclass(frozen=True, slots=True)
class HoldingFacts:
    id: str
    organization: str  # the organization's name
    seat_type: str  # the seat type's name
    start: datetime
    end: datetime | None = None
    ended_by: str = ""


def seat_window(holding: HoldingFacts, rules: tuple[GrantRule, ...], sub: PayingSubscription | None) -> SourceWindow:
    ends: list[tuple[datetime, str]] = []
    if holding.end is not None:
        ends.append((holding.end, holding.ended_by or "the seat was given up"))
    paid_until = subscription_end(sub)
    if paid_until is not None:
        ends.append(paid_until)
    end, reason = min(ends, key=lambda e: e[0]) if ends else (None, "")
    return SourceWindow(
        kind="seat",
        id=holding.id,
        label=f"{holding.seat_type} seat in organization {holding.organization}",
        rules=rules,
        start=holding.start,
        end=end,
        end_reason=reason,
        end_status="ended" if end is not None else "",
        pauses=_pauses(sub),
    )


@dataclass(frozen=True, slots=True)
class LicenseFacts:
    id: str
    type_name: str
    length: Length
    rules: tuple[GrantRule, ...]
    assigned_at: datetime | None
    revoked_at: datetime | None = None
    revoked_by: str = ""
    subscription: PayingSubscription | None = None


def license_end(lic: LicenseFacts) -> tuple[datetime, str, str] | None:
    """(moment, status after it, why) for the first end the license reaches, whoever holds it."""
    ends: list[tuple[datetime, str, str]] = []
    if lic.revoked_at is not None:
        ends.append(
            (
                lic.revoked_at,
                REVOKED,
                f"license {lic.id} was revoked" + (f" by {lic.revoked_by}" if lic.revoked_by else ""),
            )
        )
    if lic.assigned_at is not None and lic.length.kind == SPECIFIC and lic.length.duration is not None:
        ends.append(
            (
                lic.length.duration.after(lic.assigned_at),
                EXPIRED,
                f"its length of {lic.length.duration} from assignment ran out",
            )
        )
    if lic.length.kind == FIXED and lic.length.ends is not None:
        ends.append((lic.length.ends, EXPIRED, f"its fixed end date {lic.length.ends:%Y-%m-%d} passed"))
    paid_until = subscription_end(lic.subscription)
    if paid_until is not None:
        ends.append((paid_until[0], EXPIRED, paid_until[1]))
    return min(ends, key=lambda e: e[0]) if ends else None


def license_window(
    lic: LicenseFacts,
    *,
    assigned_from: datetime,
    assigned_until: datetime | None,
    unassigned_by: str = "",
    through: HoldingFacts | None = None,
    organization: str = "",
) -> SourceWindow | None:
    """The license's window for one assignment; `through` is the seat holding an organization license reaches
    a person by. None when the window is empty."""
    start = assigned_from
    if lic.length.kind == FIXED and lic.length.starts is not None:
        start = max(start, lic.length.starts)
    ends: list[tuple[datetime, str, str]] = []
    own_end = license_end(lic)
    if own_end is not None:
        ends.append(own_end)
    if assigned_until is not None:
        ends.append((assigned_until, AVAILABLE, unassigned_by or f"license {lic.id} was assigned elsewhere"))
    if through is not None:
        start = max(start, through.start)
        if through.end is not None:
            ends.append((through.end, AVAILABLE, through.ended_by or "the seat was given up"))
    end, end_status, reason = min(ends, key=lambda e: e[0]) if ends else (None, "", "")
    if end is not None and end <= start:
        return None
    label = f"license {lic.id} ({lic.type_name})"
    if through is not None:
        label += f" of organization {organization}, through a {through.seat_type} seat"
    return SourceWindow(
        kind="license",
        id=lic.id if through is None else f"{lic.id}@seat{through.id}",
        label=label,
        rules=lic.rules,
        start=start,
        end=end,
        end_reason=reason,
        end_status=end_status,
        pauses=_pauses(lic.subscription),
    )


def license_status(lic: LicenseFacts, *, assigned_now: bool, now: datetime) -> tuple[str, str]:
    """The license's status at `now` and the rule that gives it, in words."""
    end = license_end(lic)
    if end is not None and now >= end[0]:
        return end[1], end[2]
    if not assigned_now:
        if lic.assigned_at is None:
            return AVAILABLE, "issued and not assigned yet"
        return AVAILABLE, "not assigned to anyone now"
    sub = lic.subscription
    if sub is not None and any(p.contains(now) for p in sub.on_hold):
        return SUSPENDED, f"subscription {sub.id} is on-hold"
    return ACTIVE, "assigned" + (f"; paid by subscription {sub.id} ({sub.status})" if sub else "")
