"""The reconciler is level-triggered: however often the worker ran in between, the same history gives the same
enrollments, and running it again changes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membersync import clock
from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.errors import ServiceError
from membersync.members import services
from membersync.people.models import Member
from membersync.sync.models import Enrollment, Event, LedgerEntry
from membersync.sync.reconciler import Cause, members_reconcile
from membersync.sync.worker import worker_run_until

BASE = datetime(2026, 1, 1, tzinfo=UTC)

actions = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=24 * 90),  # hours after the previous action
        st.sampled_from(["buy", "pause", "resume", "cancel", "refund", "comp"]),
        st.sampled_from(["weekly", "bootcamp"]),
    ),
    max_size=8,
)


def _catalog():
    for course in ("intro", "week2", "week4", "final"):
        catalog.course_create(external_id=course)
    catalog.plan_create(
        external_id="weekly",
        length="unlimited",
        grants=[{"course": "intro"}, {"course": "week2", "after": "7 days"}, {"course": "week4", "after": "4 weeks"}],
    )
    catalog.plan_create(
        external_id="bootcamp",
        length="60 days",
        grants=[{"course": "intro"}, {"course": "final", "after": "1 months"}],
    )


def _play(history, extra_ticks: bool):
    """Play the history; return the enrollment table at the end (and roll everything back)."""
    with transaction.atomic():
        _catalog()
        now, orders = BASE, 0
        for hours, action, plan in history:
            target = now + timedelta(hours=hours)
            if extra_ticks:
                worker_run_until(now + (target - now) / 2)
            now = target
            worker_run_until(now)
            try:
                if action == "buy":
                    orders += 1
                    services.order_complete(
                        order_id=str(orders), member_id="alice", plan_id=plan, actor=Actor.system("test")
                    )
                elif action == "comp":
                    services.membership_create(
                        member_id="alice", plan_id=plan, status="complimentary", actor=Actor.system("test")
                    )
                elif action == "refund" and orders:
                    services.order_refund(order_id=str(orders), actor=Actor.system("test"))
                elif action in ("pause", "resume", "cancel"):
                    getattr(services, f"membership_{action}")(
                        member_id="alice", plan_id=plan, actor=Actor.system("test")
                    )
            except ServiceError:
                pass  # refused actions are part of a realistic history
        final = now + timedelta(days=120)
        worker_run_until(final)
        enrollments = set(Enrollment.objects.values_list("target_kind", "target_id", "status", "access_from"))
        member = Member.objects.filter(external_id="alice").first()
        second = members_reconcile(member_ids=[member.pk], now=final, cause=Cause("test", "t")) if member else None
        transaction.set_rollback(True)
    clock.set_time(None)
    return enrollments, second


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions)
def test_the_same_history_gives_the_same_enrollments_however_often_the_worker_ran(history):
    sparse, second = _play(history, extra_ticks=False)
    dense, _ = _play(history, extra_ticks=True)
    assert sparse == dense
    if second is not None:
        assert second.operations == 0 and second.ledger_entries == 0


@pytest.mark.django_db
def test_a_duplicate_delivery_is_recorded_and_applied_once(set_clock):
    set_clock(BASE)
    _catalog()
    services.order_complete(
        order_id="9", member_id="bob", plan_id="weekly", actor=Actor.system("test"), idempotency_key="d-1"
    )
    result = services.order_complete(
        order_id="9", member_id="bob", plan_id="weekly", actor=Actor.system("test"), idempotency_key="d-1"
    )
    assert result.duplicate
    assert Member.objects.get(external_id="bob").memberships.count() == 1
    assert Event.objects.filter(outcome=Event.DUPLICATE).count() == 1


@pytest.mark.django_db
def test_the_same_delivery_id_with_other_content_is_a_new_delivery_and_applied(set_clock):
    """A store's delivery id can repeat (a webhook id reused, a counter reset): the key and the content together
    name one delivery."""
    set_clock(BASE)
    _catalog()
    first = services.order_complete(
        order_id="9", member_id="bob", plan_id="weekly", actor=Actor.system("test"), idempotency_key="d-1"
    )
    other = services.order_complete(
        order_id="10", member_id="bob", plan_id="bootcamp", actor=Actor.system("test"), idempotency_key="d-1"
    )
    again = services.order_complete(
        order_id="10", member_id="bob", plan_id="bootcamp", actor=Actor.system("test"), idempotency_key="d-1"
    )
    assert (first.duplicate, other.duplicate, again.duplicate) == (False, False, True)
    plans = Member.objects.get(external_id="bob").memberships.values_list("plan__external_id", flat=True)
    assert sorted(plans) == ["bootcamp", "weekly"]
    assert list(Event.objects.order_by("pk").values_list("outcome", flat=True)) == [
        Event.APPLIED,
        Event.APPLIED,
        Event.DUPLICATE,
    ]


@pytest.mark.django_db
def test_a_refused_event_changes_nothing_and_is_recorded(set_clock):
    set_clock(BASE)
    _catalog()
    with pytest.raises(ServiceError) as refused:
        services.membership_create(member_id="carol", plan_id="weekly", status="free_trial", actor=Actor.system("test"))
    assert refused.value.code == "invalid_status"
    assert not Member.objects.filter(external_id="carol").exists()
    assert Event.objects.get(outcome=Event.REFUSED).error.startswith("invalid_status")


@pytest.mark.django_db
def test_pausing_and_resuming_keeps_the_enrollment_start_shifted_by_the_pause(set_clock):
    set_clock(BASE)
    _catalog()
    services.order_complete(order_id="1", member_id="dana", plan_id="weekly", actor=Actor.system("test"))
    worker_run_until(BASE + timedelta(days=3))
    services.membership_pause(member_id="dana", plan_id="weekly", actor=Actor.system("test"))
    worker_run_until(BASE + timedelta(days=5))
    assert Enrollment.objects.get(target_id="intro").status == Enrollment.SUSPENDED
    services.membership_resume(member_id="dana", plan_id="weekly", actor=Actor.system("test"))
    worker_run_until(BASE + timedelta(days=6))
    intro = Enrollment.objects.get(target_id="intro")
    assert intro.status == Enrollment.ACTIVE
    assert intro.access_from == BASE + timedelta(days=2)
    actions_seen = list(LedgerEntry.objects.filter(target_id="intro").values_list("action", flat=True))
    assert actions_seen == ["opened", "suspended", "resumed"]
    clock.set_time(None)


@pytest.mark.django_db
def test_a_membership_that_expired_by_its_own_length_cannot_be_paused_or_cancelled(set_clock):
    set_clock(BASE)
    _catalog()
    services.membership_create(member_id="erin", plan_id="bootcamp", actor=Actor.system("test"))
    set_clock(BASE + timedelta(days=61))
    for action in (services.membership_pause, services.membership_cancel):
        with pytest.raises(ServiceError) as refused:
            action(member_id="erin", plan_id="bootcamp", actor=Actor.system("test"))
        assert refused.value.code == "not_active"
    assert not Member.objects.get(external_id="erin").memberships.get().pauses.exists()
