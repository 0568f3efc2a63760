"""Reading a moment typed by a person (`explain --at`) or written in a scenario file (`at:`): an ISO 8601 date or
date-time, within the dates the admin and the portal accept (membersync/datebounds.py).

A date means 00:00 in the given time zone (UTC by default); a date-time without `Z` or an offset is in that time
zone too. Days outside EARLIEST..LATEST are refused: schedules add durations to these moments, and a moment near
the ends of Python's calendar (0001-01-01, 9999-12-31) would overflow instead of meaning anything.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, tzinfo

from membersync.datebounds import EARLIEST, LATEST, RANGE


class MomentError(ValueError):
    """Text that is not a date or date-time MemberSync accepts; the message says why."""


def parse_moment(value: object, tz: tzinfo | None = None) -> datetime:
    """An aware datetime from a date, a datetime, or their ISO 8601 text (`2026-01-01`, `2026-01-01T12:00Z`)."""
    zone = tz or UTC
    if isinstance(value, bool) or not isinstance(value, (str, date)):
        raise MomentError(f"{value!r} is not an ISO 8601 date or date-time")
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time(0))
    else:
        text = value.strip()
        try:
            if len(text) == 10:
                moment = datetime.combine(date.fromisoformat(text), time(0))
            else:
                moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise MomentError(f"{value!r} is not an ISO 8601 date or date-time") from None
    if not EARLIEST <= moment.date() <= LATEST:
        raise MomentError(f"{_show(value)} is out of range: MemberSync takes dates {RANGE}")
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def _show(value: object) -> str:
    return repr(value.isoformat()) if isinstance(value, date) else repr(value)
