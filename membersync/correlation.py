"""The correlation id: one token that follows a request or a webhook delivery through everything it causes (its
events, reconciles and the outbox operations they make), so one search of the logs finds them all.

A context variable, bound by the web middleware and the worker (ops/logs.py binds and prints it); the engine
stores it on the operations it makes, so the outbox can log under it later, in another process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

correlation_id: ContextVar[str] = ContextVar("membersync_correlation_id", default="")


@contextmanager
def correlation_bound(value: str) -> Iterator[str]:
    token = correlation_id.set(value)
    try:
        yield value
    finally:
        correlation_id.reset(token)


def correlation_current() -> str:
    return correlation_id.get()
