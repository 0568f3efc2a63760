"""What every client of a WordPress-based REST API reads the same way: list pages and their totals, and how long
a site asks to be left alone (Retry-After)."""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field

import httpx


@dataclass(frozen=True)
class Page:
    """One page of a list route. `total_pages` and `total` come from X-WP-TotalPages and X-WP-Total (None when
    the site, or a proxy in front of it, left them out)."""

    number: int
    total_pages: int | None
    total: int | None
    items: list[dict] = field(repr=False)

    @property
    def is_last(self) -> bool:
        return self.total_pages is None or self.number >= self.total_pages


def int_header(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name, "").strip()
    return int(value) if value.isdigit() else None


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds from now: a number of seconds or an HTTP date (RFC 9110); None when absent or
    unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.replace(".", "", 1).isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return max(0.0, moment.timestamp() - time.time())  # an HTTP date is wall-clock time by definition
