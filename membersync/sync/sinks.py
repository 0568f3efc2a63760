"""Sinks carry operations out. The built-in one is MemberSync's own enrollment table (the embedded LMS)."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q

from .models import Enrollment, Operation


def builtin_apply(operations: list[Operation], now: datetime) -> None:
    """Write the operations' changes to the enrollment table, in order, with one upsert and one delete."""
    final: dict[tuple[int, str, str], dict | None] = {}
    for op in operations:
        for change in op.changes:
            key = (op.member_id, change["target_kind"], change["target_id"])
            final[key] = None if change["action"] == "unenroll" else change
    upserts = [
        Enrollment(
            member_id=member_id,
            target_kind=kind,
            target_id=target_id,
            status=Enrollment.SUSPENDED if change["action"] == "suspend" else Enrollment.ACTIVE,
            access_from=datetime.fromisoformat(change["access_from"]),
            suspended_since=(
                datetime.fromisoformat(change["suspended_since"]) if change.get("suspended_since") else None
            ),
            updated_at=now,
        )
        for (member_id, kind, target_id), change in final.items()
        if change is not None
    ]
    Enrollment.objects.bulk_create(
        upserts,
        update_conflicts=True,
        unique_fields=["member", "target_kind", "target_id"],
        update_fields=["status", "access_from", "suspended_since", "updated_at"],
        batch_size=2000,
    )
    removals = [key for key, change in final.items() if change is None]
    for start in range(0, len(removals), 200):  # keeps each statement's OR-chain short
        condition = Q()
        for member_id, kind, target_id in removals[start : start + 200]:
            condition |= Q(member_id=member_id, target_kind=kind, target_id=target_id)
        Enrollment.objects.filter(condition).delete()


SINKS = {"builtin": builtin_apply}
