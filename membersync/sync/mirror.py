"""What each sink holds per member, as the reconciler compares it with what she should hold.

For the built-in sink that is its own Enrollment rows. For a remote sink (a LearnDash site) it is the mirror:
what the site's answers said it holds, recorded by the outbox with each outcome. A member's holdings are
{(target kind, target id): (status, access_from, suspended_since)}, the same shape for every sink.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from .bulk import rows_delete, rows_insert
from .models import Enrollment, MirrorEntry
from .sinks import BUILTIN, enrollment_state

Holdings = dict[tuple[str, str], tuple[str, datetime, datetime | None]]


def holdings_read(*, sink: str, member_ids: list[int]) -> dict[int, Holdings]:
    """member pk -> what the sink holds for her (members holding nothing are absent)."""
    if sink == BUILTIN:
        rows = Enrollment.objects.filter(member_id__in=member_ids)
    else:
        rows = MirrorEntry.objects.filter(sink=sink, member_id__in=member_ids)
    held: dict[int, Holdings] = defaultdict(dict)
    columns = ("member_id", "target_kind", "target_id", "status", "access_from", "suspended_since")
    for member_id, kind, target_id, status, access_from, since in rows.values_list(*columns):
        held[member_id][(kind, target_id)] = (status, access_from, since)
    return held


def mirror_read(*, sink: str, member_ids: list[int]) -> dict[int, Holdings]:
    """What a remote sink's mirror says the site holds for these members."""
    return holdings_read(sink=sink, member_ids=member_ids)


def mirror_write(*, sink: str, holdings: dict[int, list[dict]], now: datetime) -> None:
    """Record that the site now holds exactly these rows (shaped like Operation.wanted) for each member given."""
    if not holdings:
        return
    existing = MirrorEntry.objects.filter(sink=sink, member_id__in=list(holdings))
    rows_delete(MirrorEntry, list(existing.values_list("pk", flat=True)))
    rows_insert(
        MirrorEntry,
        ["sink", "member_id", "target_kind", "target_id", "status", "access_from", "suspended_since", "updated_at"],
        [
            (sink, member_id, row["target_kind"], row["target_id"], *enrollment_state(row), now)
            for member_id, rows in holdings.items()
            for row in rows
        ],
    )


def mirror_reset(*, sink: str, member_ids: list[int]) -> int:
    """Forget what the mirror says for these members (a verify found the site differs): their next reconcile
    compares with nothing held and sends their whole wanted state again. Returns how many rows were removed."""
    removed, _ = MirrorEntry.objects.filter(sink=sink, member_id__in=member_ids).delete()
    return removed


def students_count(*, sink: str) -> int:
    """How many members the sink holds anything for: the base of the brake's percentage."""
    rows = Enrollment.objects if sink == BUILTIN else MirrorEntry.objects.filter(sink=sink)
    return rows.values("member_id").distinct().count()
