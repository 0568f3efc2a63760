"""One store delivery costs a small, fixed number of queries from entry to enrollment."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.members.subscriptions import subscription_update
from membersync.sync.worker import worker_run_until

from .conftest import at

STORE = Actor.connection("store")


@pytest.fixture
def alice_subscribed(db, set_clock):
    catalog.course_create(external_id="intro")
    catalog.course_create(external_id="advanced")
    catalog.plan_create(
        external_id="gold",
        name="Gold",
        length="subscription",
        grants=[{"course": "intro"}, {"course": "advanced", "after": "7 days"}],
    )
    set_clock(at("2026-01-01"))
    subscription_update(subscription={"id": "101", "member": "alice", "plan": "gold", "status": "active"}, actor=STORE)
    worker_run_until(at("2026-01-20"))


def test_an_on_hold_update_reads_the_catalog_once_and_stays_within_its_query_budget(alice_subscribed):
    """From the delivery to the operation for the LMS: 44 queries before the catalog was read once per event and
    a subscription's dependents in one query; 35 then. Each kind of source or sink added since costs at most one
    query on a site that does not use it (enrollments made in the LMS, manual grants, the tag settings, the
    connections read once for every remote sink, the built-in CRM's "any tags at all?"), while seats and licenses
    now cost one where they cost several: 36. The budget keeps it from creeping back."""
    with CaptureQueriesContext(connection) as queries:
        subscription_update(
            subscription={"id": "101", "member": "alice", "plan": "gold", "status": "on-hold"}, actor=STORE
        )
    statements = [q["sql"] for q in queries.captured_queries]
    assert sum('FROM "catalog_accessrule"' in sql for sql in statements) == 1
    member_lock = 1 if connection.features.has_select_for_update else 0  # PostgreSQL: reconciles take turns
    assert len(statements) <= 36 + member_lock, "\n".join(statements)
