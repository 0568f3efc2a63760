"""Where the reconciler finds a member's sources: the loaders named in membersync/wiring.py.

A loader takes member pks and the moment, and returns each member's source windows plus the derived statuses
it wants stored back (a membership's status, a license's status) so lists and filters can show them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import models

from membersync import wiring
from membersync.access.sources import SourceWindow


@dataclass
class LoadedSources:
    windows: dict[int, list[SourceWindow]] = field(default_factory=dict)
    # (model, rows, fields): each row is a tuple of the fields' new values followed by the pk (or a model
    # instance with them set); written with one executemany per model
    status_writes: list[tuple[type[models.Model], list, list[str]]] = field(default_factory=list)
    # Called by the reconciler once the status writes are stored (never in a dry run, never by explain): what
    # a stored status change sets off, such as a member notification.
    after_write: list[Callable[[], None]] = field(default_factory=list)


def load_sources(member_ids: Iterable[int], now: datetime) -> LoadedSources:
    member_ids = list(member_ids)
    merged = LoadedSources()
    for loader in wiring.source_loaders():
        loaded = loader(member_ids, now)
        for member_id, windows in loaded.windows.items():
            merged.windows.setdefault(member_id, []).extend(windows)
        merged.status_writes.extend(loaded.status_writes)
        merged.after_write.extend(loaded.after_write)
    return merged
