"""The API benchmark: `GET /api/v1/members/{member}/access/{course}` with a read key, against `membersync serve`
with two workers, over 100,000 members.

The members and what the reconciler stored for them (grant records, enrollments, their last computation) are written
with bulk inserts, as a reconciled site holds them: an access check reads that state and recomputes nothing, so
how it was made does not matter here. The load comes from Debian's `wrk` (C, little CPU; `apt-get install wrk`)
with a Lua script picking a random member per request, one thread and 8 connections (gunicorn's sync workers close
each after its answer), for as long as N requests take at the rate a 3 s run found; without `wrk`, from a few
Python threads sending exactly N (costs more CPU on this machine, said in the output). The server's CPU time is
counted over the measured run only.
"""

from __future__ import annotations

import http.client
import math
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection as database
from django.db import transaction

from membersync import clock
from membersync.api.keys import apikey_create
from membersync.catalog.models import Course
from membersync.people.models import Member
from membersync.sync.models import Enrollment, GrantRecord, MemberAccess

from .webhooks import Server, percentile

COURSES = ("course-a", "course-b", "course-c")
BATCH = 5_000
WORKERS = 2
CONNECTIONS = 8


def site_bulk_build(*, members: int) -> None:
    """`members` members; each has an open grant of one course and its enrollment (a third of them none: the
    answer is then "no access"), with bulk writes, 5,000 rows a statement."""
    now = clock.now()
    Course.objects.bulk_create([Course(external_id=c, title=c) for c in COURSES])
    for start in range(0, members, BATCH):
        ids = range(start, min(start + BATCH, members))
        with transaction.atomic():
            made = Member.objects.bulk_create(
                [Member(external_id=f"m{n}", email=f"m{n}@bench.invalid", created_at=now) for n in ids]
            )
            grants, enrollments = [], []
            for n, member in zip(ids, made, strict=True):
                course = COURSES[n % 3]
                if course == COURSES[2]:
                    continue
                key = f"plan:1:{course}"
                grants.append(
                    GrantRecord(
                        member=member,
                        key=key,
                        target_kind="course",
                        target_id=course,
                        source_kind="membership",
                        source_id=str(n),
                        state="open",
                        opens_at=now,
                    )
                )
                enrollments.append(
                    Enrollment(member=member, target_kind="course", target_id=course, access_from=now, updated_at=now)
                )
            GrantRecord.objects.bulk_create(grants)
            Enrollment.objects.bulk_create(enrollments)
            MemberAccess.objects.bulk_create([MemberAccess(member=m, computed_at=now) for m in made])


WRK_SCRIPT = """
local members = {members}
local courses = {{"course-a", "course-b", "course-c"}}
function setup(thread) thread:set("seed", math.random(1, 1000000)) end
function init(args) math.randomseed(seed) end
function request()
  local n = math.random(0, members - 1)
  return wrk.format("GET", "/api/v1/members/m" .. n .. "/access/" .. courses[(n % 3) + 1], wrk.headers)
end
"""
CALIBRATION_SECONDS = 3


def _wrk_run(port: int, token: str, script: str, seconds: int) -> dict:
    command = [
        "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", script,
        "-H", f"Authorization: Bearer {token}", f"http://127.0.0.1:{port}",
    ]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout

    def millis(label: str) -> float:
        value, unit = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.M).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": millis("50%"),
        "p99_ms": millis("99%"),
        "errors": int(bad.group(1)) if bad else 0,
    }


def _wrk_prepared(port: int, token: str, *, members: int, requests: int, folder: str) -> tuple[str, int]:
    """The Lua script, and how long the measured run lasts. wrk runs for a duration, not a count (a thread that
    stops early leaves the run going until its end, with connections open and no request sent, on which a sync
    worker waits until gunicorn's timeout kills it): a short run measures the rate, and the measured run lasts as
    long as `requests` take at that rate."""
    script = os.path.join(folder, "access.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT.format(members=members))
    rate = _wrk_run(port, token, script, CALIBRATION_SECONDS)["per_second"]
    return script, max(5, math.ceil(requests / max(rate, 1.0)))


def _threads(port: int, token: str, *, members: int, requests: int) -> dict:
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()
    rng = random.Random(13)
    picks = [rng.randrange(members) for _ in range(requests)]
    share = [picks[i::CONNECTIONS] for i in range(CONNECTIONS)]

    def run(mine: list[int]) -> None:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for n in mine:
            began = time.perf_counter()  # a benchmark's stopwatch, not the product's clock
            client.request(
                "GET", f"/api/v1/members/m{n}/access/{COURSES[n % 3]}", headers={"Authorization": f"Bearer {token}"}
            )
            response = client.getresponse()
            response.read()
            with lock:
                times.append((time.perf_counter() - began) * 1000)
                errors[0] += response.status != 200
        client.close()

    began = time.perf_counter()
    workers = [threading.Thread(target=run, args=(mine,)) for mine in share]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - began
    return {
        "tool": f"Python threads ({CONNECTIONS} keep-alive connections; wrk not installed)",
        "requests": len(times),
        "per_second": len(times) / seconds,
        "p50_ms": percentile(times, 0.5),
        "p99_ms": percentile(times, 0.99),
        "errors": errors[0],
    }


def _wait_ready(server: Server, token: str, *, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(f"membersync serve stopped:\n{server.log()}")
        try:
            client = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            client.request("GET", "/api/v1/members/m0/access/course-a", headers={"Authorization": f"Bearer {token}"})
            if client.getresponse().status == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"membersync serve did not answer within {timeout:.0f} s:\n{server.log()}")
        time.sleep(0.2)


def bench_api(*, requests: int, members: int = 100_000, out: Callable[[str], None]) -> dict:
    began = time.perf_counter()
    site_bulk_build(members=members)
    built = time.perf_counter() - began
    _, token = apikey_create(name="bench", scope="read", rate_per_minute=100_000_000)
    out(f"database: {database.vendor}; {members:,} members with their stored access, written in {built:.1f} s")
    with tempfile.TemporaryDirectory(prefix="membersync-bench-") as folder:
        server = Server(workers=WORKERS, secrets_key=settings.SECRETS_KEY or "", folder=folder)
        try:
            _wait_ready(server, token)
            for n in range(0, 200):  # every worker has loaded and opened its database connection
                http_get = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
                http_get.request(
                    "GET", f"/api/v1/members/m{n}/access/course-a", headers={"Authorization": f"Bearer {token}"}
                )
                http_get.getresponse().read()
            if shutil.which("wrk"):
                script, seconds = _wrk_prepared(server.port, token, members=members, requests=requests, folder=folder)
                cpu = server.cpu_seconds()
                result = _wrk_run(server.port, token, script, seconds)
                result["tool"] = f"wrk, 1 thread, {CONNECTIONS} connections, {seconds} s"
            else:
                cpu = server.cpu_seconds()
                result = _threads(server.port, token, members=members, requests=requests)
            after = server.cpu_seconds()
        finally:
            server.stop()
    result["server_cpu_ms_per_request"] = (
        # None when a worker was replaced during the run (its CPU time left the count).
        (after - cpu) * 1000 / result["requests"] if cpu is not None and after and after >= cpu else None
    )
    out(
        f"server: membersync serve --workers {WORKERS}; load: {result['tool']}\n"
        f"{result['requests']:,} access checks: {result['per_second']:,.0f}/s, p50 {result['p50_ms']:.1f} ms, "
        f"p99 {result['p99_ms']:.1f} ms, {result['errors']} not 200"
        + (
            f"; server CPU {result['server_cpu_ms_per_request']:.2f} ms per check"
            if result["server_cpu_ms_per_request"]
            else ""
        )
    )
    return result
