"""Enrollments made in the LMS as sources of access for the reconciler: one query per batch of members."""

from __future__ import annotations

from datetime import datetime

from membersync import memo
from membersync.access.lms import LmsEnrollmentFacts, lms_window
from membersync.access.rules import Target
from membersync.sync.sources import LoadedSources

from .models import LmsEnrollment


@memo.scoped
def _any_lms_enrollment() -> bool:
    return LmsEnrollment.objects.exists()


def lms_sources(member_ids: list[int], now: datetime) -> LoadedSources:
    loaded = LoadedSources()
    if not _any_lms_enrollment():  # most sites have none: one cheap query instead of one over every member
        return loaded
    rows = LmsEnrollment.objects.filter(member_id__in=member_ids).values_list(
        "pk",
        "member_id",
        "target_kind",
        "target_id",
        "origin",
        "connection__name",
        "started_at",
        "ended_at",
        "ended_by",
    )
    for pk, member_id, kind, target_id, origin, site, started, ended, ended_by in rows:
        facts = LmsEnrollmentFacts(
            id=str(pk),
            target=Target(kind, target_id),
            start=started,
            origin=origin,
            site=site or "",
            end=ended,
            ended_by=ended_by,
        )
        loaded.windows.setdefault(member_id, []).append(lms_window(facts))
    return loaded
