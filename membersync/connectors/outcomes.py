"""What applying one delivery did: its status (Delivery.STATUSES) and, in words, why."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Outcome:
    status: str
    text: str
    events: list[int] = field(default_factory=list)  # the events it made (sync.Event pks)
