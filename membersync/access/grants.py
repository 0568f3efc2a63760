"""From source windows to grants, and from grants to what a member may open at a moment.

    sources + now  ->  grants  ->  access per target (open / suspended / none) + the next moment it changes

A grant's window is fixed by its source: it opens on its schedule, closes when the source ends, and is
suspended while the source is paused. A target's enrollment start ("access_from" in LearnDash) is the start
of its current uninterrupted run of grants, pushed back by the time it spent suspended: so a paused and
resumed member, or one who switched between plans granting the same course, keeps her place in the drip.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .rules import GrantRule, Interval, Target, shift_past_pauses
from .sources import SourceWindow

PENDING = "pending"
OPEN = "open"
SUSPENDED = "suspended"
CLOSED = "closed"


# Grants are built by the million in a resync: plain slotted classes, several times cheaper to build than
# frozen ones. Treat them as immutable all the same.
@dataclass(slots=True)
class Grant:
    key: str  # "<source kind>:<source id>:<rule key>": stable for the ledger
    target: Target
    source_kind: str
    source_id: str
    source_label: str
    opens: datetime | None  # None: it would open only after a pause that has not ended yet
    closes: datetime | None
    suspensions: tuple[Interval, ...]
    why: str
    close_reason: str = ""

    def state_at(self, now: datetime) -> str:
        if self.closes is not None and now >= self.closes:
            return CLOSED
        if self.opens is None or now < self.opens:
            return PENDING
        for pause in self.suspensions:
            if pause.contains(now):
                return SUSPENDED
        return OPEN

    def boundaries(self) -> Iterable[datetime]:
        if self.opens is not None:
            yield self.opens
        if self.closes is not None:
            yield self.closes
        for pause in self.suspensions:
            yield pause.start
            if pause.end is not None:
                yield pause.end


def grants_from_window(window: SourceWindow) -> list[Grant]:
    return [_grant(window, rule) for rule in window.rules]


def _grant(window: SourceWindow, rule: GrantRule) -> Grant:
    schedule = rule.schedule
    if schedule.on is not None:
        opens: datetime | None = max(schedule.on, window.start)
    else:
        anchor = window.trial_end if schedule.after_trial and window.trial_end is not None else window.start
        anchor = max(anchor, window.start)
        planned = schedule.after.after(anchor) if schedule.after is not None else anchor
        opens = shift_past_pauses(planned, window.pauses, anchor) if planned > anchor else planned
        if opens is not None:
            # A grant due to open while the source is paused opens at the resume.
            for pause in window.pauses:
                if pause.contains(opens):
                    opens = pause.end
                    break
    closes = window.end
    suspensions = ()
    if opens is not None:
        suspensions = tuple(
            Interval(max(p.start, opens), p.end if closes is None or p.end is None else min(p.end, closes), p.reason)
            for p in window.pauses
            if (p.end is None or p.end > opens) and (closes is None or p.start < closes)
        )
    return Grant(
        key=f"{window.kind}:{window.id}:{rule.key}",
        target=rule.target,
        source_kind=window.kind,
        source_id=window.id,
        source_label=window.label,
        opens=opens,
        closes=closes,
        suspensions=suspensions,
        why=f"{window.label} grants {rule.target} {rule.schedule.describe()}",
        close_reason=window.end_reason,
    )


@dataclass(slots=True)
class TargetAccess:
    target: Target
    state: str  # open | suspended | none
    access_from: datetime | None  # enrollment start, shifted by suspended time; None when state is none
    suspended_since: datetime | None
    grants: tuple[Grant, ...]


def access_at(grants: Iterable[Grant], now: datetime) -> dict[Target, TargetAccess]:
    """Each target's access at `now`: the union of its grants, with the enrollment start it keeps."""
    by_target: dict[Target, list[Grant]] = defaultdict(list)
    for grant in grants:
        by_target[grant.target].append(grant)
    return {target: _target_access(target, tuple(gs), now) for target, gs in by_target.items()}


def _target_access(target: Target, grants: tuple[Grant, ...], now: datetime) -> TargetAccess:
    if len(grants) == 1 and not grants[0].suspensions:
        # The common case, without the sweep: one grant that was never paused.
        grant = grants[0]
        if grant.state_at(now) == OPEN:
            return TargetAccess(target, OPEN, grant.opens, None, grants)
        return TargetAccess(target, "none", None, None, grants)

    points = sorted({p for g in grants for p in g.boundaries() if p <= now})
    run_start: datetime | None = None
    shift = timedelta(0)
    state, suspended_since = "none", None
    for index, point in enumerate(points):
        states = {g.state_at(point) for g in grants}
        if OPEN in states:
            if run_start is None:
                run_start, shift = point, timedelta(0)
            state, suspended_since = OPEN, None
        elif SUSPENDED in states and run_start is not None:
            if state != SUSPENDED:
                suspended_since = point
            state = SUSPENDED
            segment_end = points[index + 1] if index + 1 < len(points) else None
            if segment_end is not None and {g.state_at(segment_end) for g in grants} & {OPEN}:
                shift += segment_end - suspended_since
        else:
            run_start, state, suspended_since = None, "none", None
    if state == "none" or run_start is None:
        return TargetAccess(target, "none", None, None, grants)
    return TargetAccess(target, state, run_start + shift, suspended_since, grants)


def next_change(windows: Iterable[SourceWindow], grants: Iterable[Grant], now: datetime) -> datetime | None:
    """The first moment after `now` at which any grant or source status changes by itself."""
    moments = [p for g in grants for p in g.boundaries() if p > now]
    for window in windows:
        moments.extend(t for t in (window.start, window.end, *window.status_changes) if t is not None and t > now)
        moments.extend(p.start for p in window.pauses if p.start > now)
    return min(moments, default=None)
