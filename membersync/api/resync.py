"""Resync jobs asked through the API: queued by a request, carried out by the worker (wiring.periodic_jobs),
which records how far it got after every batch so a client can follow it."""

from __future__ import annotations

import logging

from django.db import transaction

from membersync import clock
from membersync.actors import Actor
from membersync.errors import NotFound
from membersync.sync.resync import members_resync

from .models import ResyncJob

log = logging.getLogger(__name__)


def resync_job_create(*, actor: Actor, quick: bool = False) -> ResyncJob:
    """Queue a resync of every member (`quick`: only those whose access may differ from the LMS)."""
    return ResyncJob.objects.create(quick=quick, requested_by=str(actor)[:200], created_at=clock.now())


def resync_job_get(job_id: int) -> ResyncJob:
    found = ResyncJob.objects.filter(pk=job_id).first()
    if found is None:
        raise NotFound("resync job", job_id, field="job")
    return found


def resync_jobs_run(*, now, worker: str) -> int:
    """The worker's turn: claim the oldest queued job and carry it out. Returns how many jobs it ran (0 or 1)."""
    with transaction.atomic():
        job = ResyncJob.objects.select_for_update().filter(status=ResyncJob.QUEUED).order_by("pk").first()
        if job is None:
            return 0
        ResyncJob.objects.filter(pk=job.pk).update(status=ResyncJob.RUNNING, started_at=now)

    def progress(done: int, total: int) -> None:
        ResyncJob.objects.filter(pk=job.pk).update(done=done, total=total)

    try:
        report = members_resync(dry_run=False, actor=Actor.parse(job.requested_by), progress=progress, quick=job.quick)
    except Exception as error:  # recorded for the client to read; the worker goes on with its other work
        log.exception("resync job %s failed", job.pk)
        ResyncJob.objects.filter(pk=job.pk).update(
            status=ResyncJob.FAILED, finished_at=clock.now(), error=str(error)[:2000]
        )
        return 1
    ResyncJob.objects.filter(pk=job.pk).update(
        status=ResyncJob.DONE,
        finished_at=clock.now(),
        done=report.members,
        total=max(report.members, job.total),
        members_changed=report.members_changed,
    )
    return 1
