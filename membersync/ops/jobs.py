"""What the worker runs each pass for operations (wiring.periodic_jobs): its heartbeat, the operators' alerts
(once a minute) and retention (once an hour). Each job that has its own schedule is claimed by a conditional
update first, so of several workers one runs it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import F

from membersync.sync.stats import reconcile_totals

from .models import JobRun, WorkerHeartbeat

ALERTS_EVERY = timedelta(minutes=1)
RETENTION_EVERY = timedelta(hours=1)
HEARTBEATS_KEPT = timedelta(days=1)


def heartbeat_record(*, now: datetime, worker: str = "", **_) -> None:
    """The worker is alive: touch its row (made at its first pass), forget workers gone for a day."""
    totals = reconcile_totals()
    counted = {
        "reconciles": totals["reconciles"],
        "reconciled_members": totals["members"],
        "reconcile_seconds": totals["seconds"],
    }
    with transaction.atomic():
        touched = WorkerHeartbeat.objects.filter(worker=worker).update(seen_at=now, passes=F("passes") + 1, **counted)
        if not touched:
            WorkerHeartbeat.objects.create(worker=worker, started_at=now, seen_at=now, passes=1, **counted)
            WorkerHeartbeat.objects.filter(seen_at__lt=now - HEARTBEATS_KEPT).delete()


def job_claim(name: str, *, every: timedelta, now: datetime) -> bool:
    """Whether this caller runs job `name` now: it last ran at least `every` ago (or never) and no one else
    claimed it in between."""
    if JobRun.objects.filter(name=name, last_run_at__lte=now - every).update(last_run_at=now):
        return True
    if JobRun.objects.filter(name=name).exists():
        return False
    try:
        with transaction.atomic():
            JobRun.objects.create(name=name, last_run_at=now)
    except IntegrityError:  # another worker made it first
        return False
    return True


def ops_jobs_run(*, now: datetime, worker: str = "", **_) -> None:
    """The worker's periodic job: heartbeat every pass, alerts once a minute, retention once an hour."""
    from .alerts import alerts_check
    from .retention import retention_prune

    heartbeat_record(now=now, worker=worker)
    if job_claim("alerts", every=ALERTS_EVERY, now=now):
        alerts_check(now=now)
    if job_claim("retention", every=RETENTION_EVERY, now=now):
        retention_prune(now=now)
