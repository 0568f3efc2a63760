"""Durations in calendar units and the instants they lead to."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

UNITS = ("days", "weeks", "months", "years")
# The longest duration MemberSync takes: longer ones mean nothing for access and would run past year 9999.
MAX_YEARS = 200
_MAX_AMOUNT = {"days": MAX_YEARS * 366, "weeks": MAX_YEARS * 53, "months": MAX_YEARS * 12, "years": MAX_YEARS}
_PATTERN = re.compile(r"^\s*(\d+)\s*(day|week|month|year)s?\s*$", re.IGNORECASE)


class DurationError(ValueError):
    """A duration that is not "N days|weeks|months|years", is longer than MAX_YEARS, or runs past year 9999."""


@dataclass(frozen=True, slots=True)
class Duration:
    amount: int
    unit: str  # one of UNITS

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _PATTERN.match(str(text))
        if not match:
            raise DurationError(f'"{text}" is not a duration: write "N days", "N weeks", "N months" or "N years"')
        digits, unit = match.group(1), match.group(2).lower() + "s"
        if len(digits) > 9 or int(digits) > _MAX_AMOUNT[unit]:
            most = f"{MAX_YEARS} years" + (f" ({_MAX_AMOUNT[unit]} {unit})" if unit != "years" else "")
            raise DurationError(f'"{text}" is too long: a duration is at most {most}')
        return cls(int(digits), unit)

    def after(self, moment: datetime) -> datetime:
        """The instant this long after `moment`; months and years are calendar units (Jan 31 + 1 month = Feb 28).
        Past the end of the calendar (year 9999) it is a DurationError, never an OverflowError."""
        try:
            if self.unit == "days":
                return moment + timedelta(days=self.amount)
            if self.unit == "weeks":
                return moment + timedelta(weeks=self.amount)
            months = self.amount * (12 if self.unit == "years" else 1)
            return add_months(moment, months)
        except (OverflowError, ValueError):
            raise DurationError(f"{self} after {moment:%Y-%m-%d} is past the year 9999") from None

    def __str__(self) -> str:
        unit = self.unit if self.amount != 1 else self.unit[:-1]
        return f"{self.amount} {unit}"


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
