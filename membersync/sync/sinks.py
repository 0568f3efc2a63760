"""Sinks carry operations out. The built-in one is MemberSync's own enrollment table (the embedded LMS)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from .bulk import rows_insert, rows_update
from .models import Enrollment, MemberAccess, Operation


def builtin_apply(operations: list[Operation], now: datetime) -> None:
    """Write the operations' changes to the enrollment table, in order, with one upsert and one delete; then
    record a fingerprint of what each member now holds, so a resync can tell a member needs nothing."""
    final: dict[tuple[int, str, str], dict | None] = {}
    for op in operations:
        for change in op.changes:
            key = (op.member_id, change["target_kind"], change["target_id"])
            final[key] = None if change["action"] == "unenroll" else change
    rows_insert(
        Enrollment,
        ["member_id", "target_kind", "target_id", "status", "access_from", "suspended_since", "updated_at"],
        [
            (
                member_id,
                kind,
                target_id,
                Enrollment.SUSPENDED if change["action"] == "suspend" else Enrollment.ACTIVE,
                datetime.fromisoformat(change["access_from"]),
                datetime.fromisoformat(change["suspended_since"]) if change.get("suspended_since") else None,
                now,
            )
            for (member_id, kind, target_id), change in final.items()
            if change is not None
        ],
        conflict=["member_id", "target_kind", "target_id"],
        update=["status", "access_from", "suspended_since", "updated_at"],
    )
    removals = [key for key, change in final.items() if change is None]
    for start in range(0, len(removals), 200):  # keeps each statement's OR-chain short
        condition = Q()
        for member_id, kind, target_id in removals[start : start + 200]:
            condition |= Q(member_id=member_id, target_kind=kind, target_id=target_id)
        Enrollment.objects.filter(condition).delete()
    # What the member holds now is what the last of her operations was computed to leave.
    last = {op.member_id: op.result_digest for op in operations}
    rows_update(MemberAccess, ["applied_digest"], [(digest, member_id) for member_id, digest in last.items()])
