"""Each connected LearnDash site is a sink of its own (wiring.sink_providers)."""

from __future__ import annotations

from membersync.people.models import LEARNDASH, Connection
from membersync.people.selectors import connections_of_kind
from membersync.sync.sinks import Sink

SINK_PREFIX = "learndash:"


def sink_name(connection: Connection) -> str:
    return f"{SINK_PREFIX}{connection.name}"


def learndash_sinks() -> list[Sink]:
    connections = connections_of_kind(LEARNDASH)
    if not connections:
        return []
    from .sink import learndash_sink  # the HTTP side is loaded only when a site is connected

    return [learndash_sink(connection) for connection in connections]
