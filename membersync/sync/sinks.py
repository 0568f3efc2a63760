"""Sinks carry operations out. The built-in one is MemberSync's own enrollment table (the embedded LMS); each
connected LearnDash site is another (wiring.sink_providers()).

A sink is handed a batch of leased operations, at most one per member (the outbox leases only a member's
latest), and makes what it holds for each member equal to the operation's `wanted` state. Applying the same
wanted state again changes nothing.

A transactional sink raises to have the batch retried. A remote sink answers for each operation with an
`Outcome`: what the site now holds for that member (the outbox records it in the sink's mirror, sync/mirror.py,
which the reconciler diffs against) and whether and when to try again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from membersync import memo, wiring

from .bulk import rows_delete, rows_insert, rows_update
from .models import Enrollment, MemberAccess, Operation

BUILTIN = "builtin"


@dataclass
class Outcome:
    """What a remote sink did with one operation."""

    # What the site now holds for the member, rows shaped like Operation.wanted (partial success included);
    # None: unknown or unchanged. The mirror is set to it in the transaction that records the outcome.
    holds: list[dict] | None
    error: str = ""  # empty: done
    retry: bool = True  # False: retrying cannot help (an invalid id, an open course): dead at once, error shown
    retry_after: float | None = None  # seconds the site asked to wait (Retry-After)
    # The site refused the credentials: the operation waits (pending, no attempt counted) until they work again.
    hold: bool = False

    @property
    def done(self) -> bool:
        return not self.error


@dataclass(frozen=True)
class Sink:
    name: str
    apply: Callable[[list[Operation], datetime], dict[int, Outcome] | None]
    # A transactional sink writes rows of MemberSync's own database: its writes commit together with the
    # operations marked done, so a worker whose lease ran out rolls them back. Any other sink (a remote site
    # over HTTP) is called outside every transaction; a late worker's result is discarded, and its calls must
    # be idempotent (enrolling twice is harmless), with a timeout well inside the lease (sync/checks.py).
    transactional: bool = True
    batch_limit: int = 500
    # The most HTTP calls one operation can make one after the other, and how many operations a remote sink
    # carries at once: with the timeout, they bound how long a batch can take (sync/checks.py).
    calls_per_operation: int = 0
    concurrency: int = 1
    # How long a worker's claim on this sink's operations lasts; None: OUTBOX_LEASE_SECONDS. A remote sink whose
    # batch can take longer than half the common lease asks for a lease of its own.
    lease_seconds: float | None = None
    # (target kind, target id) -> whether the sink carries that target (a site drives only the courses linked
    # there); None: every target.
    accepts: Callable[[str, str], bool] | None = None
    # Shadow mode: operations are computed and recorded, never sent (a new connection, until the operator is sure).
    shadow: bool = False
    # Mass removals wait for an operator's confirmation (sync/brake.py).
    brake: bool = False
    brake_students: int = 50
    brake_percent: float = 5.0
    # False while the site refuses the credentials: the outbox leases nothing for it.
    healthy: Callable[[], bool] | None = None
    # A sink whose holdings are not the enrollments themselves but derived from them (a CRM's tags mirror
    # enrollments): (each member's wanted enrollments, now) -> what the sink should hold per member, in the same
    # {(kind, id): (status, since, suspended_since)} shape, for a whole reconcile batch at once. None: the
    # enrollments it carries.
    project: Callable[[dict[int, dict], datetime], dict[int, dict]] | None = None
    # What a member's explanation should say about this sink when she has suspended or resumed access: a
    # LearnDash site without the companion plugin restarts her drip.
    suspension_note: str = ""

    @property
    def remote(self) -> bool:
        return not self.transactional

    def longest_batch_seconds(self, batch: int, timeout: float) -> float:
        """The longest a batch of `batch` operations can take if every call runs into the timeout."""
        rounds = -(-batch // max(self.concurrency, 1))
        return rounds * max(self.calls_per_operation, 1) * timeout

    def carries(self, kind: str, target_id: str) -> bool:
        return self.accepts is None or self.accepts(kind, target_id)


def sinks_all() -> dict[str, Sink]:
    """Every sink by name: the fixed ones, then those of the connections (one per LearnDash site), read once per
    memo scope (a reconcile batch, an outbox pass)."""
    return _sinks_all()


@memo.scoped
def _sinks_all() -> dict[str, Sink]:
    found = dict(wiring.sinks())
    for provider in wiring.sink_providers():
        for sink in provider():
            found[sink.name] = sink
    return found


def builtin_sink() -> Sink:
    return Sink(name=BUILTIN, apply=builtin_apply)


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
