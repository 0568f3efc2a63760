"""Seats and licenses as access windows.

A seat's window is the time a person holds it; a license's window runs from its assignment for its type's
length. Either one, when paid by a subscription, is paused while the subscription is on-hold and ends when
it is cancelled, expired or its prepaid period runs out. An organization's license reaches a person through
a seat there, so it stops with the seat: its window is the license's window within the seat's (the later
start, the earlier end, paused whenever either is paused). A free seat of a pool whose paying subscription
has ended cannot be given to anyone until the pool is paid again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
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


def merged_pauses(*groups: Iterable[Interval]) -> tuple[Interval, ...]:
    """The union of several sources' pauses, in time order and never overlapping, so that time paused by two
    sources at once is counted once (drips and lengths are pushed back by paused time)."""
    merged: list[Interval] = []
    for pause in sorted((p for group in groups for p in group), key=lambda p: p.start):
        last = merged[-1] if merged else None
        if last is None or (last.end is not None and pause.start > last.end):
            merged.append(pause)
            continue
        end = None if last.end is None or pause.end is None else max(last.end, pause.end)
        reason = last.reason if pause.reason in last.reason else f"{last.reason}; {pause.reason}"
        merged[-1] = Interval(last.start, end, reason)
    return tuple(merged)


def window_within(window: SourceWindow, outer: SourceWindow, *, end_status: str) -> SourceWindow | None:
    """`window` as far as it reaches through `outer`: from the later start to the earlier end, and paused
    whenever either is paused. If `outer` ends first, the result ends with `outer`'s reason and `end_status`.
    None when nothing is left."""
    start = max(window.start, outer.start)
    end, reason, status = window.end, window.end_reason, window.end_status
    if outer.end is not None and (end is None or outer.end < end):
        end, reason, status = outer.end, outer.end_reason, end_status
    if end is not None and end <= start:
        return None
    return replace(
        window,
        start=start,
        end=end,
        end_reason=reason,
        end_status=status,
        pauses=merged_pauses(window.pauses, outer.pauses),
    )


@dataclass(frozen=True, slots=True)
class HoldingFacts:
    id: str
    organization: str  # the organization's name
    seat_type: str  # the seat type's name
    start: datetime
    end: datetime | None = None
    ended_by: str = ""
    subscription: SubscriptionFacts | None = None  # what pays for the seat's pool, if anything


def pool_is_paid(sub: SubscriptionFacts | None, now: datetime) -> bool:
    """Whether a pool paid by `sub` (None: bought outright) may give a free seat to someone at `now`: not once
    its subscription has ended (cancelled, expired, or past a pending cancellation's prepaid end). On hold it
    still may: the seat then opens when the subscription is paid again."""
    paid = paid_until(sub)
    return paid is None or now < paid[0]


def seat_window(holding: HoldingFacts, rules: tuple[GrantRule, ...]) -> SourceWindow:
    sub = holding.subscription
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
    a person by: the license's window within the seat's (its pauses suspend the license, its end ends it).
    None when the window is empty."""
    start = assigned_from
    if lic.length.kind == FIXED and lic.length.starts is not None:
        start = max(start, lic.length.starts)
    ends: list[tuple[datetime, str, str]] = []
    own_end = license_end(lic)
    if own_end is not None:
        ends.append(own_end)
    if assigned_until is not None:
        ends.append((assigned_until, AVAILABLE, unassigned_by or f"license {lic.id} was assigned elsewhere"))
    end, end_status, reason = min(ends, key=lambda e: e[0]) if ends else (None, "", "")
    if end is not None and end <= start:
        return None
    window = SourceWindow(
        kind="license",
        id=lic.id,
        label=f"license {lic.id} ({lic.type_name})",
        rules=lic.rules,
        start=start,
        end=end,
        end_reason=reason,
        end_status=end_status,
        pauses=_pauses(lic.subscription),
    )
    if through is None:
        return window
    seat = seat_window(through, ())
    # Given up, the seat takes the license with it (it is no longer hers); unpaid, the license expires for her.
    after_seat = AVAILABLE if through.end is not None and seat.end == through.end else EXPIRED
    window = replace(
        window,
        id=f"{lic.id}@seat{through.id}",
        label=f"{window.label} of organization {organization}, through a {through.seat_type} seat",
    )
    return window_within(window, seat, end_status=after_seat)


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


def license_status_through(lic: LicenseFacts, holdings: Sequence[HoldingFacts], now: datetime) -> tuple[str, str]:
    """The status, for one person, of an organization's license that reaches her through the seats she holds
    there at `now` (at least one), and the rule that gives it. The license's own end comes first (revoked,
    expired); then her seats: active while one of them gives access, suspended while they are paused (their
    paying subscription on hold), expired once every one has stopped being paid."""
    status, rule = license_status(lic, assigned_now=True, now=now)
    if status in (REVOKED, EXPIRED) or not holdings:
        return status, rule
    paused: list[str] = []
    unpaid: list[str] = []
    for holding in holdings:
        seat = seat_window(holding, ())
        what = f"her {holding.seat_type} seat in organization {holding.organization}"
        if seat.end is not None and now >= seat.end:
            unpaid.append(f"{what} gives no access since {seat.end:%Y-%m-%d %H:%M}: {seat.end_reason}")
            continue
        pause = next((p for p in seat.pauses if p.contains(now)), None)
        if pause is not None:
            paused.append(f"{what} is suspended: {pause.reason}")
            continue
        return status, f"{rule}; reaches her through {what}"
    if paused:
        return SUSPENDED, "; ".join(paused)
    return EXPIRED, "; ".join(unpaid)
