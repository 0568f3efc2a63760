"""Seats and licenses as access windows.

A seat's window is the time a person holds it; a license's window runs from its assignment for its type's
length. Either one, when paid by a subscription, is paused while the subscription is on-hold and ends when
it is cancelled, expired or its prepaid period runs out. An organization's license reaches a person through
a seat there: its window is the overlap of the license's and the seat holding's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .rules import FIXED, SPECIFIC, GrantRule, Interval, Length
from .sources import SourceWindow
from .statuses import LICENSE_ACTIVE as ACTIVE
from .statuses import LICENSE_AVAILABLE as AVAILABLE
from .statuses import LICENSE_EXPIRED as EXPIRED
from .statuses import LICENSE_REVOKED as REVOKED
from .statuses import LICENSE_SUSPENDED as SUSPENDED
from .subscriptions import SubscriptionFacts, paid_until


def _pauses(sub: SubscriptionFacts | None) -> tuple[Interval, ...]:
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


def seat_window(holding: HoldingFacts, rules: tuple[GrantRule, ...], sub: SubscriptionFacts | None) -> SourceWindow:
    ends: list[tuple[datetime, str]] = []
    if holding.end is not None:
        ends.append((holding.end, holding.ended_by or "the seat was given up"))
    paid = paid_until(sub)
    if paid is not None:
        ends.append(paid)
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
    subscription: SubscriptionFacts | None = None


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
    paid = paid_until(lic.subscription)
    if paid is not None:
        ends.append((paid[0], EXPIRED, paid[1]))
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
