"""A worker killed with SIGKILL at random points of a large outbox drain, several times, then restarted: every
member ends exactly as a fresh reconcile wants, no operation is applied twice, none out of order.

The worker is the real `membersync worker` command in its own process, on the test database."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.catalog.models import Plan
from membersync.members.models import Membership, MembershipPause
from membersync.people.models import Member
from membersync.sync.models import Operation
from membersync.sync.reconciler import Cause, members_reconcile

BASE = datetime(2026, 5, 1, tzinfo=UTC)
MEMBERS = 1500
KILLS = 5
LEASE_SECONDS = 2
SYSTEM = Actor.system("crash test")


def _worker_environment() -> dict[str, str]:
    env = dict(os.environ, OUTBOX_LEASE_SECONDS=str(LEASE_SECONDS), OUTBOX_BATCH_SIZE="5", DEBUG="1")
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        env["MEMBERSYNC_SQLITE_PATH"] = database["NAME"]
        env.pop("DATABASE_URL", None)
    else:
        env["DATABASE_URL"] = (
            f"postgres://{database['USER']}:{database['PASSWORD'] or ''}@{database['HOST']}:{database['PORT']}"
            f"/{database['NAME']}"
        )
    return env


def _start_worker(*extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "membersync.cli", "worker", *extra]
    return subprocess.Popen(
        command, env=_worker_environment(), cwd=Path(__file__).resolve().parents[1], stdout=subprocess.DEVNULL
    )


def _done() -> int:
    return Operation.objects.filter(status=Operation.DONE).count()


def _site() -> list[int]:
    """MEMBERS members in a plan; then a third of them paused, so most members have two operations queued."""
    catalog.course_create(external_id="intro")
    catalog.course_create(external_id="advanced")
    catalog.plan_create(external_id="club", length="unlimited", grants=[{"course": "intro"}, {"course": "advanced"}])
    plan = Plan.objects.get(external_id="club")
    members = Member.objects.bulk_create(
        [Member(external_id=f"m{i}", created_at=BASE) for i in range(MEMBERS)], batch_size=500
    )
    memberships = Membership.objects.bulk_create(
        [Membership(member=m, plan=plan, start=BASE, created_at=BASE) for m in members], batch_size=500
    )
    ids = [m.pk for m in members]
    members_reconcile(member_ids=ids, now=BASE, cause=Cause("crash test: bought", SYSTEM))
    MembershipPause.objects.bulk_create(
        [MembershipPause(membership=m, start=BASE, reason="crash test") for m in memberships[::3]]
    )
    members_reconcile(member_ids=ids, now=BASE, cause=Cause("crash test: paused", SYSTEM))
    return ids


@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_at_random_points_of_a_drain_leaves_everyone_as_a_fresh_reconcile_wants(set_clock):
    set_clock(BASE)
    member_ids = _site()
    queued = Operation.objects.filter(status=Operation.PENDING).count()
    assert queued > MEMBERS  # two operations for a third of the members

    rng = random.Random(20261122)
    kills = 0
    for _ in range(KILLS):
        before = _done()
        worker = _start_worker("--poll", "0.1")
        deadline = time.monotonic() + 60
        while _done() == before and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)  # wait until it is draining
        time.sleep(rng.uniform(0, 0.1))
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
            kills += 1
        worker.wait(timeout=30)
        if not Operation.objects.filter(status=Operation.PENDING).exists():
            break
    assert kills >= 2, "the drain ended before the worker could be killed twice: make it larger"
    assert Operation.objects.filter(status=Operation.PENDING).exists(), "killed too late to prove anything"

    time.sleep(LEASE_SECONDS + 0.5)  # the killed worker's leases run out
    final = _start_worker("--once")
    assert final.wait(timeout=300) == 0
    while Operation.objects.filter(status=Operation.PENDING).exists():  # --once does one pass; finish the drain
        assert _start_worker("--once").wait(timeout=300) == 0

    assert not Operation.objects.filter(status=Operation.DEAD).exists()
    done = Operation.objects.filter(status=Operation.DONE)
    assert set(done.values_list("attempts", flat=True)) == {1}, "an operation was applied twice"
    last_done: dict[int, tuple] = {}
    for member_id, pk, done_at in done.order_by("member_id", "pk").values_list("member_id", "pk", "done_at"):
        previous = last_done.get(member_id)
        assert previous is None or previous[1] <= done_at, f"member {member_id}: {pk} applied before {previous[0]}"
        last_done[member_id] = (pk, done_at)
    check = members_reconcile(member_ids=member_ids, now=BASE, cause=Cause("check", SYSTEM), dry_run=True)
    assert check.by_member == {}
