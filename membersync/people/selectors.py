"""Reads of people and connections."""

from __future__ import annotations

from membersync import memo

from .models import Connection


@memo.scoped
def connections_all() -> list[Connection]:
    """Every connection, read once per memo scope (a reconcile batch, an outbox pass): each kind of sink picks its
    own from one query."""
    return list(Connection.objects.all())


def connections_of_kind(*kinds: str) -> list[Connection]:
    return [connection for connection in connections_all() if connection.kind in kinds]
