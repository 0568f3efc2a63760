"""The outbox: a failing sink is retried with backoff and never loses an operation; two workers never take the
same operation; a worker killed mid-way leaves only a lease that runs out."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from membersync import wiring
from membersync.people.models import Member
from membersync.sync import outbox
from membersync.sync.models import Enrollment, Operation

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _operations(count: int) -> list[Operation]:
    member = Member.objects.create(external_id="ann", created_at=NOW)
    return Operation.objects.bulk_create(
        [
            Operation(
                member=member,
                changes=[
                    {"action": "enroll", "target_kind": "course", "target_id": f"c{i}", "access_from": NOW.isoformat()}
                ],
                idempotency_key=f"test:{i}",
                next_attempt_at=NOW,
                created_at=NOW,
            )
            for i in range(count)
        ]
    )


@pytest.fixture
def failing_sink(monkeypatch):
    def fail(operations, now):
        raise ConnectionError("LMS answered 503")

    monkeypatch.setitem(wiring.sinks(), "builtin", fail)


@pytest.mark.django_db
def test_a_failing_sink_is_retried_with_growing_waits_and_keeps_its_error(failing_sink):
    (op,) = _operations(1)
    waits = []
    now = NOW
    for _ in range(3):
        assert outbox.operations_run(worker="w", now=now) == 0
        op.refresh_from_db()
        waits.append(op.next_attempt_at - now)
        assert outbox.operations_run(worker="w", now=now) == 0  # not due again before its wait
        now = op.next_attempt_at
    assert waits == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]
    assert op.attempts == 3 and op.status == Operation.PENDING
    assert op.last_error == "ConnectionError: LMS answered 503"


@pytest.mark.django_db
def test_an_operation_is_dead_after_the_last_attempt_and_still_there(failing_sink, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    (op,) = _operations(1)
    outbox.operations_run(worker="w", now=NOW)
    outbox.operations_run(worker="w", now=NOW + timedelta(hours=1))
    op.refresh_from_db()
    assert op.status == Operation.DEAD and op.attempts == 2


@pytest.mark.django_db
def test_one_bad_operation_does_not_hold_back_the_others(monkeypatch):
    ops = _operations(3)
    real = wiring.sinks()["builtin"]

    def picky(operations, now):
        if any(op.pk == ops[1].pk for op in operations):
            raise ValueError("course c1 does not exist in the LMS")
        real(operations, now)

    monkeypatch.setitem(wiring.sinks(), "builtin", picky)
    assert outbox.operations_run(worker="w", now=NOW) == 2
    assert sorted(Enrollment.objects.values_list("target_id", flat=True)) == ["c0", "c2"]
    assert Operation.objects.get(pk=ops[1].pk).last_error.startswith("ValueError")


@pytest.mark.django_db
def test_a_killed_workers_lease_runs_out_and_another_worker_finishes_the_work(settings):
    settings.OUTBOX_LEASE_SECONDS = 60
    _operations(5)
    taken = outbox.operations_lease(sink="builtin", worker="killed", now=NOW, limit=10)
    assert len(taken) == 5  # ... and the worker dies before applying them
    assert outbox.operations_run(worker="other", now=NOW + timedelta(seconds=30)) == 0
    assert outbox.operations_run(worker="other", now=NOW + timedelta(seconds=61)) == 5
    assert Enrollment.objects.count() == 5
    assert set(Operation.objects.values_list("status", flat=True)) == {Operation.DONE}


@pytest.mark.django_db(transaction=True)
def test_two_workers_leasing_at_once_never_take_the_same_operation():
    ops = _operations(200)
    taken: dict[str, list[int]] = {"a": [], "b": []}
    errors = []

    def work(name: str) -> None:
        try:
            while batch := outbox.operations_lease(sink="builtin", worker=name, now=NOW, limit=7):
                taken[name].extend(op.pk for op in batch)
        except Exception as error:  # reported below; a thread's exception would otherwise vanish
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(name,)) for name in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert not set(taken["a"]) & set(taken["b"])
    assert sorted(taken["a"] + taken["b"]) == sorted(op.pk for op in ops)
