"""What MemberSync's sources want each member to hold right now, computed as the reconciler does (sources ->
grants -> access at a moment) without writing anything: the adoption dry run and verify compare the site with it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from membersync import memo
from membersync.access.grants import OPEN, SUSPENDED, access_at, grants_from_window
from membersync.people.models import Member
from membersync.sync.sources import load_sources

ACTIVE = "active"
SUSPENDED_STATUS = "suspended"
BATCH = 1000

# (target kind, target id) -> (status, access_from, suspended_since)
Wanted = dict[tuple[str, str], tuple[str, datetime, datetime | None]]


def wanted_access(*, member_ids: list[int], now: datetime) -> dict[int, Wanted]:
    """member pk -> what she should hold at `now` (members who should hold nothing are absent)."""
    found: dict[int, Wanted] = {}
    for start in range(0, len(member_ids), BATCH):
        batch = member_ids[start : start + BATCH]
        with memo.scope():
            loaded = load_sources(batch, now)
        for member_id, windows in loaded.windows.items():
            grants = [g for w in windows for g in grants_from_window(w)]
            held: Wanted = {}
            for target, access in access_at(grants, now).items():
                if access.state == OPEN:
                    held[(target.kind, target.id)] = (ACTIVE, access.access_from, None)
                elif access.state == SUSPENDED:
                    held[(target.kind, target.id)] = (SUSPENDED_STATUS, access.access_from, access.suspended_since)
            if held:
                found[member_id] = held
    return found


def all_member_ids() -> Iterator[int]:
    return iter(Member.objects.order_by("pk").values_list("pk", flat=True))
