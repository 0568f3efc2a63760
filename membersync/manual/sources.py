"""Manual grants as sources of access for the reconciler: one query per batch of members."""

from __future__ import annotations

from datetime import datetime

from membersync import memo
from membersync.access.manual import ManualGrantFacts, manual_window
from membersync.access.rules import Target
from membersync.sync.sources import LoadedSources

from .models import ManualGrant


@memo.scoped
def _any_manual_grant() -> bool:
    return ManualGrant.objects.exists()


def manual_sources(member_ids: list[int], now: datetime) -> LoadedSources:
    loaded = LoadedSources()
    if not _any_manual_grant():
        return loaded
    for grant in ManualGrant.objects.filter(member_id__in=member_ids):
        facts = ManualGrantFacts(
            id=str(grant.pk),
            target=Target(grant.target_kind, grant.target_id),
            start=grant.starts_at,
            end=grant.ends_at,
            granted_by=grant.granted_by.partition(":")[2] or grant.granted_by,
            note=grant.note,
            ended_at=grant.ended_at,
            ended_by=grant.ended_by.partition(":")[2] or grant.ended_by,
        )
        loaded.windows.setdefault(grant.member_id, []).append(manual_window(facts))
    return loaded
