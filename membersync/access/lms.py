"""An enrollment made in the LMS itself (by hand in LearnDash, or adopted when a site went live) as a source.

MemberSync keeps it and never removes it: it grants its one target from when it was made until it is undone in
the LMS (`lms.unenroll`), which ends only this source.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .rules import GrantRule, Target
from .sources import SourceWindow

HAND = "hand"  # made in the LMS by a person (reported by the companion plugin, or a scenario's lms.enroll)
ADOPTED = "adopted"  # found on a site when it was connected, and kept by the operator's adoption
ORIGINS = (HAND, ADOPTED)
LMS = "lms"  # the source kind


@dataclass(frozen=True, slots=True)
class LmsEnrollmentFacts:
    id: str
    target: Target
    start: datetime
    origin: str = HAND
    site: str = ""  # the LearnDash connection it was made on; "" for the built-in LMS
    end: datetime | None = None
    ended_by: str = ""


def lms_window(facts: LmsEnrollmentFacts) -> SourceWindow:
    where = f" on LearnDash site {facts.site}" if facts.site else " in the LMS"
    made = "adopted when the site went live" if facts.origin == ADOPTED else "enrolled by hand"
    return SourceWindow(
        kind=LMS,
        id=facts.id,
        label=f"{facts.target} {made}{where}",
        rules=(GrantRule(key=f"{facts.target.kind}:{facts.target.id}", target=facts.target),),
        start=facts.start,
        end=facts.end,
        end_reason=f"unenrolled{where}" + (f" by {facts.ended_by}" if facts.ended_by else "") if facts.end else "",
        end_status="ended" if facts.end else "",
        status="ended" if facts.end else "active",
    )
