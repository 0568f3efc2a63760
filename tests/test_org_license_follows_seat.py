"""An organization's license reaches a person through her seat, so it stops with the seat (DOMAIN.md, "MemberSync's
own rules"): the seat's pauses (its paying subscription on hold) suspend it, the seat's end (given up, or its
paying subscription cancelled or its prepaid period over) ends it, for her courses and for her license status.
Everything goes through the services and the worker, on the one clock."""

from datetime import timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membersync.actors import Actor
from membersync.catalog.services import course_create, license_type_create, seat_type_create
from membersync.members.subscriptions import subscription_update
from membersync.orgs import services
from membersync.orgs.selectors import member_license_statuses
from membersync.people.models import Member
from membersync.sync.selectors import member_courses
from membersync.sync.worker import worker_run_until

from .conftest import at

START = at("2026-01-01T09:00")
ADMIN = Actor.operator("admin")


def step(moment):
    """Let time pass to `moment` as production does: the worker does every due thing on the way."""
    worker_run_until(moment)


def pool_subscription(moment, status, **fields):
    """The store's subscription 900, which pays for acme's seats (and for nothing else: no plan)."""
    step(moment)
    state = {"id": "900", "member": "olivia", "status": status, **fields}
    subscription_update(subscription=state, actor=Actor.connection("store"), source="webhook")
    step(moment)


def courses(who: str) -> set[str]:
    return member_courses(Member.objects.get(external_id=who))


def license_of(who: str, license_id: str = "ORG1", moment=None) -> str:
    """Her license's status, `none` when it is not hers (FORMAT.md)."""
    return member_license_statuses(Member.objects.get(external_id=who), moment).get(license_id, "none")


def acme_with_paid_seats():
    """acme's seats are paid by subscription 900; its license ORG1 is not paid by any subscription (it was bought
    outright), so only the seat can stop it. sam holds a seat."""
    step(START)
    course_create(external_id="safety")
    course_create(external_id="leadership")
    seat_type_create(external_id="standard", name="Standard", grants=[{"course": "safety"}])
    license_type_create(external_id="leaders", name="Leaders", grants=[{"course": "leadership"}], length="unlimited")
    pool_subscription(START, "active")
    services.org_create(org_id="acme", name="Acme", owner_id="olivia", actor=ADMIN)
    services.seats_add(org_id="acme", seat_type_id="standard", quantity=3, subscription_id="900", actor=ADMIN)
    services.license_issue(license_id="ORG1", type_id="leaders", to_org_id="acme", actor=ADMIN)
    services.seat_assign(org_id="acme", member_id="sam", actor=ADMIN)
    step(START + timedelta(hours=1))


@pytest.mark.django_db
def test_the_seat_subscription_on_hold_suspends_the_license_and_its_cancellation_ends_it():
    acme_with_paid_seats()
    assert courses("sam") == {"safety", "leadership"}
    assert license_of("sam") == "active"

    pool_subscription(START + timedelta(days=10), "on-hold")
    assert courses("sam") == set()  # the seat is suspended, and the license reaches her only through it
    assert license_of("sam") == "suspended"

    pool_subscription(START + timedelta(days=12), "active")
    assert courses("sam") == {"safety", "leadership"}
    assert license_of("sam") == "active"

    pool_subscription(START + timedelta(days=20), "cancelled")
    assert courses("sam") == set()
    assert license_of("sam") == "expired"  # decision 0009: her seat gives nothing any more, the license with it
    # As of a moment before the cancellation, it was hers and active.
    assert license_of("sam", moment=START + timedelta(days=15)) == "active"


@pytest.mark.django_db
def test_a_pending_cancellation_keeps_the_license_until_the_prepaid_end_and_not_after():
    acme_with_paid_seats()
    prepaid_end = START + timedelta(days=30)
    pool_subscription(START + timedelta(days=10), "pending-cancel", end=prepaid_end.isoformat())
    step(prepaid_end - timedelta(hours=1))
    assert courses("sam") == {"safety", "leadership"}
    step(prepaid_end + timedelta(hours=1))
    assert courses("sam") == set()
    assert license_of("sam") == "expired"


@pytest.mark.django_db
@pytest.mark.parametrize("how", ["release", "remove"])
def test_an_organization_license_is_none_for_her_once_she_loses_her_seat(how):
    acme_with_paid_seats()
    lost_at = START + timedelta(days=5)
    step(lost_at)
    if how == "release":
        services.seat_release(org_id="acme", member_id="sam", actor=ADMIN)
    else:
        services.org_member_remove(org_id="acme", member_id="sam", actor=ADMIN)
    step(lost_at + timedelta(hours=1))
    assert courses("sam") == set()
    assert license_of("sam") == "none"
    assert license_of("sam", moment=lost_at - timedelta(hours=1)) == "active"


@pytest.mark.django_db
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    hold_day=st.integers(min_value=1, max_value=20),
    hold_days=st.integers(min_value=1, max_value=10),
    drip_days=st.integers(min_value=1, max_value=30),
)
def test_a_license_drip_through_a_seat_counts_only_the_time_the_seat_was_paid(hold_day, hold_days, drip_days):
    """A license's drip reached through a seat is pushed back by the seat's paused time, like the seat's own."""
    with transaction.atomic():
        step(START)
        course_create(external_id="advanced")
        seat_type_create(external_id="standard", name="Standard", grants=[])
        license_type_create(
            external_id="leaders",
            name="Leaders",
            grants=[{"course": "advanced", "after": f"{drip_days} days"}],
            length="unlimited",
        )
        pool_subscription(START, "active")
        services.org_create(org_id="acme", owner_id="olivia", actor=ADMIN)
        services.seats_add(org_id="acme", seat_type_id="standard", quantity=1, subscription_id="900", actor=ADMIN)
        services.license_issue(license_id="ORG1", type_id="leaders", to_org_id="acme", actor=ADMIN)
        services.seat_assign(org_id="acme", member_id="sam", actor=ADMIN)
        hold, resume = START + timedelta(days=hold_day), START + timedelta(days=hold_day + hold_days)
        opens = START + timedelta(days=drip_days)
        if hold_day < drip_days:
            opens += timedelta(days=hold_days)  # the paused time is not counted
        elif drip_days == hold_day:
            opens = resume  # due at the very start of the hold: opens at the resume
        timeline = [
            (hold, lambda: pool_subscription(hold, "on-hold")),
            (resume, lambda: pool_subscription(resume, "active")),
            (opens - timedelta(hours=1), lambda: "advanced" not in courses("sam")),
            (opens + timedelta(hours=1), lambda: "advanced" in courses("sam")),
        ]
        for moment, action in sorted(timeline, key=lambda entry: entry[0]):
            step(moment)
            assert action() is not False, moment
        transaction.set_rollback(True)
