"""Upgrades keep the API's data: keys and stored Idempotency-Key answers made before answers expired are kept by
`migrate`, and the key still works."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from membersync import clock
from membersync.api.keys import _digest, apikey_authenticate
from membersync.api.models import IdempotentAnswer

BEFORE_EXPIRY = ("api", "0001_initial")


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_keys_and_answers_stored_before_answers_expired_are_kept_by_the_upgrade():
    cache.clear()
    try:
        _migrate([BEFORE_EXPIRY])
        executor = MigrationExecutor(connection)
        old = executor.loader.project_state([BEFORE_EXPIRY]).apps
        ApiKey = old.get_model("api", "ApiKey")
        Answer = old.get_model("api", "IdempotentAnswer")
        token = "ms_0a0b0c0d_old-secret"
        key = ApiKey.objects.create(
            name="old", prefix="0a0b0c0d", digest=_digest(token), scope="write", created_at=clock.now()
        )
        Answer.objects.create(
            api_key=key, key="k1", request_hash="h", status=201, body={"id": "m1"}, created_at=clock.now()
        )
        _migrate(None)
        assert apikey_authenticate(token) is not None
        kept = IdempotentAnswer.objects.get(key="k1")
        assert (kept.api_key.name, kept.status, kept.body) == ("old", 201, {"id": "m1"})
    finally:
        _migrate(None)
