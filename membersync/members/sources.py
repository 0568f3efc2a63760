"""Memberships as sources of access for the reconciler."""

from __future__ import annotations

from datetime import datetime

from membersync.access.sources import membership_state
from membersync.catalog.selectors import plan_facts_all
from membersync.sync.sources import LoadedSources

from .models import Membership
from .notifications import notifications_for_status_changes
from .selectors import membership_facts_for


def membership_sources(member_ids: list[int], now: datetime) -> LoadedSources:
    loaded = LoadedSources()
    changed: list[tuple] = []  # (status, status_rule, status_at, pk), as status_writes takes them
    states: list[tuple] = []  # (pk, state): what the notifications read once the change is stored
    for member_id, memberships in membership_facts_for(member_ids, plan_facts_all()).items():
        windows = loaded.windows.setdefault(member_id, [])
        for stored in memberships:
            state = membership_state(stored.facts, now)
            windows.append(state.window)
            if (state.status, state.rule[:300]) != (stored.status, stored.status_rule):
                changed.append((state.status, state.rule[:300], now, stored.pk))
                states.append((stored.pk, state))
    loaded.status_writes.append((Membership, changed, ["status", "status_rule", "status_at"]))
    if changed:
        loaded.after_write.append(lambda: notifications_for_status_changes(states, now))
    return loaded
