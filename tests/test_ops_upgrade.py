"""The ops app's tables arrive on an existing site without touching its data: a database made before them (members
with their access) migrates forward, keeps every member, and /healthz and the privacy page read it at once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from membersync.ops.models import MemberPrivacy, WorkerHeartbeat

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _executor() -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor


@pytest.mark.django_db(transaction=True)
def test_a_database_made_before_the_ops_app_keeps_its_members_and_answers_health(client):
    executor = _executor()
    try:
        executor.migrate([("ops", None)])
        old = _executor().loader.project_state().apps
        old.get_model("people", "Member").objects.create(external_id="ann", email="ann@example.com", created_at=NOW)
        assert "ops_workerheartbeat" not in connection.introspection.table_names()
    finally:
        executor = _executor()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert list(MemberPrivacy.objects.values_list("external_id", "email")) == [("ann", "ann@example.com")]
    assert not WorkerHeartbeat.objects.exists()
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["checks"]["database"]["status"] == "ok"
