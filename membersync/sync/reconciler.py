"""The level-triggered reconciler: from sources to grants, ledger entries and operations for the sinks.

It works from state, not from the event that woke it: run it any number of times at the same moment and the
second run changes nothing. Every path (an event, the worker's wake-ups, a full resync) goes through
`members_reconcile`, one batch of members at a time, with bulk reads and bulk writes.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection, transaction

from membersync import clock, memo
from membersync.access.grants import OPEN, PENDING, SUSPENDED, Grant, access_at, grants_from_window, next_change
from membersync.correlation import correlation_current
from membersync.people.models import Member

from .brake import Projection, brake_apply
from .bulk import rows_delete, rows_insert, rows_update
from .ledger import LEDGER_COLUMNS, Cause, ledger_transition, ledger_vanished_entry
from .mirror import holdings_read
from .models import Enrollment, GrantRecord, LedgerEntry, MemberAccess, Operation
from .sinks import BUILTIN, Sink, enrollment_state, sinks_all
from .sources import load_sources
from .stats import reconcile_counted


@dataclass
class ReconcileReport:
    members: int = 0
    ledger_entries: int = 0
    operations: int = 0
    changes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # member pk -> list of change dicts: what was (or, in a dry run, would be) sent to the built-in sink
    by_member: dict[int, list[dict]] = field(default_factory=dict)
    # sink name -> how many operations it was given (or, in a dry run, would be)
    operations_by_sink: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    held: int = 0  # operations held by a sink's brake for an operator's confirmation


def members_reconcile(*, member_ids: list[int], now: datetime, cause: Cause, dry_run: bool = False) -> ReconcileReport:
    """Bring these members' grants, ledger and enrollments in line with their sources at `now`."""
    # Inside an event's transaction a savepoint buys nothing (a failure fails the event); a dry run needs one.
    started = clock.elapsed()
    with transaction.atomic(savepoint=dry_run), memo.scope():
        report = _reconcile(member_ids, now, cause, dry_run)
        if dry_run:
            transaction.set_rollback(True)
    if not dry_run:
        reconcile_counted(members=len(member_ids), seconds=clock.elapsed() - started)
    return report


def _reconcile(member_ids: list[int], now: datetime, cause: Cause, dry_run: bool) -> ReconcileReport:
    report = ReconcileReport(members=len(member_ids))
    _members_lock(member_ids)
    loaded = load_sources(member_ids, now)
    records = _grant_records(member_ids)
    sinks = list(sinks_all().values())
    projections = {sink.name: _projected_holdings(sink.name, member_ids) for sink in sinks}
    direct_sinks = [sink for sink in sinks if sink.project is None]
    derived_sinks = [sink for sink in sinks if sink.project is not None]  # what they hold is derived from access
    desired_by_member: dict[int, dict] = {}

    new_records: list[tuple] = []
    changed_records: list[tuple] = []
    vanished_records: list[int] = []
    ledger: list[tuple] = []
    operations: list[tuple] = []
    access_rows: list[tuple] = []

    for member_id in member_ids:
        windows = loaded.windows.get(member_id, [])
        grants = [g for w in windows for g in grants_from_window(w)]
        member_records = records.get(member_id, {})
        seen: set[str] = set()
        for grant in grants:
            seen.add(grant.key)
            state = grant.state_at(now)
            record = member_records.get(grant.key)
            if record is None:
                new_records.append(
                    (
                        member_id,
                        grant.key,
                        grant.target.kind,
                        grant.target.id,
                        grant.source_kind,
                        grant.source_id,
                        state,
                        grant.opens,
                        grant.closes,
                    )
                )
                ledger.extend(ledger_transition(member_id, grant, None, state, now, cause))
            elif record[1:4] != (state, grant.opens, grant.closes):
                previous = (record[2], record[3])  # the window as last recorded
                ledger.extend(ledger_transition(member_id, grant, record[1], state, now, cause, previous=previous))
                changed_records.append((state, grant.opens, grant.closes, record[0]))
        for key, record in member_records.items():
            if key not in seen:
                vanished_records.append(record[0])
                if record[1] in (OPEN, SUSPENDED, PENDING):  # a pending one is withdrawn
                    ledger.append(ledger_vanished_entry(member_id, key, record, now, cause))

        desired = _desired_enrollments(grants, now)
        digest = enrollments_digest(desired.items())
        settled = True
        for sink in direct_sinks:
            here = desired if sink.accepts is None else {k: v for k, v in desired.items() if sink.carries(*k)}
            projection = projections[sink.name]
            known = digest if here is desired else None
            operation = _sink_operation(sink, member_id, here, projection, report, now, digest=known)
            if sink.name == BUILTIN:
                # With nothing to change and nothing pending, the built-in sink holds exactly what is wanted.
                settled = operation is None and member_id not in projection.unfinished
            if operation is not None:
                operations.append(operation)
        if derived_sinks:
            desired_by_member[member_id] = desired
        access_rows.append((member_id, now, next_change(windows, grants, now), digest, digest if settled else None))

    for sink in derived_sinks:
        wanted = sink.project(desired_by_member, now)
        for member_id in member_ids:
            operation = _sink_operation(sink, member_id, wanted.get(member_id, {}), projections[sink.name], report, now)
            if operation is not None:
                operations.append(operation)

    report.ledger_entries = len(ledger)
    if not dry_run:
        operations = brake_apply(sinks=sinks, operations=operations, projections=projections, now=now)
    report.operations = len(operations)
    report.held = sum(1 for op in operations if op[6] == Operation.HELD)
    if dry_run:
        return report
    rows_insert(GrantRecord, RECORD_COLUMNS, new_records)
    rows_update(GrantRecord, ["state", "opens_at", "closes_at"], changed_records)
    rows_delete(GrantRecord, vanished_records)
    rows_insert(LedgerEntry, LEDGER_COLUMNS, ledger)
    rows_insert(Operation, OPERATION_COLUMNS, operations)
    columns = ["member_id", "computed_at", "next_change_at", "desired_digest", "applied_digest"]
    settled_rows = [row for row in access_rows if row[4] is not None]
    rows_insert(MemberAccess, columns, settled_rows, conflict=["member_id"], update=columns[1:])
    rows_insert(
        MemberAccess,
        columns[:4],
        [row[:4] for row in access_rows if row[4] is None],
        conflict=["member_id"],
        update=columns[1:4],
    )
    for model, rows, fields in loaded.status_writes:
        rows_update(
            model, fields, [r if isinstance(r, tuple) else (*(getattr(r, f) for f in fields), r.pk) for r in rows]
        )
    for hook in loaded.after_write:
        hook()
    return report


def _sink_operation(
    sink: Sink, member_id: int, here: dict, projection: Projection, report, now: datetime, digest: str | None = None
):
    """The operation row that makes the sink hold `here` for the member (its fingerprint `digest`, when known),
    or None when it will already."""
    changes = _enrollment_changes(here, projection.state.get(member_id, {}))
    if not changes:
        return None
    report.operations_by_sink[sink.name] += 1
    if sink.name == BUILTIN:
        report.by_member[member_id] = changes
        for change in changes:
            report.changes[change["action"]] += 1
    key = f"{sink.name}:{member_id}:{uuid.uuid4().hex}"
    digest = digest or enrollments_digest(here.items())
    row = (member_id, sink.name, _wanted_state(here), changes, digest, key, Operation.PENDING, 0, now, now, "", "")
    return (*row, correlation_current())


def _members_lock(member_ids: list[int]) -> None:
    """Two reconciles of one member at once (two events, or an event and the worker) take turns: the second
    reads her sources as the first left them, so her operations are made in the order of the states they want.
    SQLite needs no lock: its IMMEDIATE transactions already run one writer at a time."""
    if connection.features.has_select_for_update:
        list(Member.objects.select_for_update().filter(pk__in=member_ids).order_by("pk").values_list("pk"))


RECORD_COLUMNS = [
    "member_id",
    "key",
    "target_kind",
    "target_id",
    "source_kind",
    "source_id",
    "state",
    "opens_at",
    "closes_at",
]
OPERATION_COLUMNS = [
    "member_id",
    "sink",
    "wanted",
    "changes",
    "result_digest",
    "idempotency_key",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "leased_by",
    "last_error",
    "correlation_id",
]


def enrollments_digest(items) -> str:
    """A fingerprint of a member's enrollments, the same whether computed from desired access or from rows."""
    canonical = sorted(
        (kind, target_id, status, access_from.timestamp(), since.timestamp() if since else None)
        for (kind, target_id), (status, access_from, since) in items
    )
    return hashlib.blake2b(repr(canonical).encode(), digest_size=16).hexdigest()


def _grant_records(member_ids: list[int]) -> dict[int, dict[str, tuple]]:
    """member pk -> grant key -> (pk, state, opens_at, closes_at, target_kind, target_id)"""
    records: dict[int, dict[str, tuple]] = defaultdict(dict)
    rows = GrantRecord.objects.filter(member_id__in=member_ids).values_list(
        "member_id", "key", "pk", "state", "opens_at", "closes_at", "target_kind", "target_id"
    )
    for member_id, key, *record in rows:
        records[member_id][key] = tuple(record)
    return records


def _projected_holdings(sink: str, member_ids: list[int]) -> Projection:
    """What the sink will hold once the outbox is through (the latest unfinished operation's wanted state, else
    what it holds now), and which members have operations unfinished (pending or held) and which held."""
    unfinished = Operation.objects.filter(member_id__in=member_ids, sink=sink, status__in=Operation.UNFINISHED)
    latest, held = {}, set()
    for member_id, wanted, status in unfinished.order_by("pk").values_list("member_id", "wanted", "status"):
        latest[member_id] = wanted
        if status == Operation.HELD:
            held.add(member_id)
    state = holdings_read(sink=sink, member_ids=[m for m in member_ids if m not in latest])
    for member_id, wanted in latest.items():
        state[member_id] = {(row["target_kind"], row["target_id"]): enrollment_state(row) for row in wanted}
    return Projection(state, set(latest), held)


def _wanted_state(desired: dict[tuple[str, str], tuple]) -> list[dict]:
    """An operation's `wanted`: every enrollment the member should hold, in a stable order."""
    return [
        {
            "target_kind": kind,
            "target_id": target_id,
            "status": status,
            "access_from": access_from.isoformat(),
            "suspended_since": since.isoformat() if since else None,
        }
        for (kind, target_id), (status, access_from, since) in sorted(desired.items())
    ]


def _desired_enrollments(grants: list[Grant], now: datetime) -> dict[tuple[str, str], tuple]:
    desired = {}
    for target, access in access_at(grants, now).items():
        if access.state == OPEN:
            desired[(target.kind, target.id)] = (Enrollment.ACTIVE, access.access_from, None)
        elif access.state == SUSPENDED:
            desired[(target.kind, target.id)] = (Enrollment.SUSPENDED, access.access_from, access.suspended_since)
    return desired


def _enrollment_changes(desired: dict, actual: dict) -> list[dict]:
    changes = []
    for key in sorted(desired.keys() | actual.keys()):
        want, have = desired.get(key), actual.get(key)
        if want == have:
            continue
        kind, target_id = key
        change = {"target_kind": kind, "target_id": target_id}
        if want is None:
            change["action"] = "unenroll"
        else:
            status, access_from, since = want
            if status == Enrollment.SUSPENDED:
                change["action"] = "suspend"
                change["suspended_since"] = since.isoformat()
            elif have is not None and have[0] == Enrollment.SUSPENDED:
                change["action"] = "resume"
            else:
                change["action"] = "enroll"
            change["access_from"] = access_from.isoformat()
        changes.append(change)
    return changes
