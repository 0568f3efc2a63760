"""Sinks carry operations out. The built-in one is MemberSync's own enrollment table (the embedded LMS).

A sink is handed a batch of leased operations, at most one per member (the outbox leases only a member's
latest), and makes what it holds for each member equal to the operation's `wanted` state. It raises to have
the batch retried; applying the same wanted state again changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from .bulk import rows_delete, rows_insert, rows_update
from .models import Enrollment, MemberAccess, Operation


@dataclass(frozen=True)
class Sink:
    name: str
    apply: Callable[[list[Operation], datetime], None]
    # A transactional sink writes rows of MemberSync's own database: its writes commit together with the
    # operations marked done, so a worker whose lease ran out rolls them back. Any other sink (a remote site
    # over HTTP) is called outside every transaction; a late worker's result is discarded, and its calls must
    # be idempotent (enrolling twice is harmless), with a timeout well inside the lease (sync/checks.py).
    transactional: bool = True
    batch_limit: int = 500
    # The most HTTP calls one operation can make: with the timeout, bounds how long a batch can take.
    calls_per_operation: int = 0


def builtin_sink() -> Sink:
    return Sink(name="builtin", apply=builtin_apply)


def builtin_apply(operations: list[Operation], now: datetime) -> None:
    """Make each member's enrollment rows equal to her operation's wanted state, writing only the rows that
    differ: one read, one upsert, one delete. Then record a fingerprint of what each member now holds, so a
    resync can tell a member needs nothing."""
    wanted = {op.member_id: op.wanted for op in operations}
    held = {
        (member_id, kind, target_id): (pk, status, access_from, since)
        for pk, member_id, kind, target_id, status, access_from, since in Enrollment.objects.filter(
            member_id__in=list(wanted)
        ).values_list("pk", "member_id", "target_kind", "target_id", "status", "access_from", "suspended_since")
    }
    writes = []
    keep = set()
    for member_id, rows in wanted.items():
        for row in rows:
            key = (member_id, row["target_kind"], row["target_id"])
            keep.add(key)
            state = enrollment_state(row)
            if key not in held or held[key][1:] != state:
                writes.append((*key, *state, now))
    rows_insert(
        Enrollment,
        ["member_id", "target_kind", "target_id", "status", "access_from", "suspended_since", "updated_at"],
        writes,
        conflict=["member_id", "target_kind", "target_id"],
        update=["status", "access_from", "suspended_since", "updated_at"],
    )
    rows_delete(Enrollment, [row[0] for key, row in held.items() if key not in keep])
    last = {op.member_id: op.result_digest for op in operations}
    rows_update(MemberAccess, ["applied_digest"], [(digest, member_id) for member_id, digest in last.items()])


def enrollment_state(row: dict) -> tuple[str, datetime, datetime | None]:
    """(status, access_from, suspended_since) of one entry of an operation's wanted state."""
    since = row.get("suspended_since")
    return (
        row["status"],
        datetime.fromisoformat(row["access_from"]),
        datetime.fromisoformat(since) if since else None,
    )
