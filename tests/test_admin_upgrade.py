"""Upgrading to the admin's site settings and manual grants keeps the catalog a database had before."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from membersync.catalog.models import AccessRule, Plan
from membersync.catalog.selectors import site_settings_get


def _executor() -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor


@pytest.mark.django_db(transaction=True)
def test_a_catalog_made_before_site_settings_keeps_its_plans_and_rules():
    executor = _executor()
    try:
        executor.migrate([("catalog", "0002_plan_products"), ("manual", None), ("operations", None)])
        old = _executor().loader.project_state([("catalog", "0002_plan_products")]).apps
        course = old.get_model("catalog", "Course").objects.create(external_id="intro", title="Intro")
        plan = old.get_model("catalog", "Plan").objects.create(external_id="gold", name="Gold", on_hold_grace="1 day")
        old.get_model("catalog", "AccessRule").objects.create(plan=plan, course=course, after="14 days")
        executor = _executor()
        executor.migrate(executor.loader.graph.leaf_nodes())
        assert Plan.objects.get(external_id="gold").on_hold_grace == "1 day"
        assert list(AccessRule.objects.values_list("course__external_id", "after")) == [("intro", "14 days")]
        assert site_settings_get().timezone == "UTC"
    finally:
        executor = _executor()
        executor.migrate(executor.loader.graph.leaf_nodes())
