"""An operator's actions on one membership (extend, move to another plan, transfer), each one event by the operator:
an extended membership lasts to its new end (one that had run out goes on where it stopped), a moved one keeps the
place in the courses both plans grant, a transferred one ends for its holder and lasts to the same end for the
other member; bad input names its field and changes nothing, and a membership that follows a subscription or
that a store owns refuses them all."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from membersync import clock
from membersync.access.durations import Duration
from membersync.access.rules import FIXED, SPECIFIC, UNLIMITED, GrantRule, Interval, Length, Target
from membersync.access.sources import MembershipFacts, PlanFacts, membership_state
from membersync.actors import Actor
from membersync.catalog.services import course_create, plan_create
from membersync.errors import ServiceError
from membersync.members.models import Membership, MembershipPause
from membersync.members.services import (
    membership_cancel,
    membership_create,
    membership_extend,
    membership_pause,
    membership_plan_change,
    membership_transfer,
)
from membersync.members.store_memberships import membership_store_sync
from membersync.members.subscriptions import subscription_update
from membersync.people.models import Member
from membersync.sync.models import Enrollment, Event
from membersync.sync.worker import worker_tick
from tests.conftest import at

NOW = at("2026-03-01T12:00")
OPERATOR = Actor.operator("olga")


@pytest.fixture
def catalog(db, set_clock):
    set_clock(NOW)
    for course in ("intro", "advanced", "extra"):
        course_create(external_id=course, title=course.title())
    plan_create(
        external_id="month",
        name="Month",
        length="10 days",
        grants=[{"course": "intro"}, {"course": "advanced", "after": "14 days"}],
    )
    plan_create(
        external_id="gold", name="Gold", grants=[{"course": "intro"}, {"course": "advanced", "after": "14 days"}]
    )
    plan_create(external_id="silver", name="Silver", grants=[{"course": "intro"}, {"course": "extra"}])
    plan_create(external_id="tied", name="Tied", length="subscription", grants=[{"course": "intro"}])
    return set_clock


def _at(set_clock, moment) -> None:
    set_clock(moment)
    worker_tick(now=moment)


def _enrolled(member_id: str) -> dict[str, object]:
    """What the built-in LMS holds for her once the worker has carried the operations out."""
    worker_tick(now=clock.now())
    rows = Enrollment.objects.filter(member__external_id=member_id, status=Enrollment.ACTIVE)
    return dict(rows.values_list("target_id", "access_from"))


def _membership(member_id: str, plan_id: str) -> Membership:
    return Membership.objects.filter(member__external_id=member_id, plan__external_id=plan_id).latest("pk")


def _refused(call, **kwargs) -> ServiceError:
    before = list(Membership.objects.order_by("pk").values())
    pauses = MembershipPause.objects.count()
    with pytest.raises(ServiceError) as refused:
        call(actor=OPERATOR, **kwargs)
    assert Event.objects.order_by("pk").last().outcome == Event.REFUSED
    assert list(Membership.objects.order_by("pk").values()) == before
    assert MembershipPause.objects.count() == pauses
    return refused.value


def test_an_extended_membership_lasts_until_its_new_end(catalog):
    membership_create(member_id="alice", plan_id="month", actor=OPERATOR)
    membership_extend(
        membership_id=str(_membership("alice", "month").pk), until=NOW + timedelta(days=30), actor=OPERATOR
    )
    assert Event.objects.get(kind="membership.extend").actor == "operator:olga"

    _at(catalog, NOW + timedelta(days=20))
    assert set(_enrolled("alice")) == {"intro", "advanced"}
    _at(catalog, NOW + timedelta(days=30, minutes=1))
    assert _enrolled("alice") == {}
    assert _membership("alice", "month").status == "expired"


def test_a_membership_that_ran_out_goes_on_where_it_stopped_when_extended(catalog):
    membership_create(member_id="alice", plan_id="month", actor=OPERATOR)
    _at(catalog, NOW + timedelta(days=12))
    assert _enrolled("alice") == {}  # its 10 days ran out 2 days ago

    membership_extend(member_id="alice", plan_id="month", until=NOW + timedelta(days=90), actor=OPERATOR)
    # The 2 days it was ended count as a pause: her place in the course is pushed back, not restarted.
    assert _enrolled("alice") == {"intro": NOW + timedelta(days=2)}
    _at(catalog, NOW + timedelta(days=15, hours=23))
    assert "advanced" not in _enrolled("alice")
    _at(catalog, NOW + timedelta(days=16))
    assert set(_enrolled("alice")) == {"intro", "advanced"}  # 14 days of active membership: 10 before, 4 after


def test_a_bad_extension_names_its_field_and_changes_nothing(catalog):
    membership_create(member_id="alice", plan_id="month", actor=OPERATOR)
    membership_create(member_id="bob", plan_id="gold", actor=OPERATOR)
    membership_create(member_id="carol", plan_id="month", actor=OPERATOR)
    membership_cancel(member_id="carol", plan_id="month", actor=OPERATOR)

    error = _refused(membership_extend, member_id="alice", plan_id="month", until=NOW + timedelta(days=5))
    assert (error.code, error.field) == ("invalid_value", "until")
    assert "2026-03-11 12:00" in error.message  # later than its current end
    error = _refused(membership_extend, member_id="bob", plan_id="gold", until=NOW + timedelta(days=5))
    assert (error.code, error.field) == ("invalid_value", "until")
    assert "no end" in error.message
    error = _refused(membership_extend, member_id="carol", plan_id="month", until=NOW + timedelta(days=50))
    assert (error.code, error.field) == ("not_active", "membership")
    error = _refused(membership_extend, member_id="nobody", plan_id="month", until=NOW + timedelta(days=50))
    assert (error.code, error.field) == ("not_found", "plan")


def test_moving_to_another_plan_keeps_her_place_in_the_courses_both_plans_grant(catalog):
    membership_create(member_id="alice", plan_id="gold", actor=OPERATOR)
    _at(catalog, NOW + timedelta(days=20))
    assert set(_enrolled("alice")) == {"intro", "advanced"}

    membership_plan_change(membership_id=str(_membership("alice", "gold").pk), to_plan_id="silver", actor=OPERATOR)
    assert _enrolled("alice") == {"intro": NOW, "extra": NOW + timedelta(days=20)}
    old, new = _membership("alice", "gold"), _membership("alice", "silver")
    assert (old.status, new.status) == ("cancelled", "active")
    assert "moved to plan Silver by an administrator" in old.ended_by
    assert Event.objects.get(kind="membership.plan_change").actor == "operator:olga"


def test_a_paused_membership_is_resumed_before_it_moves_or_is_transferred(catalog):
    membership_create(member_id="alice", plan_id="gold", actor=OPERATOR)
    Member.objects.create(external_id="bob", created_at=NOW)
    membership_pause(member_id="alice", plan_id="gold", actor=OPERATOR)
    ident = {"membership_id": str(_membership("alice", "gold").pk)}
    for call, kwargs in (
        (membership_plan_change, {"to_plan_id": "silver"}),
        (membership_transfer, {"to_member_id": "bob"}),
    ):
        error = _refused(call, **ident, **kwargs)
        assert (error.code, error.field) == ("already_paused", "membership")
        assert "resume it" in error.message


def test_a_transferred_membership_ends_for_its_holder_and_lasts_to_the_same_end_for_the_other(catalog):
    membership_create(member_id="alice", plan_id="month", actor=OPERATOR)
    Member.objects.create(external_id="bob", created_at=NOW)
    _at(catalog, NOW + timedelta(days=4))
    membership_transfer(member_id="alice", plan_id="month", to_member_id="bob", actor=OPERATOR)

    assert _enrolled("alice") == {}
    assert _enrolled("bob") == {"intro": NOW + timedelta(days=4)}  # her own start in the course
    assert "transferred to bob" in _membership("alice", "month").ended_by
    assert _membership("bob", "month").ends_at == NOW + timedelta(days=10)  # what was left, not a fresh 10 days
    _at(catalog, NOW + timedelta(days=10, minutes=1))
    assert _enrolled("bob") == {}


@pytest.mark.parametrize(
    ("call", "kwargs", "code", "field"),
    [
        (membership_plan_change, {"to_plan_id": "nope"}, "not_found", "to_plan"),
        (membership_plan_change, {"to_plan_id": "gold"}, "invalid_value", "to_plan"),
        (membership_transfer, {"to_member_id": "nobody"}, "not_found", "to_member"),
        (membership_transfer, {"to_member_id": "alice"}, "invalid_value", "to_member"),
    ],
)
def test_a_bad_move_or_transfer_names_its_field_and_changes_nothing(catalog, call, kwargs, code, field):
    membership_create(member_id="alice", plan_id="gold", actor=OPERATOR)
    error = _refused(call, membership_id=str(_membership("alice", "gold").pk), **kwargs)
    assert (error.code, error.field) == (code, field)


ACTIONS = [
    (membership_extend, {"until": NOW + timedelta(days=400)}),
    (membership_plan_change, {"to_plan_id": "silver"}),
    (membership_transfer, {"to_member_id": "bob"}),
]


@pytest.mark.parametrize(("call", "kwargs"), ACTIONS)
def test_a_membership_following_a_subscription_refuses_them_as_subscription_tied(catalog, call, kwargs):
    Member.objects.create(external_id="bob", created_at=NOW)
    subscription_update(
        subscription={"id": "s1", "member": "alice", "plan": "tied", "status": "active"}, actor=Actor.connection("shop")
    )
    error = _refused(call, membership_id=str(_membership("alice", "tied").pk), **kwargs)
    assert (error.code, error.field) == ("subscription_tied", "membership")
    assert "subscription s1" in error.message


@pytest.mark.parametrize(("call", "kwargs"), ACTIONS)
def test_a_membership_a_store_owns_refuses_them_as_store_managed(catalog, call, kwargs):
    Member.objects.create(external_id="bob", created_at=NOW)
    membership_store_sync(
        connection_name="shop",
        store_id="7",
        member_id="alice",
        plan_id="month",
        status="active",
        start=NOW,
        end=NOW + timedelta(days=10),
        paused_at=None,
        cancelled_at=None,
        store_url="https://shop.test/wp-admin/post.php?post=7&action=edit",
        actor=Actor.connection("shop"),
    )
    error = _refused(call, membership_id="shop/um/7", **kwargs)
    assert (error.code, error.field) == ("store_managed", "membership")
    assert "https://shop.test/wp-admin/post.php?post=7" in error.message


lengths = st.sampled_from(
    [
        Length(UNLIMITED),
        Length(SPECIFIC, duration=Duration(10, "days")),
        Length(FIXED, starts=NOW - timedelta(days=5), ends=NOW + timedelta(days=3)),
    ]
)
hours = st.integers(min_value=-2000, max_value=2000).map(lambda h: NOW + timedelta(hours=h))


@settings(max_examples=60, deadline=None)
@given(lengths, hours, hours, st.lists(st.integers(1, 500), max_size=3))
def test_an_end_an_operator_set_is_the_membership_s_end_whatever_its_plan_and_pauses(length, ends_at, now, gaps):
    plan = PlanFacts(id="p", name="P", length=length, rules=(GrantRule("1", Target("course", "intro")),))
    pauses, cursor = [], NOW
    for gap in gaps:
        pauses.append(Interval(cursor + timedelta(hours=gap), cursor + timedelta(hours=2 * gap), "paused"))
        cursor += timedelta(hours=2 * gap)
    facts = MembershipFacts(id="1", plan=plan, start=NOW - timedelta(days=1), pauses=tuple(pauses), ends_at=ends_at)
    state = membership_state(facts, now)
    assert state.window.end == ends_at
    assert state.grants_access is False if now >= ends_at else state.status != "expired"
