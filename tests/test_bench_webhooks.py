"""`membersync bench webhooks`: a tiny run end to end (the real server, the real worker job) reports its figures.
The benchmark's own figures are in docs/BENCHMARKS.md, never asserted here."""

import json
import os
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from membersync.bench.webhooks import WEBHOOK_IDS, configured_database_refusal, deliveries_make, percentile
from membersync.catalog import services as catalog
from membersync.catalog.models import Plan
from membersync.connectors.signatures import woocommerce_signature_valid


def test_a_tiny_run_posts_signed_deliveries_to_the_server_then_drains_them_and_reports_the_figures(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "membersync.cli", "bench", "webhooks", "--deliveries", "20", "--concurrency", "3"],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=tmp_path,
        env={**os.environ, "MEMBERSYNC_DATA_DIR": str(tmp_path / "data"), "WEB_CONCURRENCY": "2"},
    )
    assert run.returncode == 0, run.stdout + run.stderr
    text = run.stdout
    assert "server: membersync serve --workers 2 on 127.0.0.1:" in text
    accepted = re.search(
        r"phase 1, accepting \(worker stopped\): 20 of 20 accepted in [\d.]+ s: [\d,]+ deliveries/s; "
        r"answer time p50 [\d.]+ ms, p99 [\d.]+ ms",
        text,
    )
    assert accepted, text
    assert "; 20 stored" in text
    assert re.search(r"phase 2, draining: 20 deliveries settled in [\d.]+ s: [\d,]+ deliveries/s", text), text
    outcomes = dict(re.findall(r"(received|applied|duplicate|stale|ignored|failed) (\d+)", text.split("outcomes: ")[1]))
    assert outcomes["received"] == "0" and outcomes["failed"] == "0", text
    assert sum(map(int, outcomes.values())) == 20
    # nothing is left behind: the temporary database and the server's folder are gone
    assert not [path for path in tmp_path.rglob("*") if path.is_file()]


@pytest.mark.parametrize(
    "args, message",
    [
        (("webhooks", "--deliveries", "0"), "argument --deliveries: 0 is out of range"),
        (("webhooks", "--concurrency", "many"), "argument --concurrency: 'many' is not a whole number"),
        (("webhooks", "--web-workers", "65"), "argument --web-workers: 65 is out of range"),
        (("webhooks", "--members", "5"), "argument --members: only `bench resync` takes it"),
        (("resync", "--deliveries", "5"), "argument --deliveries: only `bench webhooks` takes it"),
        (("resync", "--profile"), "argument --profile: only `bench webhooks` takes it"),
    ],
)
def test_its_arguments_are_checked(args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("bench", *args)


def test_the_deliveries_are_a_signed_mix_with_a_tenth_sent_again_byte_for_byte():
    requests, made = deliveries_make(1000, secret="s3cret", ends_at=datetime(2026, 6, 1, tzinfo=UTC))
    assert len(requests) == 1000 and made["customers"] > 50
    assert sum(request.duplicate for request in requests) == 100
    originals = {(r.body, r.headers["X-WC-Webhook-Delivery-ID"]) for r in requests if not r.duplicate}
    assert len(originals) == 900
    assert all((r.body, r.headers["X-WC-Webhook-Delivery-ID"]) in originals for r in requests if r.duplicate)
    assert all(woocommerce_signature_valid("s3cret", r.body, r.headers["X-WC-Webhook-Signature"]) for r in requests)
    assert set(Counter(r.topic for r in requests)) == set(WEBHOOK_IDS)
    statuses = Counter(json.loads(r.body).get("status") for r in requests if r.topic.startswith("subscription"))
    assert {"pending", "active", "on-hold", "cancelled"} <= set(statuses)
    orders = Counter(json.loads(r.body).get("status") for r in requests if r.topic.startswith("order"))
    assert {"pending", "processing", "completed", "refunded"} <= set(orders)
    # the same seed gives the same deliveries: runs compare
    again, _ = deliveries_make(1000, secret="s3cret", ends_at=datetime(2026, 6, 1, tzinfo=UTC))
    assert [r.body for r in again] == [r.body for r in requests]


def test_percentiles_are_nearest_rank():
    values = list(range(1, 101))
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile([7.0], 0.99)) == (50, 99, 7.0)


def test_a_configured_database_that_holds_a_site_is_refused_before_anything_is_migrated_or_written(db):
    assert configured_database_refusal() == ""
    catalog.course_create(external_id="intro")
    catalog.plan_create(external_id="gold", grants=[{"course": "intro"}])
    with pytest.raises(CommandError, match="the database is not empty"):
        call_command("bench", "webhooks", "--deliveries", "5", "--use-configured-database")
    assert list(Plan.objects.values_list("external_id", flat=True)) == ["gold"]
