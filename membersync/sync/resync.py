"""Resync: reconcile every member, in batches, and (unless it is a dry run) carry out the resulting operations.

Because the reconciler is level-triggered, a resync repairs anything that drifted (an enrollment edited or
deleted behind MemberSync's back, a wake-up missed) and changes nothing when all is in step.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import F, Q

from membersync import clock
from membersync.actors import Actor
from membersync.people.models import Member

from .models import MemberAccess
from .outbox import operations_run
from .reconciler import Cause, members_reconcile

Progress = Callable[[int, int], None]  # (members done, members in all)


@dataclass
class ResyncReport:
    members: int = 0
    members_changed: int = 0
    ledger_entries: int = 0
    operations: int = 0
    operations_done: int = 0
    changes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    # The first `sample_size` changes in words, e.g. "alice: enroll course intro".
    sample: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.members_changed or self.ledger_entries)


def members_resync(
    *,
    dry_run: bool,
    actor: Actor,
    batch_size: int = 1000,
    progress: Progress | None = None,
    sample_size: int = 50,
    quick: bool = False,
) -> ResyncReport:
    """Reconcile every member at the clock's now, `batch_size` at a time (each batch one transaction).

    `quick` reconciles only the members whose access may differ from what the sink holds: never computed, due
    for a change (a drip, an end), or whose enrollments' fingerprint differs from the one last wanted. It
    trusts the built-in sink's record of what it wrote, so it will not notice rows edited behind MemberSync's
    back; the full resync will.
    """
    report = ResyncReport(dry_run=dry_run)
    now = clock.now()
    if quick:
        return _resync_members(report, _members_needing_work(now), now, actor, batch_size, progress, sample_size)
    total = Member.objects.count()
    cause = Cause("resync", actor)
    worker = f"resync:{actor}"
    last_pk = 0
    if progress:
        progress(0, total)
    while True:
        # Keyset pagination: members added during the run are picked up, none is read twice.
        batch = list(Member.objects.filter(pk__gt=last_pk).order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not batch:
            break
        last_pk = batch[-1]
        result = members_reconcile(member_ids=batch, now=now, cause=cause, dry_run=dry_run)
        _count(report, batch, result, sample_size)
        if not dry_run:
            report.operations_done += _operations_drain(worker, now)
        if progress:
            progress(report.members, max(total, report.members))
    return report


def _members_needing_work(now) -> list[int]:
    stale = MemberAccess.objects.filter(Q(next_change_at__lte=now) | ~Q(desired_digest=F("applied_digest")))
    never = Member.objects.filter(access__isnull=True)
    return sorted({*stale.values_list("member_id", flat=True), *never.values_list("pk", flat=True)})


def _resync_members(report, member_ids, now, actor, batch_size, progress, sample_size) -> ResyncReport:
    cause = Cause("resync (quick)", actor)
    if progress:
        progress(0, len(member_ids))
    for start in range(0, len(member_ids), batch_size):
        batch = member_ids[start : start + batch_size]
        result = members_reconcile(member_ids=batch, now=now, cause=cause, dry_run=report.dry_run)
        _count(report, batch, result, sample_size)
        if not report.dry_run:
            report.operations_done += _operations_drain(f"resync:{actor}", now)
        if progress:
            progress(report.members, len(member_ids))
    return report


def _count(report: ResyncReport, batch: list[int], result, sample_size: int) -> None:
    report.members += len(batch)
    report.members_changed += len(result.by_member)
    report.ledger_entries += result.ledger_entries
    report.operations += result.operations
    for action, count in result.changes.items():
        report.changes[action] += count
    _sample(report, result.by_member, sample_size)


def _operations_drain(worker: str, now) -> int:
    done = 0
    while True:
        ran = operations_run(worker=worker, now=now, limit=2000)
        if not ran:
            return done
        done += ran


def _sample(report: ResyncReport, by_member: dict[int, list[dict]], sample_size: int) -> None:
    room = sample_size - len(report.sample)
    if room <= 0 or not by_member:
        return
    pks = sorted(by_member)[:room]
    names = dict(Member.objects.filter(pk__in=pks).values_list("pk", "external_id"))
    for pk in pks:
        for change in by_member[pk]:
            if len(report.sample) >= sample_size:
                return
            what = f"{change['action']} {change['target_kind']} {change['target_id']}"
            report.sample.append(f"{names.get(pk, pk)}: {what}")
