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
    # When it opens by time alone (a drip, a date, the trial's end): what schedules it, "drip of plan gold". The
    # ledger names this as the cause of the opening, never the event that happened to wake the member then.
    scheduled: str = ""
    # While its source is paused and it counts active time (opens None): how much of the drip was served.
    waiting: Waiting | None = None

    @property
    def never_opens(self) -> bool:
        """Its source ends before its schedule would open it: it can never open (unless the source changes)."""
        return self.opens is not None and self.closes is not None and self.opens >= self.closes

    def never_opens_because(self, at: datetime | None = None) -> str:
        """Why it never opens; in the past tense once its source ended (at `at`)."""
        why = f" ({self.close_reason})" if self.close_reason else ""
        if at is not None and at >= self.closes:
            return (
                f"its source ended {self.closes:%Y-%m-%d %H:%M}{why} "
                f"before it would have opened on {self.opens:%Y-%m-%d %H:%M}"
            )
        return f"its source ends {self.closes:%Y-%m-%d %H:%M}{why} before it would open on {self.opens:%Y-%m-%d %H:%M}"

    def opening(self, at: datetime | None = None) -> str:
        """When it opens, in words: a moment, never, or how long after its source resumes (as seen at `at`)."""
        if self.never_opens:
            never = "never opened" if at is not None and at >= self.closes else "never opens"
            return f"{never}, because {self.never_opens_because(at)}"
        if self.opens is not None:
            return f"opens {self.opens:%Y-%m-%d %H:%M}"
        if self.waiting is None or self.waiting.left <= timedelta(0):
            return "opens when the source resumes"
        return (
            f"opens {days(self.waiting.left)} after the source resumes "
            f"({days(self.waiting.served, unit=False)} of {days(self.waiting.total)} served)"
        )

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


@dataclass(frozen=True, slots=True)
class Waiting:
    """A drip that counts active time, while its source is paused: `served` of its `total` have passed."""

    served: timedelta
    total: timedelta

    @property
    def left(self) -> timedelta:
        return self.total - self.served


def days(span: timedelta, *, unit: bool = True) -> str:
    """ "9 days", "1 day", "4.5 days" (or without the unit: "9", "4.5")."""
    count = span / timedelta(days=1)
    text = f"{count:.0f}" if count == int(count) else f"{count:.1f}"
    if not unit:
        return text
    return f"{text} day" if text == "1" else f"{text} days"


def template_of(window: SourceWindow) -> str:
    """What the window's rules come from, for people: "plan Gold", "Standard seat in organization Acme"."""
    label = window.label.split(", ")[0]
    return label.removeprefix("membership in ")


def grants_from_window(window: SourceWindow) -> list[Grant]:
    return [_grant(window, rule) for rule in window.rules]


def _waiting(planned: datetime, pauses: tuple[Interval, ...], anchor: datetime) -> Waiting | None:
    """How much of a drip from `anchor` to `planned` was served before the pause that has not ended (the walk of
    rules.shift_past_pauses); None when no such pause holds it back."""
    paused = timedelta(0)
    moment = planned
    for pause in pauses:
        start = max(pause.start, anchor)
        if pause.end is not None and pause.end <= start:
            continue
        if start >= moment:
            break
        if pause.end is None:
            return Waiting(served=start - anchor - paused, total=planned - anchor)
        paused += pause.end - start
        moment += pause.end - start
    return None


def _grant(window: SourceWindow, rule: GrantRule) -> Grant:
    schedule = rule.schedule
    scheduled = ""
    waiting = None
    if schedule.on is not None:
        opens: datetime | None = max(schedule.on, window.start)
        if schedule.on > window.start:
            scheduled = f"date {schedule.on:%Y-%m-%d} of {template_of(window)}"
    else:
        anchor = window.trial_end if schedule.after_trial and window.trial_end is not None else window.start
        anchor = max(anchor, window.start)
        planned = schedule.after.after(anchor) if schedule.after is not None else anchor
        opens = shift_past_pauses(planned, window.pauses, anchor) if planned > anchor else planned
        if opens is None:
            waiting = _waiting(planned, window.pauses, anchor)
        if planned > anchor:
            scheduled = f"{'drip after the trial' if schedule.after_trial else 'drip'} of {template_of(window)}"
        elif anchor > window.start:
            scheduled = f"trial end of {template_of(window)}"
        if opens is not None:
            # A grant due to open while the source is paused opens at the resume (the resume opens it, not time).
            for pause in window.pauses:
                if pause.contains(opens):
                    opens = pause.end
                    scheduled = ""
                    waiting = Waiting(planned - anchor, planned - anchor) if opens is None else None
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
        scheduled=scheduled,
        waiting=waiting,
    )


@dataclass(slots=True)
class TargetAccess:
    target: Target
    state: str  # open | suspended | none
    access_from: datetime | None  # enrollment start, shifted by suspended time; None when state is none
    suspended_since: datetime | None
    grants: tuple[Grant, ...]
    # The start of the current uninterrupted run of grants, and how far suspensions pushed the enrollment start
    # back from it (access_from = run_start + pushed_back).
    run_start: datetime | None = None
    pushed_back: timedelta = timedelta(0)


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
            return TargetAccess(target, OPEN, grant.opens, None, grants, grant.opens)
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
    return TargetAccess(target, state, run_start + shift, suspended_since, grants, run_start, shift)


def next_change(windows: Iterable[SourceWindow], grants: Iterable[Grant], now: datetime) -> datetime | None:
    """The first moment after `now` at which any grant or source status changes by itself."""
    moments = [p for g in grants for p in g.boundaries() if p > now]
    for window in windows:
        moments.extend(t for t in (window.start, window.end, *window.status_changes) if t is not None and t > now)
        moments.extend(p.start for p in window.pauses if p.start > now)
    return min(moments, default=None)
