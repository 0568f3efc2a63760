"""The MemberSync companion plugin's routes on a LearnDash site (`/wp-json/membersync/v1/`), for the sink.

    client = CompanionClient("https://academy.example", "membersync", "abcd efgh ...", timeout=10)
    client.status()                         # CompanionStatus(version, queue_length, last_delivery_at, last_error)
    client.access_set(42, [AccessItem("course", 101, "suspended")])
    client.access_set(42, [AccessItem("course", 101, "active", access_from=datetime(...))])
    client.steps_set(42, 101, {205: StepDecision("locked", "Opens on day 14")})

The contract is the plugin's (wordpress/membersync-companion/readme.txt, docs/decisions "companion REST
contract"). It is a LearnDashClient: the same authentication (an application password over HTTP Basic, added by
the transport so no secret reaches a message, a log line or a repr), the same errors (SiteAuthError for 401/403,
SiteNotFound for a site without the plugin, SiteUnavailable, SiteRefused for a 400 naming the field) and no
retries. Per-item results are never errors: `AccessResult.ok` says whether the site now holds what was asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from .learndash import COMPANION_NAMESPACE, LearnDashClient, SiteError

KINDS = ("course", "group")
STATUSES = ("active", "suspended")
STEP_STATES = ("open", "locked", "hidden")
ACCESS_UPDATED = "membersync_access_updated"
NOT_ENROLLED = "membersync_not_enrolled"  # enroll through LearnDash's own REST first
INVALID_ID = "membersync_invalid_id"


@dataclass(frozen=True)
class CompanionStatus:
    version: str
    queue_length: int
    last_delivery_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class AccessItem:
    """One course or group for one user: active (from access_from, the drip clock, for a course) or suspended."""

    kind: str
    id: int
    status: str
    access_from: datetime | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)} (got {self.kind!r})")
        if isinstance(self.id, bool) or not isinstance(self.id, int) or self.id < 1:
            raise ValueError(f"id must be a LearnDash post id (got {self.id!r})")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)} (got {self.status!r})")
        if self.access_from is not None and (self.kind != "course" or self.status != "active"):
            raise ValueError("access_from is for an active course only (LearnDash keeps no drip clock otherwise)")
        if self.access_from is not None and self.access_from.tzinfo is None:
            raise ValueError("access_from must be an aware datetime")

    def as_json(self) -> dict:
        start = None if self.access_from is None else int(self.access_from.timestamp())
        return {"kind": self.kind, "id": self.id, "status": self.status, "access_from": start}


@dataclass(frozen=True)
class AccessResult:
    kind: str
    id: int
    ok: bool
    code: str
    message: str

    @property
    def not_enrolled(self) -> bool:
        return self.code == NOT_ENROLLED


@dataclass(frozen=True)
class StepDecision:
    state: str
    text: str = ""

    def __post_init__(self):
        if self.state not in STEP_STATES:
            raise ValueError(f"state must be one of {', '.join(STEP_STATES)} (got {self.state!r})")


class CompanionClient(LearnDashClient):
    """A LearnDash site with the companion plugin. Thread-safe like LearnDashClient."""

    def status(self) -> CompanionStatus:
        data = self._json_object("GET", self._path("status"), None)
        last = data.get("last_delivery_at")
        return CompanionStatus(
            version=str(data.get("version", "")),
            queue_length=int(data.get("queue_length") or 0),
            last_delivery_at=datetime.fromisoformat(last.replace("Z", "+00:00")).astimezone(UTC) if last else None,
            last_error=data.get("last_error") or None,
        )

    def access_set(self, user_id: int, items: Iterable[AccessItem]) -> list[AccessResult]:
        """Set a user's access to courses and groups; one result per item, in order."""
        items = list(items)
        if not items:
            return []
        data = self._json_object(
            "POST", self._path(f"users/{_positive(user_id)}/access"), None, body={"items": [i.as_json() for i in items]}
        )
        rows = data.get("items")
        if not isinstance(rows, list) or len(rows) != len(items):
            raise SiteError(f"the companion answered {len(items)} items with {rows!r}", url=self._site)
        return [
            AccessResult(
                kind=str(row.get("kind", item.kind)),
                id=int(row.get("id", item.id)),
                ok=row.get("status") == "success",
                code=str(row.get("code", "")),
                message=str(row.get("message", "")),
            )
            for item, row in zip(items, rows, strict=True)
        ]

    def steps_set(self, user_id: int, course: int, steps: Mapping[int, StepDecision]) -> int:
        """Replace a user's step decisions for a course; returns how many the site stored."""
        body = {
            "course": _positive(course),
            "steps": {str(_positive(step)): {"state": d.state, "text": d.text} for step, d in steps.items()},
        }
        data = self._json_object("POST", self._path(f"users/{_positive(user_id)}/steps"), None, body=body)
        return int(data.get("stored") or 0)

    @staticmethod
    def _path(route: str) -> str:
        return f"/wp-json/{COMPANION_NAMESPACE}/{route}"


def _positive(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"an id must be a positive integer (got {value!r})")
    return value
