"""/healthz, /metrics, the worker's heartbeat and logs with a correlation id."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.members.services import membership_create
from membersync.ops.logs import CorrelationFilter, JsonFormatter, correlation_bound
from membersync.ops.models import WorkerHeartbeat
from membersync.people.models import Connection, Member
from membersync.sync.models import Operation
from membersync.sync.worker import worker_tick

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def site(db, set_clock):
    set_clock(NOW)
    catalog.course_create(external_id="intro")
    catalog.plan_create(external_id="gold", grants=[{"course": "intro"}])
    Member.objects.create(external_id="ann", email="ann@example.com", created_at=NOW)


def test_healthz_is_200_with_every_check_and_degraded_while_no_worker_ran(client, site):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["worker"]["status"] == "degraded" and body["checks"]["worker"]["last_seen"] is None
    assert body["status"] == "degraded"
    assert client.get("/healthz?strict=1").status_code == 503


def test_a_worker_pass_makes_healthz_ok_and_a_silent_worker_degraded_again(client, site, set_clock, settings):
    worker_tick(now=NOW, worker="host:1")
    assert WorkerHeartbeat.objects.get(worker="host:1").passes == 1
    body = client.get("/healthz?strict=1")
    assert body.status_code == 200 and body.json()["status"] == "ok"
    set_clock(NOW + timedelta(seconds=settings.HEALTH_WORKER_STALE_SECONDS + 1))
    assert client.get("/healthz").json()["checks"]["worker"]["status"] == "degraded"
    assert client.get("/healthz?strict=1").status_code == 503


def test_outbox_lag_per_sink_shows_the_oldest_due_operation_waiting(client, site, set_clock, settings):
    worker_tick(now=NOW, worker="host:1")
    membership_create(member_id="ann", plan_id="gold", actor=Actor.operator("admin"))
    assert Operation.objects.filter(status=Operation.PENDING, sink="builtin").exists()
    later = NOW + timedelta(seconds=settings.HEALTH_MAX_LAG_SECONDS + 5)
    set_clock(later)
    WorkerHeartbeat.objects.update(seen_at=later)
    builtin = client.get("/healthz").json()["checks"]["outbox"]["builtin"]
    assert builtin["pending"] == 1 and builtin["status"] == "degraded" and builtin["lag_seconds"] >= 600
    worker_tick(now=later, worker="host:1")
    builtin = client.get("/healthz").json()["checks"]["outbox"]["builtin"]
    assert builtin == {**builtin, "pending": 0, "lag_seconds": 0, "status": "ok"}


def test_a_failing_connection_is_named_in_healthz_without_its_error_text(client, site):
    Connection.objects.create(
        kind="woocommerce", name="shop", created_at=NOW, consecutive_failures=7, last_error="secret-ish detail"
    )
    response = client.get("/healthz")
    shop = response.json()["checks"]["connections"]["shop"]
    assert shop["status"] == "degraded" and shop["consecutive_failures"] == 7
    assert b"secret-ish" not in response.content


def test_metrics_count_operations_by_sink_and_status_for_a_local_scraper(client, site):
    membership_create(member_id="ann", plan_id="gold", actor=Actor.operator("admin"))
    worker_tick(now=NOW, worker="host:1")
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.content.decode()
    assert 'membersync_operations{sink="builtin",status="done"} 1' in text
    assert "# TYPE membersync_outbox_lag_seconds gauge" in text
    assert "membersync_workers_alive 1" in text
    # The worker reports the reconciling it did (the membership's reconcile ran in this process) with its next pass.
    worker_tick(now=NOW, worker="host:1")
    text = client.get("/metrics").content.decode()
    assert "# TYPE membersync_reconcile_seconds_total counter" in text
    reconciled = [
        line for line in text.splitlines() if line.startswith('membersync_reconciled_members_total{worker="host:1"}')
    ]
    assert reconciled and float(reconciled[0].split()[-1]) >= 1


def test_metrics_refuse_a_request_through_a_proxy_and_take_the_token_when_set(client, site, settings):
    assert client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 403
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 403
    settings.METRICS_TOKEN = "t0ken-abc"
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    ok = client.get("/metrics", REMOTE_ADDR="203.0.113.9", headers={"Authorization": "Bearer t0ken-abc"})
    assert ok.status_code == 200


def test_each_log_line_is_one_json_object_with_the_correlation_id():
    record = logging.LogRecord("membersync.x", logging.INFO, __file__, 1, "line %s\nnext", ("one",), None)
    with correlation_bound("delivery-42"):
        CorrelationFilter().filter(record)
    line = JsonFormatter().format(record)
    assert "\n" not in line
    assert json.loads(line) | {"time": "-"} == {
        "time": "-",
        "level": "INFO",
        "logger": "membersync.x",
        "message": "line one\nnext",
        "correlation_id": "delivery-42",
    }


def test_a_request_answers_its_correlation_id_and_a_webhook_its_delivery(client, site, settings):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"})["X-Request-ID"] == "abc-123"
    assert len(client.get("/healthz", headers={"X-Request-ID": "bad id\n"})["X-Request-ID"]) == 16
    from membersync.connectors.signatures import woocommerce_signature
    from membersync.connectors.woocommerce.connect import woocommerce_connect

    woocommerce_connect(
        name="shop",
        url="https://shop.example.com",
        consumer_key="k",
        consumer_secret="s",
        webhook_secret="w" * 16,
        check=False,
    )
    body = b'{"id": 5}'
    response = client.post(
        "/webhooks/woocommerce/shop",
        data=body,
        content_type="application/json",
        headers={
            "X-WC-Webhook-Topic": "customer.updated",
            "X-WC-Webhook-Signature": woocommerce_signature("w" * 16, body),
        },
    )
    assert response["X-Request-ID"] == f"delivery-{response.json()['delivery']}"

    # The worker applying it logs under the same id, so one search finds the delivery from receipt to outcome.
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append(record.correlation_id)

    handler = Keep()
    handler.addFilter(CorrelationFilter())
    logger = logging.getLogger("membersync.connectors.deliveries")
    logger.addHandler(handler)
    try:
        worker_tick(now=NOW)
    finally:
        logger.removeHandler(handler)
    assert f"delivery-{response.json()['delivery']}" in seen
