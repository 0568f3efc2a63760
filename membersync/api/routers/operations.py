"""The ledger (what opened, suspended, resumed or closed, and why), the outbox's operations, the inbox's events,
and resync jobs. Pages go by cursor: pass `after` the `next` of the page before."""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema, Status

from membersync import clock
from membersync.sync import selectors as sync_selectors
from membersync.sync.outbox import operations_retry_now

from .. import auth, selectors
from ..common import WRITE, Cursor, Limit, actor_of, answers, moment
from ..explain import LedgerOut, ledger_out
from ..resync import resync_job_create, resync_job_get

router = Router(tags=["ledger, operations, events"])


class LedgerPage(Schema):
    items: list[LedgerOut]
    next: int | None


class OperationOut(Schema):
    id: int
    member: str
    sink: str
    status: str
    changes: dict | list
    attempts: int
    next_attempt_at: datetime
    last_error: str
    created_at: datetime
    done_at: datetime | None


class OperationPage(Schema):
    items: list[OperationOut]
    next: int | None


class EventOut(Schema):
    id: int
    kind: str
    source: str
    actor: str
    outcome: str
    error: str
    occurred_at: datetime
    received_at: datetime
    payload: dict | list | None


class EventPage(Schema):
    items: list[EventOut]
    next: int | None


class RetryOut(Schema):
    requeued: int
    carried_out: int


class ResyncIn(Schema):
    quick: bool = False


class ResyncOut(Schema):
    id: int
    status: str
    quick: bool
    done: int
    total: int
    members_changed: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str


def _operation(op) -> dict:
    return {
        "id": op.pk,
        "member": op.member.external_id,
        "sink": op.sink,
        "status": op.status,
        "changes": op.changes,
        "attempts": op.attempts,
        "next_attempt_at": op.next_attempt_at,
        "last_error": op.last_error,
        "created_at": op.created_at,
        "done_at": op.done_at,
    }


def _event(event) -> dict:
    return {
        "id": event.pk,
        "kind": event.kind,
        "source": event.source,
        "actor": event.actor,
        "outcome": event.outcome,
        "error": event.error,
        "occurred_at": event.occurred_at,
        "received_at": event.received_at,
        "payload": event.payload,
    }


def _resync(job) -> dict:
    fields = ("status", "quick", "done", "total", "members_changed", "created_at", "started_at", "finished_at")
    return {"id": job.pk, "error": job.error, **{f: getattr(job, f) for f in fields}}


@router.get("/ledger", response=answers(LedgerPage), auth=auth.read, summary="The ledger")
def ledger(
    request,
    member: str = "",
    target: str = "",
    source: str = "",
    since: str | None = None,
    until: str | None = None,
    after: Cursor | None = None,
    limit: Limit = 100,
):
    """Filter by `member`, `target` (a course or group id), `source` (`kind` or `kind:id`, e.g. `membership:12`)
    and the moment each change took effect (`since` inclusive, `until` exclusive)."""
    found = selectors.member_get(member) if member else None
    entries, cursor = sync_selectors.ledger_page(
        member=found,
        target=target,
        source=source,
        since=moment(since, field="since"),
        until=moment(until, field="until"),
        after=after,
        limit=limit,
    )
    return {"items": [ledger_out(e, e.member.external_id) for e in entries], "next": cursor}


@router.get("/operations", response=answers(OperationPage), auth=auth.read, summary="The outbox")
def operations(request, status: str = "", member: str = "", after: Cursor | None = None, limit: Limit = 100):
    found = selectors.member_get(member) if member else None
    ops, cursor = sync_selectors.operations_page(status=status, member=found, after=after, limit=limit)
    return {"items": [_operation(op) for op in ops], "next": cursor}


@router.get("/operations/{operation}", response=answers(OperationOut), auth=auth.read, summary="An operation")
def operation_read(request, operation: Cursor):
    return _operation(sync_selectors.operation_get(operation_id=operation))


@router.post(
    "/operations/{operation}/retry",
    response=answers(RetryOut),
    auth=auth.admin,
    summary="Retry an operation now",
    url_name="operation_retry",
)
def operation_retry(request, operation: Cursor):
    """Make it due now (a dead one gets another chance) and run one pass of the outbox. Retrying twice is
    harmless, so no Idempotency-Key is taken: the pass calls the sinks, outside any transaction."""
    sync_selectors.operation_get(operation_id=operation)
    requeued, carried_out = operations_retry_now(
        operation_ids=[operation], now=clock.now(), worker=f"api:{actor_of(request).id}"
    )
    return {"requeued": requeued, "carried_out": carried_out}


@router.get("/events", response=answers(EventPage), auth=auth.read, summary="The inbox")
def events(request, kind: str = "", outcome: str = "", after: Cursor | None = None, limit: Limit = 100):
    found, cursor = sync_selectors.events_page(kind=kind, outcome=outcome, after=after, limit=limit)
    return {"items": [_event(e) for e in found], "next": cursor}


@router.get("/events/{event}", response=answers(EventOut), auth=auth.read, summary="An event")
def event_read(request, event: Cursor):
    return _event(sync_selectors.event_get(event_id=event))


@router.post("/resync", response=answers(ResyncOut, 202), auth=auth.admin, summary="Start a resync", **WRITE)
def resync_start(request, payload: ResyncIn):
    """Queued for the worker (`membersync worker`); follow it at /resync/{job}."""
    return Status(202, _resync(resync_job_create(actor=actor_of(request), quick=payload.quick)))


@router.get("/resync/{job}", response=answers(ResyncOut), auth=auth.read, summary="A resync's progress")
def resync_read(request, job: Cursor):
    return _resync(resync_job_get(job))
