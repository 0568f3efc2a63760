"""Several workers drain the outbox while members' access keeps changing, each on its own database connection:
no member's operations are ever applied out of order, and every member ends holding exactly what her sources
want. (On PostgreSQL the workers really run side by side; SQLite takes their writes one at a time.)"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime

import pytest
from django.db import connections, transaction

from membersync import wiring
from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.members import services
from membersync.people.models import Member
from membersync.sync import outbox
from membersync.sync.models import Operation
from membersync.sync.reconciler import Cause, members_reconcile
from membersync.sync.sinks import Sink, builtin_apply

BASE = datetime(2026, 4, 1, tzinfo=UTC)
MEMBERS = 12
CHANGES = 60
WORKERS = 3
ADMIN = Actor.operator("admin")


def _member_ids() -> list[int]:
    return list(Member.objects.order_by("pk").values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_several_workers_apply_each_members_operations_in_order_and_leave_what_her_sources_want(set_clock, monkeypatch):
    set_clock(BASE)
    catalog.course_create(external_id="intro")
    catalog.plan_create(external_id="club", length="unlimited", grants=[{"course": "intro"}])
    for i in range(MEMBERS):
        services.membership_create(member_id=f"m{i}", plan_id="club", external_id=f"ms{i}", actor=ADMIN)

    applied: dict[int, list[int]] = defaultdict(list)  # member pk -> the pks of her operations, as committed
    lock = threading.Lock()

    def slow_builtin(operations, now):
        time.sleep(random.uniform(0, 0.01))  # widen the windows in which workers overlap
        builtin_apply(operations, now)
        batch = [(op.member_id, op.pk) for op in operations]

        def record():
            with lock:
                for member_id, pk in batch:
                    applied[member_id].append(pk)

        transaction.on_commit(record)

    monkeypatch.setitem(wiring.sinks(), "builtin", Sink("builtin", slow_builtin, batch_limit=3))
    stop = threading.Event()
    errors: list[BaseException] = []

    def work(name: str) -> None:
        try:
            while not stop.is_set():
                if not outbox.operations_run(worker=name, now=BASE):
                    time.sleep(0.002)
        except BaseException as error:  # reported below; a thread's exception would otherwise vanish
            errors.append(error)
        finally:
            connections.close_all()

    def change_access() -> None:
        rng = random.Random(8)
        paused: set[int] = set()
        try:
            for _ in range(CHANGES):
                i = rng.randrange(MEMBERS)
                if i in paused:
                    services.membership_resume(membership_id=f"ms{i}", actor=ADMIN)
                    paused.discard(i)
                else:
                    services.membership_pause(membership_id=f"ms{i}", actor=ADMIN)
                    paused.add(i)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, args=(f"w{n}",)) for n in range(WORKERS)]
    changer = threading.Thread(target=change_access)
    for thread in [*workers, changer]:
        thread.start()
    changer.join(timeout=300)
    deadline = time.monotonic() + 120
    while Operation.objects.filter(status=Operation.PENDING).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    for thread in workers:
        thread.join(timeout=60)

    assert errors == []
    assert not Operation.objects.filter(status__in=(Operation.PENDING, Operation.DEAD)).exists()
    for member_id, pks in applied.items():
        assert pks == sorted(pks), f"member {member_id}'s operations were applied out of order: {pks}"
    done = Operation.objects.filter(status=Operation.DONE)
    assert sorted(done.values_list("pk", flat=True)) == sorted(pk for pks in applied.values() for pk in pks)
    assert set(done.values_list("attempts", flat=True)) == {1}, "an operation was applied twice"
    # Nothing left to do: the enrollment table holds exactly what every member's sources want now.
    check = members_reconcile(member_ids=_member_ids(), now=BASE, cause=Cause("check", ADMIN), dry_run=True)
    assert check.by_member == {}
