"""The events and checks a scenario file may use. Each capability registers its own (see events_*.py).

An event handler gets the step's fields (plain values, dates already parsed) and a `Context`, and calls the
same service the API, the admin and webhooks call. A check handler returns (expected, found) pairs to compare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from membersync.actors import Actor
from membersync.errors import CATALOGUE


@dataclass
class Context:
    now: datetime
    tz: ZoneInfo
    actor: Actor = field(default_factory=lambda: Actor.system("scenario"))  # a member when the step has `as:`
    as_member: str | None = None


@dataclass(frozen=True)
class EventSpec:
    handler: Callable[[dict, Context], object]
    required: frozenset[str]
    optional: frozenset[str] = field(default_factory=frozenset)


# The error codes a file may expect: FORMAT.md's ("Additions (turn 2)"), all in the product's one catalogue
# (membersync/errors.py, docs/ERRORS.md), which may have more. A file expecting any other code is refused: no
# service can raise it, so the step could never pass.
FORMAT_ERROR_CODES = frozenset(
    {
        "invalid_status",
        "subscription_tied",
        "forbidden",
        "seats_in_use",
        "no_free_seat",
        "already_has_seat",
        "not_found",
        "invalid_value",
        "license_revoked",
        "duplicate_id",
        "stale",
    }
)
ERROR_CODES = FORMAT_ERROR_CODES | frozenset(CATALOGUE)

EVENTS: dict[str, EventSpec] = {}
# Events that a later capability adds: named here so the runner can say so instead of "unknown".
LATER_EVENTS: dict[str, str] = {}
MEMBER_CHECKS: dict[str, Callable] = {}
ORG_CHECKS: dict[str, Callable] = {}


def event(name: str, *, required: tuple[str, ...] = (), optional: tuple[str, ...] = ()):
    def register(handler):
        EVENTS[name] = EventSpec(handler, frozenset(required), frozenset(optional))
        return handler

    return register


def member_check(name: str):
    def register(handler):
        MEMBER_CHECKS[name] = handler
        return handler

    return register


def org_check(name: str):
    def register(handler):
        ORG_CHECKS[name] = handler
        return handler

    return register
