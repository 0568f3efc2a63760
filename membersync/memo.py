"""Reads that stay the same for the length of one unit of work (one event, one reconcile batch).

The catalog (plans and their rules, groups and their courses) is read by the service that applies an event and
again by the reconciler it runs: inside `memo.scope()` each is read once. Outside a scope nothing is kept, so a
long-lived process never serves a catalog another process changed since.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")
_local = threading.local()


@contextmanager
def scope() -> Iterator[None]:
    """Keep `scoped` reads for the length of the block (nested blocks share the outermost one's)."""
    if getattr(_local, "values", None) is not None:
        yield
        return
    _local.values = {}
    try:
        yield
    finally:
        _local.values = None


def forget() -> None:
    """Drop what the current scope has read, so its next reads read again: after a write inside the scope to
    something already read (the catalog an event changes), or around reads that must see a change rolled back later
    (a preview). Outside a scope there is nothing to forget."""
    values = getattr(_local, "values", None)
    if values is not None:
        values.clear()


def scoped(read: Callable[[], T]) -> Callable[[], T]:
    """A read without arguments, done once per scope (and every time outside one)."""

    @functools.wraps(read)
    def cached() -> T:
        values = getattr(_local, "values", None)
        if values is None:
            return read()
        if read not in values:
            values[read] = read()
        return values[read]

    return cached
