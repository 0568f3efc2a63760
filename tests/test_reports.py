"""The admin home says whether everything is in step, a dead operation shows in red on every admin page, and the
reports answer as pages and as CSV; a plan's rules are changed from its admin page after a preview."""

from __future__ import annotations

import pytest
from django.urls import reverse

from membersync.actors import Actor
from membersync.catalog.models import AccessRule
from membersync.catalog.services import course_create
from membersync.members.services import membership_create
from membersync.operations.models import PlanChangeJob
from membersync.operations.services.catalog import plan_add
from membersync.sync.models import Enrollment, Operation
from membersync.sync.worker import worker_tick
from tests.conftest import at

NOW = at("2026-03-01T12:00")
OPERATOR = Actor.operator("admin")


@pytest.fixture
def site(db, set_clock):
    set_clock(NOW)
    course_create(external_id="intro", title="Intro to Pottery")
    course_create(external_id="glaze", title="Glazing")
    plan_add(external_id="gold", name="Gold", length="30 days", grants=[{"course": "intro"}], actor=OPERATOR)
    membership_create(member_id="alice", plan_id="gold", actor=OPERATOR)
    worker_tick(now=NOW)


def test_the_home_answers_is_everything_in_step(site, admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "Is everything in step?" in page and "Gold" in page
    assert "No worker has run yet" in page or "worker" in page.lower()


def test_a_dead_operation_is_shown_in_red_on_every_admin_page(site, admin_client):
    Operation.objects.update(status=Operation.DEAD)
    page = admin_client.get(reverse("admin:catalog_course_changelist")).content.decode()
    assert 'id="membersync-alerts"' in page and "operation dead" in page


def test_who_can_open_a_course_as_a_page_and_as_csv(site, admin_client):
    url = reverse("admin:report_course_access")
    page = admin_client.get(url, {"course": "intro"}).content.decode()
    assert "Who can open Intro to Pottery" in page and "alice" in page
    csv = admin_client.get(url, {"course": "intro", "format": "csv"})
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0] == "member,name,email,through,source,since,until"
    assert lines[1].startswith("alice,") and "membership" in lines[1] and "2026-03-31 12:00" in lines[1]
    expiring = admin_client.get(reverse("admin:report_expiries"), {"format": "csv"}).content.decode()
    assert "alice" in expiring and "Intro to Pottery" in expiring
    assert "Gold" in admin_client.get(reverse("admin:report_plans"), {"format": "csv"}).content.decode()


def test_a_plan_s_rules_are_changed_after_a_preview_and_its_members_re_reconciled(site, admin_client):
    rule = AccessRule.objects.get()
    url = reverse("admin:catalog_plan_change", args=[rule.plan_id])
    form = {
        "name": "Gold",
        "length_kind": "specific",
        "length_duration": "30 days",
        "on_hold_grace": "",
        "product_ids": "",
        "rules-TOTAL_FORMS": "2",
        "rules-INITIAL_FORMS": "1",
        "rules-MIN_NUM_FORMS": "0",
        "rules-MAX_NUM_FORMS": "1000",
        "rules-0-id": str(rule.pk),
        "rules-0-target_kind": "course",
        "rules-0-course": "intro",
        "rules-0-opens": "now",
        "rules-1-target_kind": "course",
        "rules-1-course": "glaze",
        "rules-1-opens": "now",
    }
    preview = admin_client.post(url, {**form, "_preview": "1"}).content.decode()
    assert "1 of 1 members change: 1 gain" in preview and "course glaze" in preview
    assert not PlanChangeJob.objects.exists()

    bad = admin_client.post(url, {**form, "rules-1-opens": "after", "rules-1-after": "soon", "_save": "1"})
    assert bad.status_code == 200 and "soon" in bad.content.decode()
    assert not PlanChangeJob.objects.exists()

    saved = admin_client.post(url, {**form, "_save": "1"})
    assert saved.status_code == 302
    worker_tick(now=NOW)
    assert PlanChangeJob.objects.get().status == PlanChangeJob.DONE
    assert Enrollment.objects.filter(member__external_id="alice", target_id="glaze").exists()
