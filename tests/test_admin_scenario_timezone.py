"""A scenario's `catalog.timezone` is the site's stored time zone: the admin shows its dates in it, the same zone its
dated grant rules were read in."""

from __future__ import annotations

import pytest

from membersync import clock, memo
from membersync.catalog.models import AccessRule
from membersync.catalog.selectors import plan_facts_all, site_settings_get
from membersync.scenarios.parsing import load
from membersync.scenarios.runner import FileResult, _run
from tests.conftest import at

SCENARIO = """
title: a site in Berlin
catalog:
  timezone: Europe/Berlin
  courses: [intro]
  plans:
    - {id: gold, grants: [{course: intro, on: 2026-03-01}]}
"""


@pytest.fixture
def berlin(db):
    result = FileResult("berlin")
    _run(load(SCENARIO), result)
    assert result.failures == []
    yield
    clock.set_time(None)


def test_a_scenario_s_time_zone_is_the_site_setting_the_admin_shows(berlin, admin_client):
    assert site_settings_get().timezone == "Europe/Berlin"
    assert AccessRule.objects.get().on_date == at("2026-02-28T23:00")  # midnight in Berlin
    page = admin_client.get("/admin/").content.decode()
    assert "Times in Europe/Berlin" in page


def test_forgetting_inside_a_scope_reads_the_catalog_again(db):
    from membersync.catalog.services import course_create, plan_create

    course_create(external_id="intro", title="Intro")
    plan_create(external_id="gold", name="Gold", grants=[{"course": "intro"}])
    with memo.scope():
        first = plan_facts_all()
        plan_create(external_id="silver", name="Silver", grants=[{"course": "intro"}])
        assert plan_facts_all() is first  # a scope serves what it read
        memo.forget()
        assert {p.id for p in plan_facts_all().values()} == {"gold", "silver"}
    memo.forget()  # outside a scope there is nothing to forget
    assert {p.id for p in plan_facts_all().values()} == {"gold", "silver"}
