"""The one contract of every write service: typed input in, a `ServiceResult` out.

A result says what the service did: applied (with the record it made or changed, and the members whose access
it touched) or recognised a duplicate and did nothing new. A refusal is never a result: it is a ServiceError
(membersync/errors.py) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

APPLIED = "applied"
DUPLICATE = "duplicate"
OUTCOMES = (APPLIED, DUPLICATE)


@dataclass(frozen=True, slots=True)
class Applied(Generic[T]):
    """What applying an event returns to the engine: the members to reconcile and the record it made or changed."""

    members: Iterable[int] = ()
    value: T | None = None


@dataclass(frozen=True, slots=True)
class ServiceResult(Generic[T]):
    outcome: str
    event_id: int | None = None
    value: T | None = None
    members: tuple[int, ...] = field(default=())

    @property
    def duplicate(self) -> bool:
        """A delivery seen before: nothing new was applied."""
        return self.outcome == DUPLICATE

    @property
    def applied(self) -> bool:
        return self.outcome == APPLIED
