"""The worker: carries out due operations and wakes members whose access changes by itself (drips, ends)."""

from __future__ import annotations

import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Min

from membersync import clock, memo, wiring
from membersync.actors import Actor

from .models import MemberAccess, Operation
from .outbox import operations_run
from .reconciler import Cause, members_reconcile
from .sinks import sinks_all

log = logging.getLogger(__name__)
WAKE_BATCH = 1000


@dataclass
class TickReport:
    deliveries_applied: int = 0
    members_woken: int = 0
    operations_done: int = 0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_tick(*, now: datetime, worker: str | None = None) -> TickReport:
    """One pass: apply the deliveries that came in, wake every member due by `now`, then carry out every
    operation due by `now`."""
    worker = worker or worker_name()
    report = TickReport()
    for job in wiring.inbound_jobs():
        while applied := job(now=now, worker=worker):
            report.deliveries_applied += applied
    for job in wiring.periodic_jobs():
        job(now=now, worker=worker)
    while True:
        due = list(
            MemberAccess.objects.filter(next_change_at__lte=now)
            .order_by("next_change_at")
            .values_list("member_id", flat=True)[:WAKE_BATCH]
        )
        if not due:
            break
        members_reconcile(member_ids=due, now=now, cause=Cause("schedule (the clock)", Actor.clock()))
        report.members_woken += len(due)
    while True:
        done = operations_run(worker=worker, now=now)
        if not done:
            break
        report.operations_done += done
    return report


def next_due(after: datetime | None = None) -> datetime | None:
    """The earliest moment at which the worker has something to do."""
    wake = MemberAccess.objects.aggregate(t=Min("next_change_at"))["t"]
    with memo.scope():
        sending = [sink.name for sink in sinks_all().values() if not sink.shadow]  # shadow sinks are sent nothing
    retry = Operation.objects.filter(status=Operation.PENDING, sink__in=sending).aggregate(t=Min("next_attempt_at"))[
        "t"
    ]
    moments = [t for t in (wake, retry) if t is not None and (after is None or t > after)]
    return min(moments, default=None)


def worker_run_until(moment: datetime) -> TickReport:
    """Do all due work in time order up to `moment`, moving the clock through each due instant.

    This is how scenarios and the what-if preview let time pass: exactly the production worker logic, run at
    the moments it would have run.
    """
    total = TickReport()
    while True:
        due = next_due()
        if due is None or due > moment:
            break
        clock.set_time(due)
        tick = worker_tick(now=due)
        total.deliveries_applied += tick.deliveries_applied
        total.members_woken += tick.members_woken
        total.operations_done += tick.operations_done
    clock.set_time(moment)
    tick = worker_tick(now=moment)
    total.deliveries_applied += tick.deliveries_applied
    total.members_woken += tick.members_woken
    total.operations_done += tick.operations_done
    return total


def worker_forever(*, poll_seconds: float = 2.0, stop_after: int | None = None) -> None:
    worker = worker_name()
    log.info("worker %s started", worker)
    ticks = 0
    while stop_after is None or ticks < stop_after:
        report = worker_tick(now=clock.now(), worker=worker)
        if report.deliveries_applied or report.members_woken or report.operations_done:
            log.info(
                "applied %d deliveries, woke %d members, did %d operations",
                report.deliveries_applied,
                report.members_woken,
                report.operations_done,
            )
        ticks += 1
        time.sleep(poll_seconds)
