"""The dates a person may type into the admin and the portal: 1970-01-01 to 2200-12-31.

Schedules add durations to these moments; a date near the ends of Python's calendar (0001-01-01, 9999-12-31)
would overflow instead of meaning anything. Forms refuse them with an error that names the range.
"""

from __future__ import annotations

from datetime import date, datetime

from django import forms

EARLIEST = date(1970, 1, 1)
LATEST = date(2200, 12, 31)
RANGE = f"from {EARLIEST.isoformat()} to {LATEST.isoformat()}"


def out_of_range(value: date | datetime | None) -> str | None:
    """Why `value` is refused, or None when it is within the range (or empty)."""
    if value is None:
        return None
    day = value.date() if isinstance(value, datetime) else value
    if EARLIEST <= day <= LATEST:
        return None
    return f"{day.isoformat()} is out of range: enter a date {RANGE}."


class BoundedDateTimeField(forms.DateTimeField):
    def validate(self, value):
        super().validate(value)
        problem = out_of_range(value)
        if problem:
            raise forms.ValidationError(problem, code="out_of_range")
