"""The durable outbox: workers lease due operations, hand them to their sink, and record the outcome.

A lease is a time-limited claim written in the same transaction that selected the rows (FOR UPDATE SKIP LOCKED
on PostgreSQL; SQLite's IMMEDIATE transactions serialise writers), so two workers never take the same
operation, and one killed mid-way leaves only a lease that expires and lets another worker retry.
Operations state the result wanted, so a retry after a half-finished attempt changes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q

from membersync import wiring

from .models import Operation

log = logging.getLogger(__name__)


def backoff(attempts: int) -> timedelta:
    """Exponential: 10 s, 20 s, 40 s ... capped at one hour."""
    return timedelta(seconds=min(10 * 2 ** (attempts - 1), 3600))


def operations_lease(*, sink: str, worker: str, now: datetime, limit: int) -> list[Operation]:
    """Claim up to `limit` due operations for `worker`, oldest first, in one statement: UPDATE ... RETURNING
    over a SELECT that skips rows another worker is claiming (FOR UPDATE SKIP LOCKED on PostgreSQL)."""
    due = (
        Operation.objects.select_for_update(skip_locked=True)
        .filter(sink=sink, status=Operation.PENDING, next_attempt_at__lte=now)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
        .order_by("pk")
        .values("pk")[:limit]
    )
    table = connection.ops.quote_name(Operation._meta.db_table)
    lease_until = connection.ops.adapt_datetimefield_value(now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS))
    changes_field = Operation._meta.get_field("changes")
    with transaction.atomic(), connection.cursor() as cursor:
        due_sql, due_params = due.query.sql_with_params()  # FOR UPDATE compiles only inside a transaction
        cursor.execute(
            f"UPDATE {table} SET leased_until = %s, leased_by = %s WHERE id IN ({due_sql}) "
            "RETURNING id, member_id, sink, changes, result_digest, attempts",
            [lease_until, worker, *due_params],
        )
        rows = cursor.fetchall()
    leased = [
        Operation(
            pk=pk,
            member_id=member_id,
            sink=sink_name,
            changes=changes_field.from_db_value(changes, None, connection),
            result_digest=digest,
            attempts=attempts,
            leased_by=worker,
        )
        for pk, member_id, sink_name, changes, digest, attempts in rows
    ]
    return sorted(leased, key=lambda op: op.pk)


def operations_run(*, worker: str, now: datetime, limit: int = 500) -> int:
    """Lease and carry out due operations; returns how many were done."""
    done = 0
    for sink_name, apply in wiring.sinks().items():
        leased = operations_lease(sink=sink_name, worker=worker, now=now, limit=limit)
        if leased:
            done += _apply_batch(leased, apply, worker, now)
    return done


def _apply_batch(leased: list[Operation], apply: Callable[[list[Operation], datetime], None], worker: str, now):
    try:
        with transaction.atomic():
            apply(leased, now)
            _mark_done([op.pk for op in leased], worker, now)
        return len(leased)
    except Exception:
        log.exception("batch of %d operations failed; retrying them one by one", len(leased))
    done = 0
    for op in leased:
        try:
            with transaction.atomic():
                apply([op], now)
                _mark_done([op.pk], worker, now)
            done += 1
        except Exception as error:  # a sink's failure is recorded on the operation, never lost
            _mark_failed(op, error, now)
    return done


def _mark_done(ids: list[int], worker: str, now: datetime) -> None:
    Operation.objects.filter(pk__in=ids, leased_by=worker).update(
        status=Operation.DONE, done_at=now, leased_until=None, attempts=F("attempts") + 1
    )


def _mark_failed(op: Operation, error: Exception, now: datetime) -> None:
    attempts = op.attempts + 1
    dead = attempts >= settings.OUTBOX_MAX_ATTEMPTS
    Operation.objects.filter(pk=op.pk).update(
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
    worker keeps its lease: it is being tried right now.
    """
    with transaction.atomic():
        requeued = (
            Operation.objects.filter(pk__in=list(operation_ids))
            .exclude(status=Operation.DONE)
            .update(status=Operation.PENDING, next_attempt_at=now)
        )
    done = operations_run(worker=worker, now=now) if requeued else 0
    return requeued, done
