"""A member's access drawn over time, for her admin page.

Up to now each target's open and suspended periods are replayed from the ledger (what happened); from now to the
moment previewed they are projected from her grants as her sources stand now (what will happen unless something
changes), drawn apart. Markers show the openings and ends still to come, and the enrollment start at the moment
asked, labelled when suspension pushed it back. Dates run along an axis; the bars are placed in percent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from membersync import clock
from membersync.access.grants import OPEN, PENDING, SUSPENDED, Grant, days, grants_from_window
from membersync.access.rules import Target

from .ledger import WITHDRAWN
from .models import LedgerEntry
from .selectors import Explanation, member_ledger, target_titles
from .sources import load_sources

MIN_WIDTH = 0.4  # percent: a period too short to see is still drawn


@dataclass
class Segment:
    state: str  # open | suspended
    start: datetime
    end: datetime
    left: float  # percent of the timeline's width
    width: float
    future: bool = False  # projected from her sources as they stand, not yet in the ledger


@dataclass
class Marker:
    kind: str  # opens | closes | enrollment-start
    at: datetime
    left: float
    label: str


@dataclass
class TargetTimeline:
    kind: str
    id: str
    title: str
    segments: list[Segment] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)


@dataclass
class Tick:
    at: datetime
    left: float
    label: str

    @property
    def near_the_end(self) -> bool:
        """Its label is drawn to the left of its mark, so that it stays inside the axis."""
        return self.left > 90


@dataclass
class Timeline:
    begin: datetime
    end: datetime
    now: datetime
    at: datetime
    now_left: float
    at_left: float
    ticks: list[Tick]
    rows: list[TargetTimeline]


class _Scale:
    def __init__(self, begin: datetime, end: datetime):
        self.begin, self.end = begin, end
        self.span = (end - begin).total_seconds() or 1.0

    def left(self, moment: datetime) -> float:
        return round(max(0.0, min(100.0, (moment - self.begin).total_seconds() / self.span * 100)), 2)

    def segment(self, state: str, start: datetime, stop: datetime, *, future: bool = False) -> Segment:
        width = max((stop - start).total_seconds() / self.span * 100, MIN_WIDTH)
        return Segment(state, start, stop, self.left(start), round(width, 2), future)


def access_timeline(
    entries: list[LedgerEntry],
    *,
    now: datetime,
    at: datetime,
    grants: list[Grant] = (),
    titles: dict[str, str] | None = None,
    enrollment_starts: dict[tuple[str, str], tuple[datetime, timedelta]] | None = None,
) -> Timeline | None:
    """Each target's periods from the ledger up to `now`, then projected from `grants` up to `at` if it is later.

    A target is open while any of its grants is open, suspended while none is open and one is suspended.
    `enrollment_starts`: (kind, id) -> (enrollment start at `at`, how far suspension pushed it back)."""
    titles = titles or {}
    upcoming = [g for g in grants if any(now < p <= at for p in g.boundaries())]
    if not entries and not upcoming:
        return None
    moments = [e.at for e in entries] + [now, at]
    begin = min(moments)
    end = max(now, at)
    # A little room after the last moment, so what happens on it can be seen.
    end += max((end - begin) * 0.03, timedelta(days=1))
    scale = _Scale(begin, end)

    rows: dict[tuple[str, str], TargetTimeline] = {}

    def row(kind: str, target_id: str) -> TargetTimeline:
        key = (kind, target_id)
        if key not in rows:
            rows[key] = TargetTimeline(kind, target_id, titles.get(target_id, target_id))
        return rows[key]

    by_target: dict[tuple[str, str], list[LedgerEntry]] = {}
    for entry in sorted(entries, key=lambda e: (e.at, e.pk or 0)):
        if entry.at <= now:
            by_target.setdefault((entry.target_kind, entry.target_id), []).append(entry)
    for (kind, target_id), target_entries in sorted(by_target.items()):
        row(kind, target_id).segments += _replayed(target_entries, now, scale)

    if at > now:
        by_grant_target: dict[Target, list[Grant]] = {}
        for grant in grants:
            by_grant_target.setdefault(grant.target, []).append(grant)
        for target, target_grants in sorted(by_grant_target.items()):
            line = row(target.kind, target.id)
            line.segments += _projected(target_grants, now, at, scale)
            line.markers += _upcoming(target_grants, now, at, scale)

    for (kind, target_id), (start, pushed) in (enrollment_starts or {}).items():
        if begin <= start <= end:
            label = f"enrollment start {start:%Y-%m-%d %H:%M}"
            if pushed:
                label += f", pushed back {days(pushed)} by suspension"
            row(kind, target_id).markers.append(Marker("enrollment-start", start, scale.left(start), label))

    return Timeline(
        begin=begin,
        end=end,
        now=now,
        at=at,
        now_left=scale.left(now),
        at_left=scale.left(at),
        ticks=_ticks(begin, end, scale),
        rows=[rows[key] for key in sorted(rows)],
    )


def _replayed(entries: list[LedgerEntry], now: datetime, scale: _Scale) -> list[Segment]:
    grant_states: dict[str, str] = {}
    segments: list[Segment] = []
    current, since = "none", scale.begin
    for entry in entries:
        if entry.action in (LedgerEntry.OPENED, LedgerEntry.RESUMED):
            grant_states[entry.grant_key] = OPEN
        elif entry.action == LedgerEntry.SUSPENDED:
            grant_states[entry.grant_key] = SUSPENDED
        elif entry.action in (LedgerEntry.CLOSED, WITHDRAWN):
            grant_states.pop(entry.grant_key, None)
        state = _union(grant_states.values())
        if state != current:
            if current != "none" and entry.at > since:
                segments.append(scale.segment(current, since, entry.at))
            current, since = state, entry.at
    if current != "none" and now > since:
        segments.append(scale.segment(current, since, now))
    return segments


def _projected(grants: list[Grant], now: datetime, until: datetime, scale: _Scale) -> list[Segment]:
    points = sorted({now, until, *(p for g in grants for p in g.boundaries() if now < p < until)})
    segments: list[Segment] = []
    for start, stop in zip(points, points[1:], strict=False):
        state = _union(g.state_at(start) for g in grants)
        if state == "none":
            continue
        if segments and segments[-1].state == state and segments[-1].end == start:
            last = segments.pop()
            start = last.start
        segments.append(scale.segment(state, start, stop, future=True))
    return segments


def _upcoming(grants: list[Grant], now: datetime, until: datetime, scale: _Scale) -> list[Marker]:
    markers = []
    for grant in grants:
        if grant.never_opens:
            continue
        if grant.opens is not None and now < grant.opens <= until:
            label = f"opens {grant.opens:%Y-%m-%d %H:%M} ({grant.scheduled or grant.source_label})"
            markers.append(Marker("opens", grant.opens, scale.left(grant.opens), label))
        if grant.closes is not None and now < grant.closes <= until and grant.state_at(now) != PENDING:
            label = f"ends {grant.closes:%Y-%m-%d %H:%M} ({grant.close_reason or 'its source ends'})"
            markers.append(Marker("closes", grant.closes, scale.left(grant.closes), label))
    return sorted(markers, key=lambda m: m.at)


def _union(states) -> str:
    states = set(states)
    if OPEN in states:
        return OPEN
    if SUSPENDED in states:
        return SUSPENDED
    return "none"


def _ticks(begin: datetime, end: datetime, scale: _Scale) -> list[Tick]:
    """Dates along the axis: month starts over a long span, week starts over a shorter one, else days."""
    span = end - begin
    if span > timedelta(days=120):
        step_months = max(1, round(span.days / 30 / 6))
        moment = datetime(begin.year, begin.month, 1, tzinfo=UTC)
        ticks = []
        while moment <= end:
            if moment >= begin:
                ticks.append(Tick(moment, scale.left(moment), f"{moment:%Y-%m-%d}"))
            month = moment.month - 1 + step_months
            moment = moment.replace(year=moment.year + month // 12, month=month % 12 + 1)
        return ticks
    step = timedelta(days=7) if span > timedelta(days=21) else timedelta(days=1)
    if span > timedelta(days=60):
        step = timedelta(days=14)
    moment = datetime(begin.year, begin.month, begin.day, tzinfo=UTC)
    if moment < begin:
        moment += timedelta(days=1)
    ticks = []
    while moment <= end:
        ticks.append(Tick(moment, scale.left(moment), f"{moment:%Y-%m-%d}"))
        moment += step
    return ticks


def member_timeline(explanation: Explanation) -> Timeline | None:
    """The member's timeline for her admin page, up to the moment her explanation is about (and now)."""
    member, now, at = explanation.member, explanation.now or clock.now(), explanation.at
    grants = [g for w in load_sources([member.pk], now).windows.get(member.pk, []) for g in grants_from_window(w)]
    titles = target_titles()
    starts = {(t.kind, t.id): (t.access_from, t.pushed_back) for t in explanation.targets if t.access_from is not None}
    return access_timeline(
        member_ledger(member=member), now=now, at=at, grants=grants, titles=titles, enrollment_starts=starts
    )
