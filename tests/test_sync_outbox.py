"""The outbox: a failing sink is retried with backoff and never loses an operation; two workers never take the
same operation; a worker killed mid-way leaves only a lease that runs out; and a member's operations for a sink
never apply out of order: an older one is superseded, never applied after a newer one."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from membersync import wiring
from membersync.people.models import Member
from membersync.sync import outbox
from membersync.sync.models import Enrollment, Operation
from membersync.sync.sinks import Sink, builtin_apply

NOW = datetime(2026, 3, 1, tzinfo=UTC)
LEASE = timedelta(seconds=60)


def _wanted(*courses: str) -> list[dict]:
    return [
        {
            "target_kind": "course",
            "target_id": course,
            "status": "active",
            "access_from": NOW.isoformat(),
            "suspended_since": None,
        }
        for course in courses
    ]


def _operation(member: Member, *courses: str, key: str) -> Operation:
    return Operation.objects.create(
        member=member,
        wanted=_wanted(*courses),
        changes=[{"action": "enroll", "target_kind": "course", "target_id": c} for c in courses],
        idempotency_key=key,
        next_attempt_at=NOW,
        created_at=NOW,
    )


def _member(name: str) -> Member:
    return Member.objects.create(external_id=name, created_at=NOW)


def _operations(count: int) -> list[Operation]:
    """One operation for each of `count` members, enrolling member i in course ci."""
    return [_operation(_member(f"m{i}"), f"c{i}", key=f"test:{i}") for i in range(count)]


def _courses(member: Member) -> list[str]:
    return sorted(Enrollment.objects.filter(member=member).values_list("target_id", flat=True))


def _status(op: Operation) -> str:
    op.refresh_from_db()
    return op.status


@pytest.fixture(autouse=True)
def clock_at_now(set_clock, settings):
    settings.OUTBOX_LEASE_SECONDS = int(LEASE.total_seconds())
    set_clock(NOW)
    return set_clock


@pytest.fixture
def failing_sink(monkeypatch):
    def fail(operations, now):
        raise ConnectionError("LMS answered 503")

    monkeypatch.setitem(wiring.sinks(), "builtin", Sink("builtin", fail))


@pytest.mark.django_db
def test_a_failing_sink_is_retried_with_growing_waits_and_keeps_its_error(failing_sink, clock_at_now):
    (op,) = _operations(1)
    waits = []
    now = NOW
    for _ in range(3):
        assert outbox.operations_run(worker="w", now=now) == 0
        op.refresh_from_db()
        waits.append(op.next_attempt_at - now)
        assert outbox.operations_run(worker="w", now=now) == 0  # not due again before its wait
        now = op.next_attempt_at
        clock_at_now(now)
    assert waits == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]
    assert op.attempts == 3 and op.status == Operation.PENDING
    assert op.last_error == "ConnectionError: LMS answered 503"


@pytest.mark.django_db
def test_an_operation_is_dead_after_the_last_attempt_and_still_there(failing_sink, settings, clock_at_now):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    (op,) = _operations(1)
    outbox.operations_run(worker="w", now=NOW)
    clock_at_now(NOW + timedelta(hours=1))
    outbox.operations_run(worker="w", now=NOW + timedelta(hours=1))
    op.refresh_from_db()
    assert op.status == Operation.DEAD and op.attempts == 2


@pytest.mark.django_db
def test_one_bad_operation_does_not_hold_back_the_others(monkeypatch):
    ops = _operations(3)

    def picky(operations, now):
        if any(op.pk == ops[1].pk for op in operations):
            raise ValueError("course c1 does not exist in the LMS")
        builtin_apply(operations, now)

    monkeypatch.setitem(wiring.sinks(), "builtin", Sink("builtin", picky))
    assert outbox.operations_run(worker="w", now=NOW) == 2
    assert sorted(Enrollment.objects.values_list("target_id", flat=True)) == ["c0", "c2"]
    assert Operation.objects.get(pk=ops[1].pk).last_error.startswith("ValueError")


@pytest.mark.django_db
def test_a_killed_workers_lease_runs_out_and_another_worker_finishes_the_work(clock_at_now):
    _operations(5)
    taken = outbox.operations_lease(sink="builtin", worker="killed", now=NOW, limit=10)
    assert len(taken) == 5  # ... and the worker dies before applying them
    clock_at_now(NOW + timedelta(seconds=30))
    assert outbox.operations_run(worker="other", now=NOW + timedelta(seconds=30)) == 0
    clock_at_now(NOW + timedelta(seconds=61))
    assert outbox.operations_run(worker="other", now=NOW + timedelta(seconds=61)) == 5
    assert Enrollment.objects.count() == 5
    assert set(Operation.objects.values_list("status", flat=True)) == {Operation.DONE}


@pytest.mark.django_db
def test_applying_a_wanted_state_makes_the_sink_hold_exactly_it():
    ann = _member("ann")
    _operation(ann, "a", "b", key="first")
    outbox.operations_run(worker="w", now=NOW)
    _operation(ann, "b", "c", key="second")
    outbox.operations_run(worker="w", now=NOW)
    assert _courses(ann) == ["b", "c"]


# Both interleavings of an older operation (ann enrolled) and a newer one (ann's access ended).


@pytest.mark.django_db
def test_an_older_operation_whose_worker_died_is_superseded_and_its_late_result_discarded(clock_at_now):
    ann = _member("ann")
    older = _operation(ann, "intro", key="older")
    (leased_by_a,) = outbox.operations_lease(sink="builtin", worker="a", now=NOW, limit=10)  # a stalls here
    newer = _operation(ann, key="newer")  # her access ended: she should hold nothing

    clock_at_now(NOW + LEASE / 2)  # while a's lease runs, b may not overtake it
    assert outbox.operations_run(worker="b", now=NOW + LEASE / 2) == 0
    assert _status(newer) == Operation.PENDING

    later = NOW + LEASE + timedelta(seconds=1)  # a's lease ran out: b applies the newer state
    clock_at_now(later)
    assert outbox.operations_run(worker="b", now=later) == 1
    assert (_status(older), _status(newer)) == (Operation.SUPERSEDED, Operation.DONE)
    assert Operation.objects.get(pk=older.pk).superseded_by_id == newer.pk

    # a wakes up and finishes its older operation: its writes are rolled back, nothing is marked.
    assert outbox.operations_apply([leased_by_a], sink=wiring.sinks()["builtin"], worker="a", now=later) == 0
    assert _courses(ann) == []
    assert _status(older) == Operation.SUPERSEDED


@pytest.mark.django_db
def test_an_older_operation_in_flight_finishes_first_and_the_newer_one_follows(clock_at_now):
    ann = _member("ann")
    older = _operation(ann, "intro", key="older")
    (leased_by_a,) = outbox.operations_lease(sink="builtin", worker="a", now=NOW, limit=10)
    newer = _operation(ann, key="newer")
    assert outbox.operations_run(worker="b", now=NOW) == 0  # a holds ann's older operation: b waits

    assert outbox.operations_apply([leased_by_a], sink=wiring.sinks()["builtin"], worker="a", now=NOW) == 1
    assert _courses(ann) == ["intro"]
    assert outbox.operations_run(worker="b", now=NOW) == 1
    assert (_status(older), _status(newer)) == (Operation.DONE, Operation.DONE)
    assert _courses(ann) == []


@pytest.mark.django_db
def test_a_failed_operation_waiting_for_its_retry_is_superseded_by_a_newer_one(monkeypatch, clock_at_now):
    ann = _member("ann")
    older = _operation(ann, "intro", key="older")
    monkeypatch.setitem(wiring.sinks(), "builtin", Sink("builtin", lambda ops, now: 1 / 0))
    outbox.operations_run(worker="a", now=NOW)
    assert _status(older) == Operation.PENDING  # failed, due again in 10 s

    monkeypatch.setitem(wiring.sinks(), "builtin", Sink("builtin", builtin_apply))
    newer = _operation(ann, key="newer")
    assert outbox.operations_run(worker="a", now=NOW) == 1
    clock_at_now(NOW + timedelta(hours=1))
    assert outbox.operations_run(worker="a", now=NOW + timedelta(hours=1)) == 0
    assert (_status(older), _status(newer)) == (Operation.SUPERSEDED, Operation.DONE)
    assert _courses(ann) == []


@pytest.mark.django_db
def test_retrying_a_dead_operation_that_a_newer_one_replaced_does_not_take_her_back(clock_at_now):
    ann = _member("ann")
    dead = _operation(ann, "intro", key="dead")
    Operation.objects.filter(pk=dead.pk).update(status=Operation.DEAD, attempts=8)
    _operation(ann, "advanced", key="newer")
    outbox.operations_run(worker="w", now=NOW)
    assert _courses(ann) == ["advanced"]

    requeued, done = outbox.operations_retry_now(operation_ids=[dead.pk], now=NOW, worker="w")
    assert (requeued, done) == (0, 0)
    assert _status(dead) == Operation.SUPERSEDED
    assert _courses(ann) == ["advanced"]


@pytest.mark.django_db
def test_a_remote_sinks_late_result_is_discarded_and_the_next_worker_applies_the_same_state(monkeypatch, clock_at_now):
    """A remote sink cannot roll back: a worker that lost its lease still made its calls. The guarantee is no
    duplicate effect: its result is not recorded, and the next worker sends the same wanted state again."""
    held: dict[int, list[str]] = {}
    calls: list[tuple[str, int]] = []

    def remote(operations, now):
        for op in operations:
            calls.append((op.leased_by, op.pk))
            held[op.member_id] = sorted(row["target_id"] for row in op.wanted)

    sink = Sink("builtin", remote, transactional=False)
    monkeypatch.setitem(wiring.sinks(), "builtin", sink)
    ann = _member("ann")
    op = _operation(ann, "intro", key="only")
    (leased_by_a,) = outbox.operations_lease(sink="builtin", worker="a", now=NOW, limit=10)
    later = NOW + LEASE + timedelta(seconds=1)
    clock_at_now(later)
    assert outbox.operations_apply([leased_by_a], sink=sink, worker="a", now=later) == 0  # too late
    assert _status(op) == Operation.PENDING
    assert outbox.operations_run(worker="b", now=later) == 1
    assert _status(op) == Operation.DONE
    assert calls == [("a", op.pk), ("b", op.pk)]
    assert held == {ann.pk: ["intro"]}


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


def test_a_remote_sink_whose_batch_could_outlast_half_the_lease_fails_the_system_check(monkeypatch, settings):
    from membersync.sync.checks import remote_sinks_finish_inside_the_lease

    settings.SINK_HTTP_TIMEOUT_SECONDS = 10
    settings.OUTBOX_BATCH_SIZE = 500
    remote = Sink("lms", lambda ops, now: None, transactional=False, batch_limit=20, calls_per_operation=2)
    monkeypatch.setitem(wiring.sinks(), "lms", remote)
    (error,) = remote_sinks_finish_inside_the_lease()
    assert error.id == "membersync.E010" and "400 s" in error.msg
    settings.SINK_HTTP_TIMEOUT_SECONDS = 0.5
    assert remote_sinks_finish_inside_the_lease() == []
