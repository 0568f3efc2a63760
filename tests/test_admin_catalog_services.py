"""What an operator changes in the catalog goes through services: one event with the operator as actor, a refusal
naming the field that changes nothing, and a change to a plan's grants re-reconciles exactly the members it
changes, in the background, with the change as the ledger's cause."""

from __future__ import annotations

from datetime import timedelta

import pytest

from membersync.actors import Actor
from membersync.catalog.models import AccessRule, Course, Plan, SiteSettings
from membersync.catalog.services import course_create
from membersync.errors import ServiceError
from membersync.members.services import membership_create
from membersync.operations.models import PlanChangeJob
from membersync.operations.services import catalog as services
from membersync.sync.models import Enrollment, Event, LedgerEntry
from membersync.sync.worker import worker_tick
from tests.conftest import at

NOW = at("2026-03-01T12:00")
OPERATOR = Actor.operator("olga")


@pytest.fixture
def catalog(db, set_clock):
    set_clock(NOW)
    for external_id in ("intro", "advanced", "extra"):
        course_create(external_id=external_id, title=external_id.title())
    services.plan_add(
        external_id="gold",
        name="Gold",
        length="unlimited",
        grants=[{"course": "intro"}, {"course": "advanced", "after": "14 days"}],
        actor=OPERATOR,
    )


def _refused(call, **kwargs) -> ServiceError:
    events = Event.objects.count()
    with pytest.raises(ServiceError) as refused:
        call(**kwargs)
    assert Event.objects.count() == events + 1
    assert Event.objects.order_by("pk").last().outcome == Event.REFUSED
    return refused.value


def _rules(plan_id: str) -> list[tuple]:
    return list(
        AccessRule.objects.filter(plan__external_id=plan_id).order_by("pk").values_list("course__external_id", "after")
    )


def test_a_plan_made_in_the_admin_is_an_event_by_the_operator(catalog):
    event = Event.objects.get(kind="plan.create")
    assert event.actor == "operator:olga"
    assert _rules("gold") == [("intro", ""), ("advanced", "14 days")]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": " "}, "name"),
        ({"grants": [{"course": "nope"}]}, "grants[0].course"),
        ({"grants": [{"course": "intro", "after": "soon"}]}, "grants[0].after"),
        ({"length": "forever"}, "length"),
        ({"on_hold_grace": "a while"}, "on_hold_grace"),
    ],
)
def test_a_bad_plan_change_names_its_field_and_changes_nothing(catalog, change, field):
    fields = {"name": "Gold", "length": "unlimited", "grants": [{"course": "intro"}], **change}
    error = _refused(services.template_change, kind="plan", external_id="gold", actor=OPERATOR, **fields)
    assert error.field == field
    assert _rules("gold") == [("intro", ""), ("advanced", "14 days")]
    assert Plan.objects.get(external_id="gold").name == "Gold"
    assert not PlanChangeJob.objects.exists()


def test_a_new_plan_with_a_bad_grant_is_refused_and_not_made(catalog):
    error = _refused(
        services.plan_add,
        external_id="silver",
        name="Silver",
        length="unlimited",
        grants=[{"group": "nope"}],
        actor=OPERATOR,
    )
    assert error.field == "plans.silver.grants[0].group"
    assert not Plan.objects.filter(external_id="silver").exists()


def test_changing_the_rules_re_reconciles_exactly_the_members_it_changes(catalog, set_clock):
    membership_create(member_id="alice", plan_id="gold", actor=OPERATOR)
    services.plan_add(
        external_id="other", name="Other", length="unlimited", grants=[{"course": "intro"}], actor=OPERATOR
    )
    membership_create(member_id="bob", plan_id="other", actor=OPERATOR)
    worker_tick(now=NOW)
    rules = [r.pk for r in AccessRule.objects.filter(plan__external_id="gold").order_by("pk")]

    preview = services.template_change_check(
        kind="plan",
        external_id="gold",
        actor=OPERATOR,
        name="Gold",
        length="unlimited",
        grants=[
            {"id": rules[0], "course": "intro"},
            {"id": rules[1], "course": "advanced", "after": "7 days"},
            {"course": "extra"},
        ],
    )
    assert [(c.name, c.gains, c.loses, c.shifts) for c in preview.changes] == [
        ("alice", ["course extra"], [], ["course advanced"])
    ]
    assert _rules("gold") == [("intro", ""), ("advanced", "14 days")]  # a preview changes nothing

    result = services.template_change(
        kind="plan",
        external_id="gold",
        actor=OPERATOR,
        name="Gold",
        length="unlimited",
        grants=[
            {"id": rules[0], "course": "intro"},
            {"id": rules[1], "course": "advanced", "after": "7 days"},
            {"course": "extra"},
        ],
    )
    job = PlanChangeJob.objects.get()
    alice = Enrollment.objects.filter(member__external_id="alice")
    assert job.status == PlanChangeJob.QUEUED and job.total == 1
    assert not alice.filter(target_id="extra").exists()  # not inside the change's transaction

    worker_tick(now=NOW)
    job.refresh_from_db()
    assert (job.status, job.done) == (PlanChangeJob.DONE, 1)
    assert alice.filter(target_id="extra", status="active").exists()
    entry = LedgerEntry.objects.get(member__external_id="alice", target_id="extra")
    assert (entry.actor, entry.event_id) == ("operator:olga", result.event_id)
    assert "plan Gold changed" in entry.cause
    assert not LedgerEntry.objects.filter(member__external_id="bob", at__gt=NOW).exists()

    set_clock(NOW + timedelta(days=8))
    worker_tick(now=NOW + timedelta(days=8))
    assert alice.filter(target_id="advanced", status="active").exists()  # the shorter drip counts from her start


def test_removals_past_the_site_threshold_wait_for_a_confirmation(catalog):
    services.site_settings_change(timezone="UTC", plan_change_confirm_above=1, actor=OPERATOR)
    for name in ("alice", "bob"):
        membership_create(member_id=name, plan_id="gold", actor=OPERATOR)
    worker_tick(now=NOW)
    fields = {"name": "Gold", "length": "unlimited", "grants": [{"course": "extra"}]}

    error = _refused(services.template_change, kind="plan", external_id="gold", actor=OPERATOR, **fields)
    assert (error.code, error.field) == ("confirmation_required", "confirm_removals")
    assert "alice" in error.message and "bob" in error.message
    assert _rules("gold") == [("intro", ""), ("advanced", "14 days")]

    services.template_change(kind="plan", external_id="gold", actor=OPERATOR, confirm_removals=True, **fields)
    worker_tick(now=NOW)
    assert not Enrollment.objects.filter(target_id="intro").exists()


def test_deleting_what_is_in_use_is_refused_with_what_uses_it(catalog):
    error = _refused(services.catalog_record_remove, kind="course", external_id="intro", actor=OPERATOR)
    assert (error.code, error.field) == ("in_use", "course")
    assert "Gold" in error.message
    membership_create(member_id="alice", plan_id="gold", actor=OPERATOR)
    error = _refused(services.catalog_record_remove, kind="plan", external_id="gold", actor=OPERATOR)
    assert error.code == "in_use" and "alice" in error.message
    assert Course.objects.filter(external_id="intro").exists() and Plan.objects.filter(external_id="gold").exists()
    services.catalog_record_remove(kind="course", external_id="extra", actor=OPERATOR)
    assert not Course.objects.filter(external_id="extra").exists()


@pytest.mark.parametrize(
    ("call", "kwargs", "field"),
    [
        (services.course_add, {"external_id": "", "title": "X"}, "external_id"),
        (services.course_add, {"external_id": "intro", "title": "X"}, "courses"),
        (services.course_change, {"external_id": "intro", "title": ""}, "title"),
        (services.group_add, {"external_id": "g", "title": "G", "course_ids": ["nope"]}, "groups.g.courses"),
        (services.group_change, {"external_id": "nope", "title": "G", "course_ids": []}, "group"),
        (services.site_settings_change, {"timezone": "Mars/Olympus", "plan_change_confirm_above": 5}, "timezone"),
        (
            services.site_settings_change,
            {"timezone": "UTC", "plan_change_confirm_above": -1},
            "plan_change_confirm_above",
        ),
        (services.seat_type_add, {"external_id": "std", "name": "", "grants": []}, "name"),
        (
            services.license_type_add,
            {"external_id": "l", "name": "L", "length": "subscription", "grants": []},
            "license_types.l.length",
        ),
    ],
)
def test_every_catalog_write_refuses_bad_input_by_field(catalog, call, kwargs, field):
    titles = sorted(Course.objects.values_list("title", flat=True))
    error = _refused(call, actor=OPERATOR, **kwargs)
    assert error.field == field
    assert sorted(Course.objects.values_list("title", flat=True)) == titles
    assert not SiteSettings.objects.exists()
