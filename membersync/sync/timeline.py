"""A member's access drawn over time: each target's open and suspended periods, replayed from the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .models import LedgerEntry


@dataclass
class Segment:
    state: str  # open | suspended
    start: datetime
    end: datetime
    left: float  # percent of the timeline's width
    width: float


@dataclass
class TargetTimeline:
    kind: str
    id: str
    segments: list[Segment]


def access_timeline(entries: list[LedgerEntry], until: datetime) -> tuple[datetime | None, list[TargetTimeline]]:
    """Each target's open and suspended periods, replayed from the ledger up to `until`.

    A target is open while any of its grants is open, suspended while none is open and one is suspended.
    """
    if not entries:
        return None, []
    begin = min(e.at for e in entries)
    end = max(until, begin)
    span = (end - begin).total_seconds() or 1.0
    by_target: dict[tuple[str, str], list[LedgerEntry]] = {}
    for entry in sorted(entries, key=lambda e: (e.at, e.pk or 0)):
        by_target.setdefault((entry.target_kind, entry.target_id), []).append(entry)

    def place(state: str, start: datetime, stop: datetime) -> Segment:
        left = (start - begin).total_seconds() / span * 100
        width = max((stop - start).total_seconds() / span * 100, 0.4)
        return Segment(state, start, stop, round(left, 2), round(width, 2))

    timelines = []
    for (kind, target_id), target_entries in sorted(by_target.items()):
        grant_states: dict[str, str] = {}
        segments: list[Segment] = []
        current, since = "none", begin
        for entry in target_entries:
            if entry.at > end:
                break
            if entry.action in (LedgerEntry.OPENED, LedgerEntry.RESUMED):
                grant_states[entry.grant_key] = "open"
            elif entry.action == LedgerEntry.SUSPENDED:
                grant_states[entry.grant_key] = "suspended"
            elif entry.action == LedgerEntry.CLOSED:
                grant_states.pop(entry.grant_key, None)
            states = set(grant_states.values())
            state = "open" if "open" in states else "suspended" if "suspended" in states else "none"
            if state != current:
                if current != "none" and entry.at > since:
                    segments.append(place(current, since, entry.at))
                current, since = state, entry.at
        if current != "none" and end > since:
            segments.append(place(current, since, end))
        timelines.append(TargetTimeline(kind, target_id, segments))
    return begin, timelines
