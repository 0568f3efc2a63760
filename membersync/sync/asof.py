"""Sources as of a moment: what `explain --at T` shows for each source, as it was in force at T.

The source loaders (wiring.source_loaders) give each source's window from its facts as they stand now, and its
status at the moment asked. For a past moment that is not what was in force then: a later delivery may have
changed a subscription's status, ended a membership, or made a source known that nobody knew of at T. A
`SourceHistory` rebuilds the sources of some kinds as they were known at T (the sources' apps know their own
history) and says what is known now that corrects them. Kinds no history covers are shown from their current
facts, their status read off their window.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from membersync.access.sources import SourceWindow


@dataclass(frozen=True)
class SourceAsOf:
    """A source at a moment: its window as known then, with the status it had then and the rule that set it.

    `details`: further lines in force then (the subscription it followed, and since when). `correction`: what a
    delivery that arrived later says about that moment ("was active then; a later delivery ... says it was
    already cancelled"). `known_then` False: nobody knew of the source then; only a later delivery told of it,
    so its grants were not in force then."""

    window: SourceWindow
    details: tuple[str, ...] = ()
    correction: str = ""
    known_then: bool = True


# (member pks, the moment asked, now) -> each member's sources of the kinds it covers, as of that moment
HistoryLoader = Callable[[list[int], datetime, datetime], dict[int, list[SourceAsOf]]]


@dataclass(frozen=True)
class SourceHistory:
    kinds: frozenset[str]
    load: HistoryLoader


def window_status(window: SourceWindow, at: datetime) -> tuple[str, str]:
    """A source's status at `at` read off its window, for sources whose loader sets none (seats, licenses):
    not started, active, suspended (a pause), or its end status once it ended ("none" for a license given to
    someone else: it is not hers any more)."""
    if window.status:
        return window.status, window.status_rule
    if at < window.start:
        return "not started", f"it starts {window.start:%Y-%m-%d %H:%M}"
    if window.end is not None and at >= window.end:
        status = window.end_status or "ended"
        if window.kind == "license" and status == "available":
            status = "none"
        return status, window.end_reason or "it ended"
    for pause in window.pauses:
        if pause.contains(at):
            return "suspended", pause.reason or f"paused since {pause.start:%Y-%m-%d %H:%M}"
    if window.kind == "seat":
        return "held", f"held since {window.start:%Y-%m-%d %H:%M}"
    return "active", f"assigned since {window.start:%Y-%m-%d %H:%M}"


def as_of_window(window: SourceWindow, at: datetime) -> SourceAsOf:
    """A source no history covers, shown from its current facts."""
    status, rule = window_status(window, at)
    return SourceAsOf(window=replace(window, status=status, status_rule=rule))
