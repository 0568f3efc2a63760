"""The ledger entries the reconciler writes when a grant changes state: opened, suspended, resumed, closed,
scheduled. Each entry says when the change took effect, why, and what caused it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from membersync import clock
from membersync.access.grants import CLOSED, OPEN, PENDING, SUSPENDED, Grant
from membersync.actors import Actor

from .models import LedgerEntry


@dataclass(frozen=True)
class Cause:
    """Why the reconciler ran: what the ledger records as cause and actor."""

    description: str
    actor: Actor
    event_id: int | None = None


LEDGER_COLUMNS = [
    "member_id",
    "at",
    "recorded_at",
    "action",
    "grant_key",
    "target_kind",
    "target_id",
    "source_kind",
    "source_id",
    "reason",
    "cause",
    "actor",
    "event_id",
]


def _since(grant: Grant, state: str, now: datetime) -> datetime:
    """When the grant entered its current state."""
    if state == CLOSED and grant.closes is not None:
        return grant.closes
    if state == SUSPENDED:
        return max(p.start for p in grant.suspensions if p.contains(now))
    if state == OPEN:
        resumed = [p.end for p in grant.suspensions if p.end is not None and p.end <= now]
        return max([grant.opens, *resumed]) if grant.opens else now
    return now


def ledger_transition(member_id: int, grant: Grant, before: str | None, after: str, now: datetime, cause: Cause):
    """The ledger entries for a grant moving from `before` to `after` (before None: first seen)."""
    if before == after:
        # Same state, but its window moved (a pause pushed a drip or an end back): record the new schedule.
        if after == PENDING and grant.opens is not None:
            yield _entry(member_id, grant, LedgerEntry.SCHEDULED, now, f"now opens {grant.opens:%Y-%m-%d %H:%M}", cause)
        return
    at = _since(grant, after, now)
    if after == PENDING:
        when = f"opens {grant.opens:%Y-%m-%d %H:%M}" if grant.opens else "opens after the pause ends"
        yield _entry(member_id, grant, LedgerEntry.SCHEDULED, now, f"{grant.why}; {when}", cause)
    elif after == OPEN:
        action = LedgerEntry.RESUMED if before == SUSPENDED else LedgerEntry.OPENED
        yield _entry(member_id, grant, action, at, grant.why, cause)
    elif after == SUSPENDED:
        if before in (None, PENDING):
            yield _entry(member_id, grant, LedgerEntry.OPENED, grant.opens or at, grant.why, cause)
        pause = next(p for p in grant.suspensions if p.contains(now))
        yield _entry(member_id, grant, LedgerEntry.SUSPENDED, at, pause.reason or "its source was paused", cause)
    elif after == CLOSED:
        opened_unseen = before in (None, PENDING) and grant.opens is not None and grant.opens < at
        if opened_unseen:
            yield _entry(member_id, grant, LedgerEntry.OPENED, grant.opens, grant.why, cause)
        if opened_unseen or before in (OPEN, SUSPENDED):
            yield _entry(member_id, grant, LedgerEntry.CLOSED, at, grant.close_reason or "its source ended", cause)


def ledger_vanished_entry(member_id: int, key: str, record: tuple, now: datetime, cause: Cause) -> tuple:
    source_kind, source_id, _ = key.split(":", 2)
    return (
        member_id,
        now,
        clock.now(),
        LedgerEntry.CLOSED,
        key,
        record[4],
        record[5],
        source_kind,
        source_id,
        "its source was deleted",
        cause.description[:200],
        str(cause.actor)[:200],
        cause.event_id,
    )


def _entry(member_id: int, grant: Grant, action: str, at: datetime, reason: str, cause: Cause) -> tuple:
    """A ledger row, in LEDGER_COLUMNS order."""
    return (
        member_id,
        at,
        clock.now(),
        action,
        grant.key,
        grant.target.kind,
        grant.target.id,
        grant.source_kind,
        grant.source_id,
        reason[:400],
        cause.description[:200],
        str(cause.actor)[:200],
        cause.event_id,
    )
