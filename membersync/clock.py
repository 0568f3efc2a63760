"""The one clock. Nothing else in MemberSync reads the wall clock.

Production reads real time. Scenarios, tests and the what-if preview set it, and every service, the
reconciler and the worker see the same moment.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_state = threading.local()
_global_frozen: list[datetime | None] = [None]


def now() -> datetime:
    frozen = getattr(_state, "frozen", None) or _global_frozen[0]
    if frozen is not None:
        return frozen
    return datetime.now(UTC)


def set_time(moment: datetime | None) -> None:
    """Freeze the clock for every thread at `moment` (None lets real time run again)."""
    if moment is not None and moment.tzinfo is None:
        raise ValueError("the clock takes aware datetimes")
    _global_frozen[0] = moment


@contextmanager
def frozen_at(moment: datetime) -> Iterator[None]:
    """Freeze the clock at `moment` for this thread only, for the length of the block."""
    if moment.tzinfo is None:
        raise ValueError("the clock takes aware datetimes")
    previous = getattr(_state, "frozen", None)
    _state.frozen = moment
    try:
        yield
    finally:
        _state.frozen = previous


def elapsed() -> float:
    """Seconds on a monotonic counter, to time how long work takes (never the site's time: no one sets it)."""
    return time.perf_counter()
