"""The durable outbox: workers lease due operations, hand them to their sink, and record the outcome.

Order, per member and sink. Every operation states the member's whole wanted state for its sink, so only the
latest one matters:
- a worker leases only a member's latest pending operation for a sink, and only while no older one of hers is
  leased by another worker whose lease is still running (that worker may be applying it right now);
- leasing it marks her older pending operations superseded: they are never applied after it;
- a worker records its result only if it still holds the lease when it is done. A transactional sink's writes
  commit in that same transaction, so a late worker's writes roll back; a remote sink's result is discarded
  (its calls are idempotent, and its timeout ends a call well inside the lease, sync/checks.py).

A lease is a time-limited claim written in the transaction that selected the rows (FOR UPDATE SKIP LOCKED on
PostgreSQL; SQLite's IMMEDIATE transactions serialise writers), so two workers never take the same operation,
and one killed mid-way leaves only a lease that expires and lets another worker take over.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery

from membersync import clock, memo
from membersync.correlation import correlation_bound

from .mirror import mirror_write
from .models import Operation
from .sinks import Outcome, Sink, sinks_all

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """The worker's lease ran out before it finished: another worker may have taken over."""


# How long operations wait before trying a site that refused the credentials again.
HOLD_RECHECK = timedelta(minutes=5)


def backoff(attempts: int) -> timedelta:
    """Exponential: 10 s, 20 s, 40 s ... capped at one hour."""
    return timedelta(seconds=min(10 * 2 ** (attempts - 1), 3600))


def _same_member_and_sink() -> dict:
    return {"member_id": OuterRef("member_id"), "sink": OuterRef("sink"), "status": Operation.PENDING}


def operations_lease(
    *, sink: str, worker: str, now: datetime, limit: int, lease_seconds: float | None = None
) -> list[Operation]:
    """Claim up to `limit` due operations of `sink` for `worker`, oldest first, each the latest of its member,
    and mark the older pending operations of those members superseded."""
    pending = Operation.objects.filter(**_same_member_and_sink())
    due = (
        Operation.objects.select_for_update(skip_locked=True)
        .filter(sink=sink, status=Operation.PENDING, next_attempt_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
        .exclude(Exists(pending.filter(pk__gt=OuterRef("pk"))))
        .exclude(Exists(pending.filter(pk__lt=OuterRef("pk"), leased_until__gt=now)))
        .order_by("pk")
        .values("pk")[:limit]
    )
    table = connection.ops.quote_name(Operation._meta.db_table)
    lease = timedelta(seconds=lease_seconds or settings.OUTBOX_LEASE_SECONDS)
    lease_until = connection.ops.adapt_datetimefield_value(now + lease)
    wanted_field = Operation._meta.get_field("wanted")
    with transaction.atomic(), connection.cursor() as cursor:
        due_sql, due_params = due.query.sql_with_params()  # FOR UPDATE compiles only inside a transaction
        cursor.execute(
            f"UPDATE {table} SET leased_until = %s, leased_by = %s WHERE id IN ({due_sql}) "
            "RETURNING id, member_id, sink, wanted, result_digest, attempts, correlation_id",
            [lease_until, worker, *due_params],
        )
        rows = cursor.fetchall()
        leased = [
            Operation(
                pk=pk,
                member_id=member_id,
                sink=sink_name,
                wanted=wanted_field.from_db_value(wanted, None, connection),
                result_digest=digest,
                attempts=attempts,
                leased_by=worker,
                correlation_id=correlation,
            )
            for pk, member_id, sink_name, wanted, digest, attempts, correlation in rows
        ]
        if leased:
            _supersede_older(sink, leased, now)
    return sorted(leased, key=lambda op: op.pk)


def _supersede_older(sink: str, leased: list[Operation], now: datetime) -> None:
    """Mark superseded every pending operation older than a just-leased one of the same member and sink."""
    newer = Subquery(
        Operation.objects.filter(pk__in=[op.pk for op in leased], member_id=OuterRef("member_id"), sink=sink).values(
            "pk"
        )[:1]
    )
    Operation.objects.filter(
        sink=sink, status__in=Operation.UNFINISHED, member_id__in=[op.member_id for op in leased], pk__lt=newer
    ).update(status=Operation.SUPERSEDED, superseded_by=newer, done_at=now, leased_until=None)


def operations_run(*, worker: str, now: datetime, limit: int | None = None) -> int:
    """Lease and carry out one batch of due operations per sink; returns how many were done. A sink in shadow
    mode, or one whose site refuses its credentials, is given nothing (its operations wait, pending)."""
    done = 0
    with memo.scope():
        sinks = list(sinks_all().values())
    for sink in sinks:
        if sink.shadow or (sink.healthy is not None and not sink.healthy()):
            continue
        batch = min(limit or settings.OUTBOX_BATCH_SIZE, sink.batch_limit)
        leased = operations_lease(sink=sink.name, worker=worker, now=now, limit=batch, lease_seconds=sink.lease_seconds)
        if leased:
            done += operations_apply(leased, sink=sink, worker=worker, now=now)
    return done


def operations_apply(leased: list[Operation], *, sink: Sink, worker: str, now: datetime) -> int:
    """Hand leased operations to their sink, the whole batch at once and, if that fails, one by one, so one
    bad operation holds back no other. Returns how many were done."""
    if sink.remote:
        return _remote_apply(leased, sink, worker, now)
    try:
        _apply_and_mark_done(leased, sink, worker, now)
        _log_traced(leased, "done")
        return len(leased)
    except LeaseLost:
        log.warning("worker %s lost its lease on %d operations; its result is discarded", worker, len(leased))
        return 0
    except Exception:
        log.exception("batch of %d operations failed; retrying them one by one", len(leased))
    done = 0
    for op in leased:
        try:
            _apply_and_mark_done([op], sink, worker, now)
            _log_traced([op], "done")
            done += 1
        except LeaseLost:
            log.warning("worker %s lost its lease on operation %d; its result is discarded", worker, op.pk)
        except Exception as error:  # a sink's failure is recorded on the operation, never lost
            _mark_failed(op, error, worker, now)
            _log_traced([op], f"failed: {type(error).__name__}: {error}")
    return done


def _apply_and_mark_done(operations: list[Operation], sink: Sink, worker: str, now: datetime) -> None:
    with transaction.atomic():
        sink.apply(operations, now)
        _mark_done(operations, worker, now)


def _remote_apply(leased: list[Operation], sink: Sink, worker: str, now: datetime) -> int:
    """A remote sink calls its site outside every transaction and answers for each operation; then one short
    transaction records what the site now holds (the mirror) and each operation's outcome, for the operations
    this worker still holds (a late worker's result is discarded)."""
    try:
        outcomes = sink.apply(leased, now)
        if outcomes is None:  # a sink that reports no outcomes did everything, and keeps no mirror
            outcomes = {op.pk: Outcome(holds=None) for op in leased}
    except Exception as error:  # the sink failed as a whole: every operation is retried
        log.exception("sink %s failed on a batch of %d operations", sink.name, len(leased))
        outcomes = {op.pk: Outcome(holds=None, error=f"{type(error).__name__}: {error}") for op in leased}
    recorded_at = clock.now()
    with transaction.atomic():
        held = {pk for pk in _still_leased([op.pk for op in leased], worker).values_list("pk", flat=True)}
        lost = [op for op in leased if op.pk not in held]
        if lost:
            log.warning("worker %s lost its lease on %d operations; their results are discarded", worker, len(lost))
        mine = [op for op in leased if op.pk in held]
        missing = Outcome(holds=None, error="the sink gave no outcome for this operation")
        results = {op.pk: outcomes.get(op.pk, missing) for op in mine}
        mirror_write(
            sink=sink.name,
            holdings={op.member_id: results[op.pk].holds for op in mine if results[op.pk].holds is not None},
            now=recorded_at,
        )
        done = [op for op in mine if results[op.pk].done]
        _still_leased([op.pk for op in done], worker).update(
            status=Operation.DONE, done_at=now, leased_until=None, attempts=F("attempts") + 1, last_error=""
        )
        for op in mine:
            if not results[op.pk].done:
                _record_failure(op, results[op.pk], worker, now)
    for op in mine:
        _log_traced([op], "done" if results[op.pk].done else f"not done: {results[op.pk].error}")
    return len(done)


def _record_failure(op: Operation, outcome: Outcome, worker: str, now: datetime) -> None:
    if outcome.hold:  # the credentials were refused: wait for them to work again, no attempt counted
        _still_leased([op.pk], worker).update(
            next_attempt_at=now + HOLD_RECHECK, leased_until=None, last_error=outcome.error[:2000]
        )
        return
    attempts = op.attempts + 1
    dead = not outcome.retry or attempts >= settings.OUTBOX_MAX_ATTEMPTS
    wait = backoff(attempts)
    if outcome.retry_after is not None:
        wait = max(wait, timedelta(seconds=outcome.retry_after))
    wait += wait * random.uniform(0, 0.2)  # jitter: many members' retries do not land on the site at once
    _still_leased([op.pk], worker).update(
        attempts=attempts,
        status=Operation.DEAD if dead else Operation.PENDING,
        next_attempt_at=now + wait,
        leased_until=None,
        last_error=outcome.error[:2000],
    )


def _still_leased(ids: list[int], worker: str):
    """The operations among `ids` this worker still holds: pending, leased by it, and the lease running now."""
    return Operation.objects.filter(
        pk__in=ids, status=Operation.PENDING, leased_by=worker, leased_until__gt=clock.now()
    )


def _mark_done(operations: list[Operation], worker: str, now: datetime) -> None:
    ids = [op.pk for op in operations]
    marked = _still_leased(ids, worker).update(
        status=Operation.DONE, done_at=now, leased_until=None, attempts=F("attempts") + 1
    )
    if marked != len(ids):
        raise LeaseLost  # rolls back the transaction: a transactional sink's writes with it


def _log_traced(operations: list[Operation], what: str) -> None:
    """One line per operation that a request or delivery caused, under its correlation id (a resync's are not
    logged one by one)."""
    for op in operations:
        if op.correlation_id:
            with correlation_bound(op.correlation_id):
                log.info("operation %s for member %s on %s: %s", op.pk, op.member_id, op.sink, what)


def _mark_failed(op: Operation, error: Exception, worker: str, now: datetime) -> None:
    attempts = op.attempts + 1
    dead = attempts >= settings.OUTBOX_MAX_ATTEMPTS
    _still_leased([op.pk], worker).update(
        attempts=attempts,
        status=Operation.DEAD if dead else Operation.PENDING,
        next_attempt_at=now + backoff(attempts),
        leased_until=None,
        last_error=f"{type(error).__name__}: {error}"[:2000],
    )


def operations_retry_now(*, operation_ids: Iterable[int], now: datetime, worker: str) -> tuple[int, int]:
    """An operator's "retry now": make these unfinished operations due now (a dead one gets another chance),
    then run one pass of the outbox.

    Returns (how many were made due, how many operations the pass carried out). An operation leased by a live
    worker keeps its lease: it is being tried right now. One that a newer operation of the same member and
    sink has replaced is superseded instead: applying it would take her back to an older state.
    """
    newer = Operation.objects.filter(
        member_id=OuterRef("member_id"), sink=OuterRef("sink"), pk__gt=OuterRef("pk")
    ).exclude(status=Operation.SUPERSEDED)
    with transaction.atomic():
        chosen = Operation.objects.filter(pk__in=list(operation_ids)).exclude(
            status__in=(Operation.DONE, Operation.SUPERSEDED, Operation.HELD)  # held: an operator releases those
        )
        chosen.filter(Exists(newer)).update(
            status=Operation.SUPERSEDED, superseded_by=Subquery(newer.order_by("-pk").values("pk")[:1]), done_at=now
        )
        requeued = chosen.update(status=Operation.PENDING, next_attempt_at=now)  # those left: none is newer
    done = operations_run(worker=worker, now=now) if requeued else 0
    return requeued, done
