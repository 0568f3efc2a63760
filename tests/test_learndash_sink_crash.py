"""The LearnDash sink converges while the site fails half its requests (half of those after doing the work, the
answer lost) and a real `membersync worker` process is killed with SIGKILL mid-run, several times: every member
ends enrolled on the site exactly as wanted, and no enrollment had a duplicate effect (the site counts every
write of a course's access_from: a re-enroll that restarted a drip would show).

Between runs, operations that failed are made due at once (an operator's "retry now"), so the test does not wait
out the outbox's backoff; OUTBOX_MAX_ATTEMPTS is raised so that bad luck at a 50 % failure rate kills nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.catalog.models import Plan
from membersync.connectors.learndash.models import SiteTarget
from membersync.members.models import Membership, MembershipPause
from membersync.people.models import LEARNDASH, WP_USER, Identity, Member
from membersync.people.services import connection_create
from membersync.sync.models import Operation
from membersync.sync.reconciler import Cause, members_reconcile

BASE = datetime(2026, 5, 1, tzinfo=UTC)
MEMBERS = 40
KILLS = 4
SINK = "learndash:school"
SYSTEM = Actor.system("crash test")


def _worker_environment() -> dict[str, str]:
    env = dict(
        os.environ,
        OUTBOX_LEASE_SECONDS="200",  # E010: a batch of 5 x 8 calls x 1 s fits in half of it
        OUTBOX_BATCH_SIZE="5",
        OUTBOX_MAX_ATTEMPTS="1000",
        SINK_HTTP_TIMEOUT_SECONDS="1",
        DEBUG="1",
    )
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
    """The worker in its own process; what it writes on stderr (every request, at INFO) goes to a file, so that a
    full pipe never blocks it; `_errors(worker)` reads the end of it."""
    log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 (closed with the test process; read after the worker ends)
    worker = subprocess.Popen(
        [sys.executable, "-m", "membersync.cli", "worker", *extra],
        env=_worker_environment(),
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.DEVNULL,
        stderr=log,
        text=True,
    )
    worker.log = log
    return worker


def _errors(worker: subprocess.Popen) -> str:
    worker.log.seek(0)
    return worker.log.read()[-3000:]


def _pending():
    return Operation.objects.filter(sink=SINK, status=Operation.PENDING)


def _retry_now() -> None:
    _pending().update(next_attempt_at=BASE, leased_until=None)


def _academy(site) -> dict[str, int]:
    remote = {"intro": site.course(title="Intro"), "advanced": site.course(title="Advanced")}
    school = connection_create(
        kind=LEARNDASH,
        name="school",
        url=site.url,
        credentials={"user": site.username, "app_password": site.app_password},
        settings={"bases": dict(site.bases), "shadow": False, "brake": False, "rate": 200, "in_flight": 4},
    )
    catalog.course_create(external_id="intro")
    catalog.course_create(external_id="advanced")
    for target in ("intro", "advanced"):
        SiteTarget.objects.create(
            connection=school,
            kind="course",
            remote_id=remote[target],
            target_id=target,
            title=target,
            access_mode="closed",
            imported_at=BASE,
        )
    return remote


@pytest.mark.django_db(transaction=True)
def test_a_site_failing_half_its_requests_and_a_killed_worker_still_end_exactly_as_wanted(
    set_clock, learndash_site_factory
):
    set_clock(BASE)
    site = learndash_site_factory()
    remote = _academy(site)
    catalog.plan_create(external_id="club", length="unlimited", grants=[{"course": "intro"}, {"course": "advanced"}])
    plan = Plan.objects.get(external_id="club")
    members = Member.objects.bulk_create(
        [Member(external_id=f"m{i}", email=f"m{i}@example.com", created_at=BASE) for i in range(MEMBERS)]
    )
    for m in members[::4]:  # a quarter already have a WordPress user
        site.user(email=m.email)
    memberships = Membership.objects.bulk_create(
        [Membership(member=m, plan=plan, start=BASE, created_at=BASE) for m in members]
    )
    ids = [m.pk for m in members]
    members_reconcile(member_ids=ids, now=BASE, cause=Cause("crash test: bought", SYSTEM))
    assert _pending().count() == MEMBERS

    site.fail_fraction(0.5, seed=20261122, after_effect_share=0.5)
    rng = random.Random(11)
    kills = 0
    for round_ in range(KILLS):
        if round_ == 1:  # a third pause mid-run: without the companion, their courses are unenrolled
            MembershipPause.objects.bulk_create(
                [MembershipPause(membership=m, start=BASE, reason="crash test") for m in memberships[::3]]
            )
            members_reconcile(member_ids=ids, now=BASE, cause=Cause("crash test: paused", SYSTEM))
        _retry_now()
        before = len(site.requests)
        worker = _start_worker("--poll", "0.1")
        deadline = time.monotonic() + 60
        while len(site.requests) < before + 5 and worker.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0, 0.3))
        if worker.poll() is None:
            worker.send_signal(signal.SIGKILL)
            kills += 1
        worker.wait(timeout=30)
        assert worker.returncode in (0, -signal.SIGKILL), _errors(worker)
    assert kills >= 2
    assert _pending().exists(), "killed too late to prove anything"

    Operation.objects.filter(sink=SINK, status=Operation.PENDING).update(leased_until=None)  # the killed leases
    for _ in range(200):
        if not _pending().exists():
            break
        _retry_now()
        once = _start_worker("--once")
        assert once.wait(timeout=120) == 0, _errors(once)
    assert not _pending().exists()
    assert not Operation.objects.filter(sink=SINK, status=Operation.DEAD).exists()
    assert site.count() > 0 and any(r.status in (500, 503) for r in site.requests)

    paused = {m.member_id for m in memberships[::3]}
    for m in members:
        identity = Identity.objects.filter(connection__name="school", kind=WP_USER, member=m).first()
        user = int(identity.external_id) if identity else site.user_by_email(m.email)
        wanted = set() if m.pk in paused else {remote["intro"], remote["advanced"]}
        assert (site.enrolled(user) if user else set()) == wanted, f"member {m.external_id}"
    assert max(site.access_from_writes.values()) == 1, "an enrollment was made twice (its drip restarted)"
    emails = [site._users[u].email for u in site.user_ids()]
    assert len(emails) == len(set(emails)), "a WordPress user was made twice for one member"
    check = members_reconcile(member_ids=ids, now=BASE, cause=Cause("check", SYSTEM), dry_run=True)
    assert check.by_member == {}
