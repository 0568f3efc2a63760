"""A grant an operator gives a member by hand: one course or group, from a start, until an optional end or until
the operator ends it. It is a source like any other (a window with one rule), so explain shows it and the ledger
records it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .rules import GrantRule, Target
from .sources import SourceWindow

MANUAL = "manual"  # the source kind


@dataclass(frozen=True, slots=True)
class ManualGrantFacts:
    id: str
    target: Target
    start: datetime
    end: datetime | None = None  # the end it was given
    granted_by: str = ""
    note: str = ""
    ended_at: datetime | None = None  # when an operator ended it
    ended_by: str = ""


def manual_window(facts: ManualGrantFacts) -> SourceWindow:
    by = f" by {facts.granted_by}" if facts.granted_by else ""
    note = f" ({facts.note})" if facts.note else ""
    ends = [moment for moment in (facts.end, facts.ended_at) if moment is not None]
    end = min(ends, default=None)
    if end is None:
        reason = ""
    elif facts.ended_at is not None and end == facts.ended_at:
        reason = "ended by an operator" + (f" ({facts.ended_by})" if facts.ended_by else "")
    else:
        reason = f"the manual grant ran until {end:%Y-%m-%d}"
    return SourceWindow(
        kind=MANUAL,
        id=facts.id,
        label=f"manual grant of {facts.target}{by}{note}",
        rules=(GrantRule(key=f"{facts.target.kind}:{facts.target.id}", target=facts.target),),
        start=facts.start,
        end=end,
        end_reason=reason,
        end_status="ended" if end is not None else "",
        status="active",
    )
