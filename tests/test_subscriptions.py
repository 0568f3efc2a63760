"""Subscriptions drive memberships: the grace period, the kept enrollment start, switches, stale updates, frozen
ends, and what `explain` says. Everything goes through the services and the worker, on the one clock."""

from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.errors import ServiceError
from membersync.members.models import Membership, MembershipPause, Subscription, SubscriptionChange
from membersync.members.subscriptions import (
    membership_link,
    subscription_delete,
    subscription_switch,
    subscription_update,
)
from membersync.people.models import Member
from membersync.sync.explain import explanation_text
from membersync.sync.models import Enrollment, Event, LedgerEntry, Operation
from membersync.sync.selectors import member_explain
from membersync.sync.worker import worker_run_until

from .conftest import at

START = at("2026-01-01T09:00")


def step(moment):
    """Let time pass to `moment` exactly as production does: the worker does every due thing on the way."""
    worker_run_until(moment)


def update(moment, status, *, sub="101", member="alice", plan="gold", **fields):
    step(moment)
    state = {"id": sub, "member": member, "status": status, **fields}
    if plan is not None:
        state["plan"] = plan
    result = subscription_update(subscription=state, actor=Actor.connection("store"), source="webhook")
    step(moment)
    return result


def enrollment(member="alice", course="intro") -> Enrollment | None:
    return Enrollment.objects.filter(member__external_id=member, target_kind="course", target_id=course).first()


def membership(member="alice", plan="gold") -> Membership:
    return Membership.objects.filter(member__external_id=member, plan__external_id=plan).latest("pk")


def unenrolled_ever(member="alice", course="intro") -> bool:
    return any(
        change["action"] == "unenroll" and change["target_id"] == course
        for changes in Operation.objects.filter(member__external_id=member).values_list("changes", flat=True)
        for change in changes
    )


def gold_plan(**extra):
    catalog.course_create(external_id="intro")
    return catalog.plan_create(external_id="gold", length="subscription", grants=[{"course": "intro"}], **extra)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(grace_days=st.integers(min_value=0, max_value=5), on_hold_hours=st.integers(min_value=1, max_value=240))
def test_an_on_hold_shorter_than_the_grace_is_never_felt_and_a_longer_one_pauses_after_it(grace_days, on_hold_hours):
    # A recovery at the very instant the grace ends ties with the worker's pause at that instant; like the
    # shared scenarios (FORMAT.md), this leaves the exact boundary to the implementation.
    assume(on_hold_hours != grace_days * 24)
    with transaction.atomic():
        gold_plan(on_hold_grace=f"{grace_days} days" if grace_days else None)
        update(START, "active")
        on_hold_at = START + timedelta(days=10)
        update(on_hold_at, "on-hold")
        recovered_at = on_hold_at + timedelta(hours=on_hold_hours)
        update(recovered_at, "active")

        grace = timedelta(days=grace_days)
        felt = max(timedelta(0), timedelta(hours=on_hold_hours) - grace)
        assert enrollment().status == Enrollment.ACTIVE
        # the enrollment start keeps its place, pushed back by exactly the time the student felt
        assert enrollment().access_from == START + felt
        assert not unenrolled_ever()
        suspended = LedgerEntry.objects.filter(action=LedgerEntry.SUSPENDED, target_id="intro").exists()
        assert suspended == (felt > timedelta(0))
        assert MembershipPause.objects.exists() == (felt > timedelta(0))
        assert membership().status == "active"
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_during_the_grace_the_membership_stays_active_and_after_it_is_paused():
    gold_plan(on_hold_grace="3 days")
    update(START, "active")
    update(START + timedelta(days=10), "on-hold")
    step(START + timedelta(days=12))
    assert membership().status == "active"
    assert "grace" in membership().status_rule
    assert enrollment().status == Enrollment.ACTIVE
    step(START + timedelta(days=13, hours=1))
    assert membership().status == "paused"
    assert enrollment().status == Enrollment.SUSPENDED
    assert enrollment().access_from == START  # a suspended enrollment keeps its start


@pytest.mark.django_db
def test_resumed_enrollments_keep_their_start_shifted_by_every_paused_interval_never_reset():
    gold_plan()
    update(START, "active")
    update(START + timedelta(days=5), "on-hold")
    update(START + timedelta(days=8), "active")  # 3 days paused
    update(START + timedelta(days=20), "on-hold")
    step(START + timedelta(days=21))
    assert enrollment().status == Enrollment.SUSPENDED
    assert enrollment().access_from == START + timedelta(days=3)
    update(START + timedelta(days=27), "active")  # 7 more days
    assert enrollment().status == Enrollment.ACTIVE
    assert enrollment().access_from == START + timedelta(days=10)
    assert not unenrolled_ever()


@pytest.mark.django_db
def test_a_switch_keeps_the_shared_course_open_with_its_original_enrollment_start():
    catalog.course_create(external_id="intro")
    catalog.course_create(external_id="advanced")
    catalog.plan_create(external_id="silver", length="subscription", grants=[{"course": "intro"}])
    catalog.plan_create(external_id="gold", length="subscription", grants=[{"course": "intro"}, {"course": "advanced"}])
    update(START, "active", sub="301", plan="silver")
    switched_at = START + timedelta(days=9)
    step(switched_at)
    subscription_switch(
        from_id="301", to={"id": "302", "plan": "gold", "status": "active"}, actor=Actor.connection("store")
    )
    step(switched_at)

    assert enrollment(course="intro").access_from == START
    assert enrollment(course="advanced").access_from == switched_at
    assert not unenrolled_ever(course="intro")
    old, new = Subscription.objects.get(external_id="301"), Subscription.objects.get(external_id="302")
    assert old.status == "switched" and old.switched_to == new
    silver = membership(plan="silver")
    assert (silver.status, silver.subscription, silver.last_subscription) == ("cancelled", None, old)
    assert "switched to subscription 302" in silver.ended_by
    assert membership(plan="gold").subscription == new
    # in the ledger the silver grant closes at the very instant the gold grant opens: one continuous run
    intro = LedgerEntry.objects.filter(target_id="intro", at=switched_at)
    assert {e.action for e in intro} == {LedgerEntry.CLOSED, LedgerEntry.OPENED}


@pytest.mark.django_db
def test_a_stale_update_is_recorded_and_not_applied_and_every_applied_state_is_history():
    gold_plan()
    update(START, "active")
    update(START + timedelta(days=2), "on-hold")
    update(START + timedelta(days=3), "active")
    update(START + timedelta(days=4), "on-hold", modified=START + timedelta(days=2))

    assert Subscription.objects.get().status == "active"
    assert membership().status == "active"
    stale = Event.objects.get(outcome=Event.STALE)
    assert stale.kind == "subscription.update" and "stale" in stale.error
    assert list(SubscriptionChange.objects.values_list("status", flat=True)) == ["active", "on-hold", "active"]
    # the same state again records no new history and changes nothing
    update(START + timedelta(days=5), "active")
    assert SubscriptionChange.objects.count() == 3
    assert MembershipPause.objects.filter(end__isnull=True).count() == 0


@pytest.mark.django_db
def test_a_late_cancelled_webhook_keeps_the_end_at_the_prepaid_period():
    gold_plan()
    update(START, "active")
    paid_until = at("2026-02-01")
    update(START + timedelta(days=20), "pending-cancel", end=paid_until)
    step(paid_until + timedelta(days=1))
    assert membership().status == "cancelled"  # by time: no webhook needed
    assert enrollment() is None
    update(paid_until + timedelta(days=7), "cancelled")
    m = membership()
    assert (m.base_status, m.ended_at, m.subscription_id) == ("cancelled", paid_until, None)
    assert LedgerEntry.objects.get(action=LedgerEntry.CLOSED, target_id="intro").at == paid_until


@pytest.mark.django_db
def test_a_linked_membership_follows_its_new_subscription():
    gold_plan()
    from membersync.members.services import membership_create

    step(START)
    membership_create(member_id="alice", plan_id="gold", actor=Actor.operator("admin"))
    update(START + timedelta(days=1), "active", sub="900", plan=None)
    assert Membership.objects.count() == 1  # a subscription without a plan creates no membership
    step(START + timedelta(days=2))
    membership_link(member_id="alice", plan_id="gold", subscription_id="900", actor=Actor.operator("admin"))
    update(START + timedelta(days=3), "on-hold", sub="900", plan=None)
    assert membership().status == "paused"
    step(START + timedelta(days=4))
    subscription_delete(subscription_id="900", actor=Actor.connection("store"))
    step(START + timedelta(days=4))
    m = membership()
    assert (m.status, m.subscription_id) == ("cancelled", None)
    assert Subscription.objects.get().status == "trash"


@pytest.mark.parametrize(
    "state, code, field",
    [
        ({"plan": "platinum", "status": "active"}, "not_found", "subscription.plan"),
        ({"plan": "gold", "status": "suspended"}, "invalid_status", "subscription.status"),
        (
            {"plan": "gold", "status": "active", "start": at("2026-01-10"), "trial_end": at("2026-01-05")},
            "invalid_value",
            "subscription.trial_end",
        ),
    ],
)
@pytest.mark.django_db
def test_bad_updates_are_refused_naming_the_field_and_change_nothing(state, code, field):
    gold_plan()
    step(START)
    with pytest.raises(ServiceError) as refused:
        subscription_update(subscription={"id": "1", "member": "zoe", **state}, actor=Actor.connection("store"))
    assert (refused.value.code, refused.value.field) == (code, field)
    assert not Member.objects.exists() and not Subscription.objects.exists() and not Membership.objects.exists()
    assert Event.objects.get().outcome == Event.REFUSED


@pytest.mark.django_db
def test_a_switch_from_an_unknown_subscription_is_refused():
    gold_plan()
    step(START)
    with pytest.raises(ServiceError) as refused:
        subscription_switch(
            from_id="nope", to={"id": "2", "plan": "gold", "status": "active"}, actor=Actor.connection("store")
        )
    assert (refused.value.code, refused.value.field) == ("not_found", "from")
    assert not Subscription.objects.exists()


@pytest.mark.django_db
def test_explain_names_the_subscription_behind_each_grant_and_the_rule_behind_the_status():
    gold_plan()
    update(START, "active", trial_end=at("2026-01-15"))
    text = explanation_text(member_explain(member=Member.objects.get(), at=START + timedelta(days=2)))
    assert "tied to subscription 101" in text
    assert "status free_trial: subscription 101 is in its free trial until 2026-01-15" in text
    update(START + timedelta(days=20), "on-hold")
    text = explanation_text(member_explain(member=Member.objects.get(), at=START + timedelta(days=21)))
    assert "status paused: subscription 101 is on-hold" in text
