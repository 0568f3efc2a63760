"""Operators are emailed once per incident; retention prunes old deliveries and events; the SQLite backup."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection as db

from membersync.connectors.models import Delivery
from membersync.ops.alerts import alerts_check
from membersync.ops.models import Alert, WorkerHeartbeat
from membersync.ops.retention import retention_prune
from membersync.people.models import Connection, Member
from membersync.sync.models import Event, Operation

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def ops(db, settings):
    settings.OPERATOR_EMAILS = ["ops@example.com"]
    settings.HEALTH_WORKER_STALE_SECONDS = 3 * 24 * 3600  # the worker stays alive unless a test stops it
    WorkerHeartbeat.objects.create(worker="host:1", started_at=NOW, seen_at=NOW)


def subjects():
    return [m.subject for m in mail.outbox]


def test_a_stopped_worker_is_told_once_and_a_new_stop_after_it_came_back_again(ops, settings):
    later = NOW + timedelta(seconds=settings.HEALTH_WORKER_STALE_SECONDS + 1)
    alerts_check(now=later)
    alerts_check(now=later + timedelta(minutes=5))
    assert subjects() == ["MemberSync: no worker is running"]
    WorkerHeartbeat.objects.update(seen_at=later + timedelta(minutes=6))
    alerts_check(now=later + timedelta(minutes=6))
    assert Alert.objects.get().resolved_at is not None
    alerts_check(now=later + timedelta(minutes=6, seconds=settings.HEALTH_WORKER_STALE_SECONDS + 1))
    assert subjects() == ["MemberSync: no worker is running"] * 2


def test_a_failing_connection_and_a_silent_store_are_each_told_once(ops, settings):
    shop = Connection.objects.create(kind="woocommerce", name="shop", created_at=NOW, last_delivery_at=NOW)
    Connection.objects.filter(pk=shop.pk).update(consecutive_failures=settings.ALERT_CONNECTION_FAILURES)
    alerts_check(now=NOW)
    alerts_check(now=NOW + timedelta(minutes=1))
    assert subjects() == ["MemberSync: the connection shop is failing"]
    Connection.objects.filter(pk=shop.pk).update(consecutive_failures=0)
    alerts_check(now=NOW + timedelta(hours=25))
    alerts_check(now=NOW + timedelta(hours=26))
    assert subjects()[1:] == ["MemberSync: the store shop has sent nothing for 24 hours"]
    assert "disables a webhook after five failed deliveries" in mail.outbox[1].body


def test_dead_operations_are_one_incident_until_an_hour_passes_without_a_new_one(ops, settings):
    member = Member.objects.create(external_id="ann", created_at=NOW)

    def dead(key):
        Operation.objects.create(
            member=member, changes={}, idempotency_key=key, status=Operation.DEAD, next_attempt_at=NOW, created_at=NOW
        )

    dead("a")
    alerts_check(now=NOW)
    dead("b")
    alerts_check(now=NOW + timedelta(minutes=30))
    assert subjects() == ["MemberSync: operations for builtin went dead"]
    alerts_check(now=NOW + timedelta(hours=2))  # quiet for an hour: resolved
    alerts_check(now=NOW + timedelta(hours=2, minutes=1))  # the same dead ones: no new incident
    assert len(subjects()) == 1
    dead("c")
    alerts_check(now=NOW + timedelta(hours=2, minutes=2))
    assert len(subjects()) == 2


def test_without_operator_emails_the_incident_is_still_recorded_and_nothing_is_sent(ops, settings):
    settings.OPERATOR_EMAILS = []
    alerts_check(now=NOW + timedelta(days=4))
    assert mail.outbox == [] and Alert.objects.get().emailed_to == ""


def test_retention_prunes_old_settled_deliveries_and_events_but_keeps_waiting_ones(db, settings):
    shop = Connection.objects.create(kind="woocommerce", name="shop", created_at=NOW)
    old = NOW - timedelta(days=40)

    def delivery(status, at):
        return Delivery.objects.create(connection=shop, body=b"{}", received_at=at, status=status)

    gone, waiting, recent = delivery("applied", old), delivery("received", old), delivery("applied", NOW)

    def event(kind, at, key):
        return Event.objects.create(
            idempotency_key=key,
            kind=kind,
            source="api",
            actor="api",
            payload={},
            content_hash=key,
            occurred_at=at,
            received_at=at,
        )

    old_event, history, new_event = (
        event("order.complete", old, "1"),
        event("membership.create", old, "2"),
        event("order.complete", NOW, "3"),
    )
    assert retention_prune(now=NOW).deliveries == 0  # off by default
    settings.RETENTION_DELIVERY_DAYS = settings.RETENTION_EVENT_DAYS = 30
    pruned = retention_prune(now=NOW)
    assert (pruned.deliveries, pruned.events) == (1, 1)
    assert set(Delivery.objects.values_list("pk", flat=True)) == {waiting.pk, recent.pk}
    assert set(Event.objects.values_list("pk", flat=True)) == {history.pk, new_event.pk}
    assert not Delivery.objects.filter(pk=gone.pk).exists() and not Event.objects.filter(pk=old_event.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_backup_copies_the_sqlite_database_and_refuses_an_existing_file(tmp_path):
    if db.vendor != "sqlite":
        with pytest.raises(CommandError, match="pg_dump"):
            call_command("backup", str(tmp_path / "copy.sqlite3"))
        return
    Member.objects.create(external_id="ann", created_at=NOW)
    target = tmp_path / "copy.sqlite3"
    call_command("backup", str(target))
    with sqlite3.connect(target) as copy:
        assert copy.execute("select external_id from members_member").fetchall() == [("ann",)]
    with pytest.raises(CommandError, match="exists already"):
        call_command("backup", str(target))
    with pytest.raises(CommandError, match="does not exist"):
        call_command("backup", str(tmp_path / "no" / "copy.sqlite3"))
