"""Reading a LearnDash site patiently (import, verify): a refused password stops at once, an unavailable site is
asked again with backoff (its Retry-After honoured), then the run stops saying where it will resume. Also the
small readers of the site's JSON (titles, dates)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

log = logging.getLogger(__name__)

ATTEMPTS = 4
BACKOFF_SECONDS = 2.0
MAX_WAIT_SECONDS = 120.0


class SiteStopped(Exception):
    """Reading the site cannot go on now: the message says why and what to do."""


@dataclass
class PatientReader:
    connection: str
    sleep: Callable[[float], None] = time.sleep
    attempts: int = ATTEMPTS
    max_wait: float = MAX_WAIT_SECONDS

    def call(self, call: Callable, *, where: str, then: str = ""):
        from membersync.clients.learndash import SiteAuthError, SiteUnavailable

        attempts = max(1, self.attempts)
        for attempt in range(1, attempts + 1):
            try:
                return call()
            except SiteAuthError as error:
                raise SiteStopped(
                    f"the site refused the application password {where}: {error} {then}".strip()
                ) from None
            except SiteUnavailable as error:
                wait = error.retry_after if error.retry_after is not None else BACKOFF_SECONDS * 2 ** (attempt - 1)
                if attempt == attempts or wait > self.max_wait:
                    tries = f"{attempt} {'try' if attempt == 1 else 'tries'}"
                    raise SiteStopped(
                        f"the site is unavailable {where}; stopped after {tries}: {error}. {then}".strip()
                    ) from None
                log.info("site %s unavailable %s, asking again in %g s", self.connection, where, wait)
                self.sleep(wait)
        raise AssertionError("unreachable")


def text_of(value) -> str:
    """A WordPress field that is a string or {"rendered": ..., "raw": ...}."""
    if isinstance(value, dict):
        value = value.get("raw") or value.get("rendered") or ""
    return str(value or "").strip()


def moment_of(value) -> datetime | None:
    """A site's date: ISO 8601 (GMT when it has no offset), or a unix timestamp; None when empty or 0."""
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        return datetime.fromtimestamp(int(value), tz=UTC)
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00").replace(" ", "T"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def enrolled_at_of(item: dict) -> datetime | None:
    """When a user was enrolled, as LearnDash 5.0+ lists it with a user's courses."""
    return moment_of(item.get("enrolled_at_gmt")) or moment_of(item.get("enrolled_at"))
