"""The resync benchmark: a full resync into empty enrollments, a no-op resync, and the floor (the same
enrollment rows written by one raw bulk insert), measured in one run so their ratios mean something."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection, transaction

from membersync import clock
from membersync.actors import Actor
from membersync.sync.models import Enrollment
from membersync.sync.resync import members_resync

from .site import NOW, synthetic_site_build

BENCH = Actor.system("bench")


def _timed(work: Callable[[], object]) -> tuple[float, object]:
    began = time.perf_counter()  # a benchmark's stopwatch, not the product's clock
    result = work()
    return time.perf_counter() - began, result


def _floor() -> tuple[float, int]:
    """Re-write every enrollment row the resync produced, with one raw executemany in one transaction."""
    columns = ["member_id", "target_kind", "target_id", "status", "access_from", "suspended_since", "updated_at"]
    rows = list(Enrollment.objects.values_list(*columns))
    table = Enrollment._meta.db_table
    Enrollment.objects.all().delete()
    placeholders = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"

    def insert():
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, rows)

    seconds, _ = _timed(insert)
    return seconds, len(rows)


def bench_resync(*, members: int, out: Callable[[str], None]) -> dict:
    # Welcome emails for 150,000 memberships would time the console, not the resync; the Notification rows
    # are still written.
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    clock.set_time(NOW)
    seconds, site = _timed(lambda: synthetic_site_build(members=members))
    out(f"site: {site} built in {seconds:.1f} s")

    full_s, full = _timed(lambda: members_resync(dry_run=False, actor=BENCH, batch_size=2000))
    enrollments = Enrollment.objects.count()
    noop_s, noop = _timed(lambda: members_resync(dry_run=False, actor=BENCH, batch_size=2000))
    quick_s, quick = _timed(lambda: members_resync(dry_run=False, actor=BENCH, batch_size=2000, quick=True))
    floor_s, floor_rows = _floor()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    clock.set_time(None)

    results = {
        "members": members,
        "enrollments": enrollments,
        "full_seconds": full_s,
        "full_members_per_second": members / full_s,
        "noop_seconds": noop_s,
        "noop_members_per_second": members / noop_s,
        "noop_changes": sum(noop.changes.values()),
        "quick_noop_seconds": quick_s,
        "quick_noop_members_per_second": members / quick_s,
        "quick_noop_changes": sum(quick.changes.values()),
        "floor_seconds": floor_s,
        "full_to_floor_ratio": full_s / floor_s,
        "peak_memory_mb": peak_mb,
        "database": connection.vendor,
    }
    out(f"database: {connection.vendor}; members: {members:,}; enrollments written: {enrollments:,}")
    out(
        f"full resync into empty enrollments: {full_s:.2f} s ({members / full_s:,.0f} members/s), "
        f"{sum(full.changes.values()):,} changes"
    )
    out(
        f"no-op resync, every member recomputed: {noop_s:.2f} s ({members / noop_s:,.0f} members/s), "
        f"{results['noop_changes']} changes"
    )
    out(
        f"no-op resync --quick: {quick_s:.3f} s ({members / quick_s:,.0f} members/s), "
        f"{results['quick_noop_changes']} changes, {quick.members} members needed work"
    )
    out(f"floor (one raw bulk insert of the same {floor_rows:,} rows): {floor_s:.2f} s")
    out(f"full resync / floor: {full_s / floor_s:.1f}x")
    out(f"peak memory: {peak_mb:,.0f} MB")
    return results
