"""Durations in calendar units and the instants they lead to."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

UNITS = ("days", "weeks", "months", "years")
_PATTERN = re.compile(r"^\s*(\d+)\s*(day|week|month|year)s?\s*$", re.IGNORECASE)


class DurationError(ValueError):
    """A duration that is not "N days|weeks|months|years"."""


@dataclass(frozen=True, slots=True)
class Duration:
    amount: int
    unit: str  # one of UNITS

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _PATTERN.match(str(text))
        if not match:
            raise DurationError(f'"{text}" is not a duration: write "N days", "N weeks", "N months" or "N years"')
        return cls(int(match.group(1)), match.group(2).lower() + "s")

    def after(self, moment: datetime) -> datetime:
        """The instant this long after `moment`; months and years are calendar units (Jan 31 + 1 month = Feb 28)."""
        if self.unit == "days":
            return moment + timedelta(days=self.amount)
        if self.unit == "weeks":
            return moment + timedelta(weeks=self.amount)
        months = self.amount * (12 if self.unit == "years" else 1)
        return add_months(moment, months)

    def __str__(self) -> str:
        unit = self.unit if self.amount != 1 else self.unit[:-1]
        return f"{self.amount} {unit}"


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year = moment.year + month_index // 12
    month = month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
