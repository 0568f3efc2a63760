"""MemberSync's own rules where the sources are silent (DOMAIN.md), for subscriptions and the memberships that
follow them (issue 9): a delivery is the whole state; renewals never grant; a plan edit makes no second
membership; a membership linked by hand follows the tables."""

from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.members.models import Membership, Subscription
from membersync.members.services import membership_create, membership_delete
from membersync.members.subscriptions import membership_link, subscription_update
from membersync.sync.models import Enrollment

from .conftest import at
from .test_subscriptions import enrollment, membership, step

START = at("2026-01-01T09:00")
STORE = Actor.connection("store")
ADMIN = Actor.operator("admin")
BOUNDED = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def deliver(moment, state):
    step(moment)
    subscription_update(subscription={"id": "101", "member": "alice", **state}, actor=STORE)
    step(moment)


def plans():
    catalog.course_create(external_id="intro")
    catalog.course_create(external_id="advanced")
    catalog.plan_create(external_id="gold", length="subscription", grants=[{"course": "intro"}])
    catalog.plan_create(external_id="platinum", length="subscription", grants=[{"course": "advanced"}])
    catalog.plan_create(external_id="club", length="unlimited", grants=[{"course": "intro"}])


OPTIONAL = ("end", "next_payment", "plan", "trial_end")


@pytest.mark.django_db
@BOUNDED
@given(given_fields=st.sets(st.sampled_from(OPTIONAL)), empty=st.booleans())
def test_an_update_is_the_whole_state_a_field_left_out_or_empty_is_unset_except_a_trial_end(given_fields, empty):
    with transaction.atomic():
        plans()
        first = {
            "plan": "gold",
            "trial_end": START + timedelta(days=7),
            "next_payment": START + timedelta(days=37),
            "end": START + timedelta(days=365),
        }
        deliver(START, {"status": "active", **first})
        later = {
            "plan": "platinum",
            "trial_end": START + timedelta(days=8),
            "next_payment": START + timedelta(days=67),
            "end": START + timedelta(days=400),
        }
        # each optional field is given a new value, or left out, or sent empty ("" as the store does)
        state = {k: later[k] for k in given_fields} | ({k: "" for k in set(OPTIONAL) - given_fields} if empty else {})
        deliver(START + timedelta(days=3), {"status": "active", **state})

        sub = Subscription.objects.get()
        expected = {k: later[k] if k in given_fields else None for k in ("end", "next_payment")}
        assert {"end": sub.end, "next_payment": sub.next_payment} == expected
        assert list(sub.plans.values_list("external_id", flat=True)) == (["platinum"] if "plan" in given_fields else [])
        # a trial is history: once given, it is kept when a later update leaves it out or sends it empty
        assert sub.trial_end == (later if "trial_end" in given_fields else first)["trial_end"]
        transaction.set_rollback(True)


@pytest.mark.django_db
@BOUNDED
@given(reactivated_after=st.integers(min_value=1, max_value=9), checked_after=st.integers(min_value=1, max_value=60))
def test_an_active_update_without_an_end_unsets_the_prepaid_end_of_an_earlier_pending_cancel(
    reactivated_after, checked_after
):
    with transaction.atomic():
        plans()
        deliver(START, {"plan": "gold", "status": "active"})
        ends = START + timedelta(days=20)
        deliver(START + timedelta(days=10), {"plan": "gold", "status": "pending-cancel", "end": ends})
        deliver(START + timedelta(days=10 + reactivated_after), {"plan": "gold", "status": "active"})
        step(ends + timedelta(days=checked_after))
        assert Subscription.objects.get().end is None
        assert membership().status == "active"
        assert enrollment().status == Enrollment.ACTIVE and enrollment().access_from == START
        transaction.set_rollback(True)


RENEWALS = st.lists(st.sampled_from(["active", "on-hold", "pending-cancel"]), min_size=1, max_size=5)


@pytest.mark.django_db
@BOUNDED
@given(renewals=RENEWALS)
def test_renewals_never_grant_a_tied_membership_deleted_on_its_own_is_not_created_again(renewals):
    with transaction.atomic():
        plans()
        deliver(START, {"plan": "gold", "status": "active"})
        step(START + timedelta(days=1))
        membership_delete(member_id="alice", plan_id="gold", actor=ADMIN)
        for n, status in enumerate(renewals, start=2):
            deliver(START + timedelta(days=n), {"plan": "gold", "status": status, "end": START + timedelta(days=90)})
        assert not Membership.objects.exists()
        assert enrollment() is None
        transaction.set_rollback(True)


@pytest.mark.django_db
@BOUNDED
@given(later=st.lists(st.sampled_from(["active", "on-hold", "pending-cancel"]), min_size=0, max_size=4))
def test_a_plan_changed_in_the_store_makes_no_second_membership_and_the_first_keeps_following(later):
    with transaction.atomic():
        plans()
        deliver(START, {"plan": "gold", "status": "active"})
        deliver(START + timedelta(days=1), {"plan": "platinum", "status": "active"})
        status = "active"
        for n, status in enumerate(later, start=2):
            deliver(START + timedelta(days=n), {"plan": "platinum", "status": status, "end": START + timedelta(90)})
        step(START + timedelta(days=10))
        sub = Subscription.objects.get()
        assert list(Membership.objects.values_list("plan__external_id", "subscription")) == [("gold", sub.pk)]
        expected = {"active": "active", "on-hold": "paused", "pending-cancel": "pending_cancel"}[status]
        assert membership().status == expected
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize("status_before", ["active", "complimentary"])
@pytest.mark.parametrize(
    "path, expected",
    [
        (["active"], "active"),
        (["on-hold"], "paused"),
        (["on-hold", "active"], "active"),
        (["pending-cancel"], "pending_cancel"),
        (["cancelled"], "cancelled"),
        (["expired"], "active"),  # a payment plan paid in full goes on by its own (unlimited) dates
    ],
)
def test_a_membership_linked_by_hand_follows_the_tables_whatever_status_it_had(status_before, path, expected):
    plans()
    step(START)
    membership_create(member_id="alice", plan_id="club", status=status_before, actor=ADMIN)
    deliver(START + timedelta(days=1), {"status": "active"})  # pays for something else: no plan of its own
    step(START + timedelta(days=2))
    membership_link(member_id="alice", plan_id="club", subscription_id="101", actor=ADMIN)
    step(START + timedelta(days=2))
    assert membership(plan="club").status == "active"
    for n, status in enumerate(path, start=3):
        deliver(START + timedelta(days=n), {"status": status, "end": START + timedelta(days=30)})
    step(START + timedelta(days=10))
    assert membership(plan="club").status == expected
