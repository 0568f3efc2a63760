"""Operator actions on the outbox (the admin's "retry now")."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import transaction

from .models import Operation
from .outbox import operations_run


def operations_retry_now(*, operation_ids: Iterable[int], now: datetime, worker: str) -> tuple[int, int]:
    """Make these unfinished operations due now (a dead one gets another chance), then run one pass of the outbox.

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
