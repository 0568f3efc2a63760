"""What a template (membership plan, seat type, license type) grants, and for how long."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .durations import Duration

COURSE = "course"
GROUP = "group"
GROUP_LEADER = "group_leader"
TARGET_KINDS = (COURSE, GROUP, GROUP_LEADER)


@dataclass(frozen=True, slots=True, order=True)
class Target:
    """Something in the LMS a member can be given: a course, a group, or a group's leadership."""

    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a grant opens, relative to its source's start.

    `after` counts active time: paused time does not count, so a pause pushes the opening back.
    `on` is a calendar date and does not move. `after_trial` counts from the trial's end instead of the start.
    """

    after: Duration | None = None
    on: datetime | None = None
    after_trial: bool = False

    def describe(self) -> str:
        if self.on is not None:
            return f"on {self.on:%Y-%m-%d}"
        anchor = "the trial's end" if self.after_trial else "the start"
        if self.after is None or self.after.amount == 0:
            return "immediately" if not self.after_trial else "when the trial ends"
        return f"{self.after} after {anchor} (paused time not counted)"


@dataclass(frozen=True, slots=True)
class GrantRule:
    key: str  # stable within its template, so the ledger can follow one grant over time
    target: Target
    schedule: Schedule = field(default_factory=Schedule)


UNLIMITED = "unlimited"
SUBSCRIPTION = "subscription"
SPECIFIC = "specific"
FIXED = "fixed"


@dataclass(frozen=True, slots=True)
class Length:
    """How long access lasts: unlimited, a duration from the start, fixed dates, or as long as a subscription."""

    kind: str = UNLIMITED
    duration: Duration | None = None
    starts: datetime | None = None  # fixed
    ends: datetime | None = None  # fixed

    def describe(self) -> str:
        if self.kind == SPECIFIC:
            return f"{self.duration} from the start (paused time not counted)"
        if self.kind == FIXED:
            return f"from {self.starts:%Y-%m-%d} until {self.ends:%Y-%m-%d}"
        if self.kind == SUBSCRIPTION:
            return "as long as the subscription"
        return "unlimited"


@dataclass(frozen=True, slots=True)
class Interval:
    """[start, end); end None means still going. `reason` says why it exists (for pauses: who paused)."""

    start: datetime
    end: datetime | None = None
    reason: str = field(default="", compare=False)

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)

    def length_until(self, moment: datetime) -> timedelta:
        """How much of this interval lies before `moment`."""
        end = moment if self.end is None else min(self.end, moment)
        return max(end - self.start, timedelta(0))


def shift_past_pauses(moment: datetime, pauses: tuple[Interval, ...], since: datetime) -> datetime | None:
    """`moment` pushed back by the paused time after `since` that falls before it.

    Walks the pauses in order: each one that starts before the (already shifted) moment pushes it back by its
    length. A pause that has not ended yet pushes it to "unknown" (None): it opens only after the resume.
    """
    for pause in pauses:
        start = max(pause.start, since)
        if pause.end is not None and pause.end <= start:
            continue
        if start >= moment:
            break
        if pause.end is None:
            return None
        moment += pause.end - start
    return moment
