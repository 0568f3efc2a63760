"""The LearnDash sink benchmark: enrollments per second against the contract site, run as its own process
(tests/contract/learndash_site.py, from a checkout), which counts every request, the most within any second and
the most in flight at once.

The site starts with its members' WordPress users (as after `membersync import learndash`: their identities
known) and COURSES closed courses linked to the catalog; each operation enrolls one member into all of them
through the sink's own apply, in the outbox's batches, with the mirror written after each batch as the outbox
does. What is timed is the sink: the outbox's lease and record transactions are not part of it.
"""

from __future__ import annotations

import json
import logging
import math
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from membersync.connectors.learndash.models import SiteTarget
from membersync.connectors.learndash.sink import learndash_sink
from membersync.people.models import LEARNDASH, WP_USER, Identity, Member
from membersync.people.services import connection_create
from membersync.sync.mirror import mirror_write
from membersync.sync.models import Operation

from .site import NOW

COURSES = 20  # enrollments per operation: one member into every course, in one request
BATCH = 500  # operations handed to the sink at once (the outbox's default batch)
FIXTURE = Path(__file__).resolve().parents[2] / "tests" / "contract" / "learndash_site.py"


def _site_start(latency: float) -> tuple[subprocess.Popen, dict]:
    if not FIXTURE.exists():
        raise RuntimeError(f"the contract LearnDash site is not here ({FIXTURE}): run the benchmark from a checkout")
    process = subprocess.Popen(
        [sys.executable, str(FIXTURE), "--latency", str(latency)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=FIXTURE.parents[2],
    )
    line = process.stdout.readline()
    if not line:
        process.kill()
        raise RuntimeError("the contract LearnDash site did not start")
    return process, json.loads(line)


def bench_sink(*, operations: int, latency_ms: float, rate: float, in_flight: int, out: Callable[[str], None]) -> dict:
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the results
    members_count = math.ceil(operations / COURSES)
    process, site = _site_start(latency_ms / 1000)
    try:
        control = httpx.Client(base_url=site["url"], timeout=120)
        seeded = control.post("/__fixture__/seed", json={"courses": COURSES, "users": members_count}).json()
        connection = connection_create(
            kind=LEARNDASH,
            name="bench",
            url=site["url"],
            credentials={"user": site["username"], "app_password": site["app_password"]},
            settings={"rate": rate, "in_flight": in_flight},
        )
        SiteTarget.objects.bulk_create(
            [
                SiteTarget(
                    connection=connection,
                    kind="course",
                    remote_id=remote,
                    target_id=f"c{i}",
                    title=f"Course {i}",
                    access_mode="closed",
                    imported_at=NOW,
                )
                for i, remote in enumerate(seeded["courses"])
            ]
        )
        members = Member.objects.bulk_create(
            [Member(external_id=f"b{i}", email=f"s{i}@bench.example", created_at=NOW) for i in range(members_count)],
            batch_size=1000,
        )
        Identity.objects.bulk_create(
            [
                Identity(connection=connection, kind=WP_USER, external_id=str(user), member=m, created_at=NOW)
                for m, user in zip(members, seeded["users"], strict=True)
            ],
            batch_size=1000,
        )
        wanted = [
            {
                "target_kind": "course",
                "target_id": f"c{i}",
                "status": "active",
                "access_from": NOW.isoformat(),
                "suspended_since": None,
            }
            for i in range(COURSES)
        ]
        ops = [
            Operation(pk=i + 1, member_id=m.pk, sink="learndash:bench", wanted=wanted) for i, m in enumerate(members)
        ]
        sink = learndash_sink(connection)
        out(
            f"LearnDash sink: {members_count:,} members x {COURSES} courses = {members_count * COURSES:,} enrollments, "
            f"latency {latency_ms:g} ms, rate {rate:g}/s, {in_flight} in flight"
        )
        failed = 0
        began = time.perf_counter()  # a benchmark's stopwatch, not the product's clock
        for start in range(0, len(ops), BATCH):
            batch = ops[start : start + BATCH]
            outcomes = sink.apply(batch, NOW)
            failed += sum(1 for o in outcomes.values() if not o.done)
            mirror_write(
                sink=sink.name,
                holdings={op.member_id: outcomes[op.pk].holds for op in batch if outcomes[op.pk].holds is not None},
                now=NOW,
            )
        elapsed = time.perf_counter() - began
        stats = control.get("/__fixture__/stats").json()
    finally:
        process.kill()
        process.wait()
    enrollments = stats["enrollments"]
    result = {
        "enrollments": enrollments,
        "seconds": elapsed,
        "enrollments_per_second": enrollments / elapsed,
        "requests": stats["requests"],
        "requests_per_second": stats["requests"] / elapsed,
        "most_in_1s": stats["most_in_1s"],
        "peak_in_flight": stats["peak_in_flight"],
        "failed_operations": failed,
        "reenrolls": stats["reenrolls"],
    }
    out(
        f"  {enrollments:,} enrollments in {elapsed:.1f} s: {result['enrollments_per_second']:,.0f} enrollments/s; "
        f"{stats['requests']:,} requests ({result['requests_per_second']:.1f}/s, at most {stats['most_in_1s']} "
        f"within any second, {stats['peak_in_flight']} in flight at most); {failed} operations failed"
    )
    verdict = "within" if stats["most_in_1s"] <= rate and stats["peak_in_flight"] <= in_flight else "OVER"
    out(f"  the site saw {verdict} the rate ({rate:g}/s) and the in-flight limit ({in_flight})")
    return result
