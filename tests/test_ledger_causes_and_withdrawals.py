"""The ledger is true about scheduled grants: a grant that opens by itself (a drip, a date) has time as its cause,
never the unrelated event that woke the member later; a scheduled grant its source can no longer open is recorded
as withdrawn; a pending grant whose opening did not move gets no entry. Through the services and the worker."""

from datetime import timedelta

import pytest

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.members import services
from membersync.members.subscriptions import subscription_update
from membersync.sync.ledger import WITHDRAWN
from membersync.sync.models import LedgerEntry
from membersync.sync.worker import worker_run_until

from .conftest import at

STORE = Actor.connection("store")
START = at("2026-01-01")


@pytest.fixture
def gold(db, set_clock):
    set_clock(START)
    catalog.course_create(external_id="intro")
    catalog.course_create(external_id="advanced")
    catalog.course_create(external_id="launch")
    catalog.plan_create(
        external_id="gold",
        name="Gold",
        length="subscription",
        grants=[
            {"course": "intro"},
            {"course": "advanced", "after": "90 days"},
            {"course": "launch", "on": at("2026-02-01")},
        ],
    )
    catalog.plan_create(external_id="extra", grants=[{"course": "intro"}])


def update(moment, status, **fields):
    worker_run_until(moment)
    state = {"id": "101", "member": "alice", "plan": "gold", "status": status, **fields}
    return subscription_update(subscription=state, actor=STORE)


def entries(course: str) -> list[tuple]:
    return list(
        LedgerEntry.objects.filter(target_id=course).order_by("at", "pk").values_list("action", "at", "cause", "actor")
    )


def test_a_drip_and_a_date_open_by_time_even_when_an_unrelated_event_wakes_her_late(gold, set_clock):
    update(START, "active")
    # The worker does not run (it was down); on 2026-04-10 an admin gives her another plan, which reconciles her.
    set_clock(at("2026-04-10"))
    services.membership_create(member_id="alice", plan_id="extra", actor=Actor.operator("admin"))
    assert entries("advanced")[-1] == ("opened", at("2026-04-01"), "scheduled: drip of plan Gold", "clock")
    assert entries("launch")[-1] == ("opened", at("2026-02-01"), "scheduled: date 2026-02-01 of plan Gold", "clock")
    opened = LedgerEntry.objects.get(target_id="advanced", action="opened")
    assert opened.event_id is None


def test_the_worker_on_time_names_the_drip_too(gold):
    update(START, "active")
    worker_run_until(at("2026-04-02"))
    assert entries("advanced")[-1] == ("opened", at("2026-04-01"), "scheduled: drip of plan Gold", "clock")
    # The immediate grant was opened by the event that created the membership.
    assert entries("intro")[0][0] == "opened" and entries("intro")[0][2].startswith("subscription.update")


def test_a_scheduled_grant_whose_source_now_ends_first_is_withdrawn_and_scheduled_again_when_it_can_open(gold):
    update(START, "active")
    update(at("2026-02-10"), "pending-cancel", end=at("2026-03-01"))
    actions = [e[0] for e in entries("advanced")]
    assert actions == ["scheduled", WITHDRAWN]
    withdrawn = LedgerEntry.objects.get(target_id="advanced", action=WITHDRAWN)
    assert withdrawn.at == at("2026-02-10") and withdrawn.cause.startswith("subscription.update")
    assert "never opens, because its source ends 2026-03-01 00:00" in withdrawn.reason
    assert "before it would open on 2026-04-01 00:00" in withdrawn.reason
    # The customer changes her mind before the end: the drip can open again, and is scheduled anew.
    update(at("2026-02-20"), "active")
    assert [e[0] for e in entries("advanced")] == ["scheduled", WITHDRAWN, "scheduled"]
    assert LedgerEntry.objects.filter(target_id="advanced").last().reason == "now opens 2026-04-01 00:00"


def test_a_pending_grant_whose_opening_did_not_move_gets_no_entry(gold):
    update(START, "active")
    # A pending cancellation that ends after the drip opens changes the grant's end, not when it opens.
    update(at("2026-02-10"), "pending-cancel", end=at("2026-06-01"))
    update(at("2026-02-11"), "pending-cancel", end=at("2026-07-01"))
    assert [e[0] for e in entries("advanced")] == ["scheduled"]


def test_a_scheduled_grant_whose_source_ends_before_it_opens_is_withdrawn_once(gold):
    update(START, "active")
    update(at("2026-01-20"), "cancelled")
    worker_run_until(at("2026-05-01"))
    assert [e[0] for e in entries("advanced")] == ["scheduled", WITHDRAWN]
    withdrawn = LedgerEntry.objects.get(target_id="advanced", action=WITHDRAWN)
    assert withdrawn.at == at("2026-01-20") and "withdrawn: its source ended" in withdrawn.reason


def test_a_paused_drip_is_scheduled_with_how_much_of_it_was_served(db, set_clock):
    set_clock(START)
    catalog.course_create(external_id="intro")
    catalog.course_create(external_id="advanced")
    catalog.plan_create(external_id="basic", grants=[{"course": "intro"}, {"course": "advanced", "after": "14 days"}])
    services.order_complete(order_id="1", member_id="dana", plan_id="basic", actor=STORE)
    worker_run_until(START + timedelta(days=5))
    services.membership_pause(member_id="dana", plan_id="basic", actor=Actor.operator("admin"))
    reason = LedgerEntry.objects.filter(target_id="advanced").last().reason
    assert reason == "now opens 9 days after the source resumes (5 of 14 days served)"


@pytest.mark.django_db
def test_a_scheduled_grant_whose_membership_is_deleted_is_recorded_as_withdrawn(set_clock):
    from datetime import UTC, datetime

    from membersync.actors import Actor
    from membersync.catalog import services as catalog_services
    from membersync.members import services as member_services
    from membersync.sync.models import LedgerEntry

    set_clock(datetime(2026, 1, 1, tzinfo=UTC))
    catalog_services.course_create(external_id="later")
    catalog_services.plan_create(external_id="drip", grants=[{"course": "later", "after": "30 days"}])
    admin = Actor.operator("admin")
    member_services.membership_create(member_id="dee", plan_id="drip", external_id="m-dee", actor=admin)
    member_services.membership_delete(membership_id="m-dee", actor=admin)
    actions = list(LedgerEntry.objects.filter(target_id="later").values_list("action", "reason"))
    assert actions[-1] == ("withdrawn", "withdrawn: its source was deleted")
