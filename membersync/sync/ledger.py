"""The ledger entries the reconciler writes when a grant changes state: opened, suspended, resumed, closed,
scheduled, withdrawn. Each entry says when the change took effect, why, and what caused it.

- A grant that opens by time alone (a drip, a date, the trial's end) has time as its cause ("scheduled: drip of
  plan gold", by the clock), whichever event or wake-up made the reconciler notice it.
- A scheduled grant whose source changed so that it can no longer open (its source now ends before the drip, or
  ended while it waited) is `withdrawn`; one that can open again is `scheduled` anew.
- A pending grant whose window changed without changing when it opens gets no entry: nothing changed for her.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from membersync import clock
from membersync.access.grants import CLOSED, OPEN, PENDING, SUSPENDED, Grant
from membersync.actors import Actor

from .models import GrantRecord, LedgerEntry

# A scheduled grant that will not open after all. LedgerEntry.action is free text; sync/models.py has no
# constant for this one (yet), so it lives here.
WITHDRAWN = "withdrawn"


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

# (opens, closes) of a grant as last recorded (its GrantRecord's opens_at, closes_at)
Window = tuple[datetime | None, datetime | None]


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


def _can_open(window: Window) -> bool:
    """A recorded window that could still open: it has no end, or opens before it (or waits on a pause)."""
    opens, closes = window
    return opens is None or closes is None or opens < closes


def _recorded_window(member_id: int, key: str) -> Window | None:
    row = GrantRecord.objects.filter(member_id=member_id, key=key).values_list("opens_at", "closes_at").first()
    return tuple(row) if row is not None else None


def ledger_transition(
    member_id: int,
    grant: Grant,
    before: str | None,
    after: str,
    now: datetime,
    cause: Cause,
    previous: Window | None = None,
):
    """The ledger entries for a grant moving from `before` to `after` (before None: first seen).

    `previous` is the grant's window as last recorded, (opens, closes). It matters only for a grant that was
    pending; when the caller does not pass it, it is read from the grant's record (which the reconciler updates
    after writing the ledger), one query for such a grant.
    """
    if before == PENDING and previous is None and _needs_previous(grant, after, now):
        previous = _recorded_window(member_id, grant.key)
    opened_cause = _opening_cause(grant, before, previous, cause)
    if before == after:
        if after == PENDING:
            yield from _rescheduled(member_id, grant, previous, now, cause)
        return
    at = _since(grant, after, now)
    if after == PENDING:
        if grant.never_opens:
            if before is not None:
                yield _entry(member_id, grant, WITHDRAWN, now, _withdrawn(grant), cause)
            return
        yield _entry(member_id, grant, LedgerEntry.SCHEDULED, now, f"{grant.why}; {grant.opening()}", cause)
    elif after == OPEN:
        if before == SUSPENDED:
            yield _entry(member_id, grant, LedgerEntry.RESUMED, at, grant.why, cause)
        else:
            yield _entry(member_id, grant, LedgerEntry.OPENED, at, grant.why, opened_cause)
    elif after == SUSPENDED:
        if before in (None, PENDING):
            yield _entry(member_id, grant, LedgerEntry.OPENED, grant.opens or at, grant.why, opened_cause)
        pause = next(p for p in grant.suspensions if p.contains(now))
        yield _entry(member_id, grant, LedgerEntry.SUSPENDED, at, pause.reason or "its source was paused", cause)
    elif after == CLOSED:
        opened_unseen = before in (None, PENDING) and grant.opens is not None and grant.opens < at
        if opened_unseen:
            yield _entry(member_id, grant, LedgerEntry.OPENED, grant.opens, grant.why, opened_cause)
        if opened_unseen or before in (OPEN, SUSPENDED):
            yield _entry(member_id, grant, LedgerEntry.CLOSED, at, grant.close_reason or "its source ended", cause)
        elif before == PENDING and (previous is None or _can_open(previous)):
            reason = f"{grant.why}; withdrawn: its source ended ({grant.close_reason or 'no reason given'})"
            yield _entry(member_id, grant, WITHDRAWN, at, reason, cause)


def _needs_previous(grant: Grant, after: str, now: datetime) -> bool:
    """Whether a pending grant's transition depends on its recorded window: to tell a new schedule or a
    withdrawal from no change, or a start it was waiting for from one an event just set."""
    if after == PENDING:
        return True
    if after == CLOSED and not (grant.opens is not None and grant.closes is not None and grant.opens < grant.closes):
        return True
    return not grant.scheduled


def _rescheduled(member_id: int, grant: Grant, previous: Window | None, now: datetime, cause: Cause):
    """A pending grant whose window changed: withdrawn, scheduled anew, or (when it opens as before) nothing."""
    could = previous is None or _can_open(previous)
    if grant.never_opens:
        if could:
            yield _entry(member_id, grant, WITHDRAWN, now, _withdrawn(grant), cause)
        return
    if could and previous is not None and previous[0] == grant.opens:
        return  # it opens when it would have: only its end moved, which closing will record
    yield _entry(member_id, grant, LedgerEntry.SCHEDULED, now, f"now {grant.opening()}", cause)


def _withdrawn(grant: Grant) -> str:
    return f"{grant.why}; withdrawn: it never opens, because {grant.never_opens_because()}"


def _opening_cause(grant: Grant, before: str | None, previous: Window | None, cause: Cause) -> Cause:
    """What opened the grant: time, when its schedule (a drip, a date, the trial's end) or a start it was already
    waiting for opened it; else whatever the reconciler was woken by."""
    if grant.scheduled:
        return Cause(f"scheduled: {grant.scheduled}", Actor.clock())
    if before == PENDING and previous is not None and previous[0] is not None and previous[0] == grant.opens:
        return Cause(f"scheduled: start of {grant.source_label}", Actor.clock())
    return cause


def ledger_vanished_entry(member_id: int, key: str, record: tuple, now: datetime, cause: Cause) -> tuple:
    """The entry for a grant whose source is gone: closed if it was open or suspended, withdrawn if it was still
    pending (record: the GrantRecord's (pk, state, opens_at, closes_at, target_kind, target_id))."""
    source_kind, source_id, _ = key.split(":", 2)
    pending = record[1] == PENDING
    return (
        member_id,
        now,
        clock.now(),
        WITHDRAWN if pending else LedgerEntry.CLOSED,
        key,
        record[4],
        record[5],
        source_kind,
        source_id,
        "withdrawn: its source was deleted" if pending else "its source was deleted",
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
