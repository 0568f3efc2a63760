"""Deliveries arrive in any order, late, or not at all; what a subscription's deliveries leave behind must not
depend on it (issue 8). Each test states one rule in general: a switch whichever side arrives first; a
reactivation known only after the pending-cancel end; a payment plan first seen already expired."""

import itertools
from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.members.models import Membership, Subscription
from membersync.members.subscriptions import subscription_switch, subscription_update
from membersync.sync.models import Enrollment

from .conftest import at
from .test_subscriptions import enrollment, membership, step

START = at("2026-01-01T09:00")
STORE = Actor.connection("store")
BOUNDED = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def deliver(arrives, state):
    """The store's delivery of a subscription's whole state, arriving at `arrives`."""
    step(arrives)
    result = subscription_update(subscription={"member": "alice", **state}, actor=STORE)
    step(arrives)
    return result


def plans():
    catalog.course_create(external_id="intro")
    catalog.course_create(external_id="advanced")
    catalog.plan_create(external_id="silver", length="subscription", grants=[{"course": "intro"}])
    catalog.plan_create(
        external_id="gold",
        length="subscription",
        grants=[{"course": "intro"}, {"course": "advanced", "after": "30 days"}],
    )


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
@pytest.mark.django_db
def test_a_switch_applies_whichever_side_is_known_whatever_order_its_deliveries_arrive_in(order):
    plans()
    deliver(START, {"id": "301", "plan": "silver", "status": "active", "start": START, "modified": START})
    switched_at = START + timedelta(days=9)
    new_state = {"id": "302", "plan": "gold", "status": "active", "start": switched_at, "modified": switched_at}
    deliveries = [
        lambda: subscription_switch(from_id="301", to=new_state, actor=STORE),
        lambda: subscription_update(
            subscription={
                "id": "301",
                "member": "alice",
                "plan": "silver",
                "status": "switched",
                "modified": switched_at,
            },
            actor=STORE,
        ),
        lambda: subscription_update(subscription={"member": "alice", **new_state}, actor=STORE),
    ]
    for hours, index in enumerate(order):
        step(switched_at + timedelta(hours=hours))
        deliveries[index]()
    step(switched_at + timedelta(days=40))

    old, new = Subscription.objects.get(external_id="301"), Subscription.objects.get(external_id="302")
    assert (old.status, old.switched_to, new.status) == ("switched", new, "active")
    assert membership(plan="silver").status == "cancelled"
    assert list(Membership.objects.filter(plan__external_id="gold").values_list("status", "subscription")) == [
        ("active", new.pk)
    ]
    # the shared course keeps its place; the new plan's drip counts from the switch
    assert enrollment(course="intro").access_from == START
    assert enrollment(course="advanced").access_from == switched_at + timedelta(days=30)


@pytest.mark.django_db
@BOUNDED
@given(
    before_end=st.integers(min_value=1, max_value=9 * 24),
    late=st.integers(min_value=1, max_value=20 * 24),
)
def test_a_reactivation_that_arrives_after_the_prepaid_end_took_effect_before_it(before_end, late):
    """Its `modified` says when it took effect: before the end, so the end never happened and the student keeps
    her enrollment start exactly, as if the delivery had come on time."""
    with transaction.atomic():
        plans()
        deliver(START, {"id": "101", "plan": "gold", "status": "active", "modified": START})
        ends = START + timedelta(days=20)
        cancelled_at = START + timedelta(days=10)
        deliver(cancelled_at, {"id": "101", "plan": "gold", "status": "pending-cancel", "end": ends})
        reactivated = ends - timedelta(hours=before_end)
        deliver(
            ends + timedelta(hours=late), {"id": "101", "plan": "gold", "status": "active", "modified": reactivated}
        )

        assert membership().status == "active"
        assert enrollment().status == Enrollment.ACTIVE and enrollment().access_from == START
        step(START + timedelta(days=60))
        assert membership().status == "active"
        assert enrollment(course="advanced").access_from == START + timedelta(days=30)
        transaction.set_rollback(True)


@pytest.mark.django_db
@BOUNDED
@given(gap_hours=st.integers(min_value=1, max_value=40 * 24), renewals=st.integers(min_value=0, max_value=3))
def test_a_renewal_after_a_lost_reactivation_undoes_the_prepaid_end_and_the_gap_counts_as_a_suspension(
    gap_hours, renewals
):
    """The reactivation never arrives; the next renewal says the subscription is active. The end that the
    prepaid period brought is undone: the student is enrolled again with her enrollment start kept, pushed
    back by the gap, and the drip clock is pushed back with it. Later renewals keep it so."""
    with transaction.atomic():
        plans()
        deliver(START, {"id": "101", "plan": "gold", "status": "active", "modified": START})
        ends = START + timedelta(days=20)
        deliver(START + timedelta(days=10), {"id": "101", "plan": "gold", "status": "pending-cancel", "end": ends})
        step(ends + timedelta(hours=gap_hours) - timedelta(minutes=1))
        assert membership().status == "cancelled" and enrollment() is None  # the end came, by time

        gap = timedelta(hours=gap_hours)
        renewed = ends + gap
        for n in range(renewals + 1):
            moment = renewed + timedelta(days=30 * n)
            deliver(moment, {"id": "101", "plan": "gold", "status": "active", "next_payment": moment + timedelta(30)})

        assert membership().status == "active"
        assert enrollment().status == Enrollment.ACTIVE and enrollment().access_from == START + gap
        step(renewed + timedelta(days=30 * renewals + 40))
        assert membership().status == "active"
        assert enrollment(course="advanced").access_from == START + gap + timedelta(days=30)
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_cancelled_delivery_after_the_prepaid_end_keeps_the_end_where_it_was():
    plans()
    deliver(START, {"id": "101", "plan": "gold", "status": "active"})
    ends = START + timedelta(days=20)
    deliver(START + timedelta(days=10), {"id": "101", "plan": "gold", "status": "pending-cancel", "end": ends})
    deliver(ends + timedelta(days=3), {"id": "101", "plan": "gold", "status": "cancelled"})
    deliver(ends + timedelta(days=5), {"id": "101", "plan": "gold", "status": "active"})
    m = membership()
    assert (m.status, m.ended_at, m.subscription_id) == ("cancelled", ends, None)
    assert enrollment() is None


@pytest.mark.django_db
@BOUNDED
@given(
    plan=st.sampled_from(["term", "lifetime", "gold"]),
    started_days_before=st.integers(min_value=0, max_value=200),
)
def test_a_payment_plan_first_seen_expired_creates_the_membership_its_own_length_gives(plan, started_days_before):
    """Earlier deliveries were lost: the plan's own length, counted from the subscription's start, says what the
    member has. A subscription-tied plan first seen expired has nothing to give."""
    with transaction.atomic():
        catalog.course_create(external_id="intro")
        catalog.plan_create(external_id="term", length="90 days", grants=[{"course": "intro"}])
        catalog.plan_create(external_id="lifetime", length="unlimited", grants=[{"course": "intro"}])
        catalog.plan_create(external_id="gold", length="subscription", grants=[{"course": "intro"}])
        seen = START + timedelta(days=200)
        started = seen - timedelta(days=started_days_before)
        deliver(seen, {"id": "201", "plan": plan, "status": "expired", "start": started})

        if plan == "gold":
            assert not Membership.objects.exists() and enrollment() is None
        else:
            m = membership(plan=plan)
            sub = Subscription.objects.get()
            assert (m.start, m.subscription, m.last_subscription) == (started, None, sub)
            runs = plan == "lifetime" or started + timedelta(days=90) > seen
            assert m.status == ("active" if runs else "expired")
            assert (enrollment().access_from if enrollment() else None) == (started if runs else None)
            # a later delivery of the same subscription makes no second one
            deliver(seen + timedelta(days=1), {"id": "201", "plan": plan, "status": "expired", "start": started})
            assert Membership.objects.count() == 1
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_switch_that_arrives_before_anything_about_the_old_subscription_records_it_as_switched():
    """A refused delivery is lost for good (the store never retries it): the switch names the member, so the old
    subscription is recorded as switched, and its own older deliveries are stale when they arrive."""
    plans()
    switched_at = START + timedelta(days=9)
    step(switched_at)
    new_state = {"id": "302", "member": "alice", "plan": "gold", "status": "active", "modified": switched_at}
    subscription_switch(from_id="301", to=new_state, actor=STORE)
    deliver(switched_at + timedelta(days=2), {"id": "301", "plan": "silver", "status": "active", "modified": START})
    step(switched_at + timedelta(days=40))
    old, new = Subscription.objects.get(external_id="301"), Subscription.objects.get(external_id="302")
    assert (old.status, old.switched_to, old.member.external_id) == ("switched", new, "alice")
    assert list(Membership.objects.values_list("plan__external_id", "status")) == [("gold", "active")]
