"""Reads of a LearnDash site's catalog, for the sink, the commands and the admin."""

from __future__ import annotations

from membersync.people.models import Connection
from membersync.sync.selectors import sink_operations_waiting

from .models import GROUP, GROUP_LEADER, SiteTarget


def site_targets(*, connection: Connection) -> dict[tuple[str, str], SiteTarget]:
    """(kind, target_id) -> the linked SiteTarget, for every course and group of the site linked to MemberSync's
    catalog; a "group_leader" target uses its group's row. Unlinked rows are left out (never driven here)."""
    found: dict[tuple[str, str], SiteTarget] = {}
    for row in SiteTarget.objects.filter(connection=connection).exclude(target_id=""):
        found[(row.kind, row.target_id)] = row
        if row.kind == GROUP:
            found[(GROUP_LEADER, row.target_id)] = row
    return found


def site_targets_by_remote(*, connection: Connection) -> dict[tuple[str, int], SiteTarget]:
    """(kind, remote_id) -> SiteTarget, linked or not; kind "course" or "group"."""
    return {(row.kind, row.remote_id): row for row in SiteTarget.objects.filter(connection=connection)}


def site_operations(*, sink: str, limit: int = 100) -> tuple[list, list]:
    """(would send, held) of a site's sink: its pending operations (what shadow mode recorded, or what waits for the
    worker) and those the brake holds, newest first, with their members."""
    return sink_operations_waiting(sink=sink, limit=limit)
