"""The demo site: a small catalog and members in every state, loaded through the real services.

Loading is idempotent: each step checks whether its result already exists and skips it, so `membersync demo`
can run again on the same database. Each loader below adds one part of the site; another app adds its part
(e.g. organizations) by appending a loader to `LOADERS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from membersync import clock
from membersync.actors import Actor


@dataclass
class DemoContext:
    now: datetime
    # Day zero of the demo: member histories are written relative to it (times in the past replay with the clock
    # set back, the way scenarios do).
    anchor: datetime
    actor: Actor = field(default_factory=lambda: Actor.system("demo"))
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (who, username, password) to print
    created: dict[str, int] = field(default_factory=dict)  # what this run created, per kind

    def count(self, kind: str) -> None:
        self.created[kind] = self.created.get(kind, 0) + 1


DemoLoader = Callable[[DemoContext], None]


def _loaders() -> list[DemoLoader]:
    from .orgs import acme_load
    from .site import admin_user_load, catalog_load, members_load

    return [catalog_load, members_load, admin_user_load, acme_load, *EXTRA_LOADERS]


# Where a later part of MemberSync adds its share of the demo: loaders run in order after the built-in ones,
# each must be idempotent and write through its app's services.
EXTRA_LOADERS: list[DemoLoader] = []


def demo_load() -> DemoContext:
    now = clock.now()
    context = DemoContext(now=now, anchor=now.replace(hour=9, minute=0, second=0, microsecond=0))
    for loader in _loaders():
        loader(context)
    return context
