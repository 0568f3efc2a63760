"""`membersync resync`: a dry run changes nothing, a resync repairs enrollments changed behind MemberSync's back,
and a second resync finds nothing to do."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.members import services as members
from membersync.sync.models import Enrollment, Event, GrantRecord, LedgerEntry, Operation
from membersync.sync.resync import members_resync
from membersync.sync.worker import worker_tick
from tests.conftest import at

START = at("2026-01-05T10:00")


@pytest.fixture
def site(db, set_clock):
    set_clock(START)
    for course in ("intro", "advanced", "extra"):
        catalog.course_create(external_id=course)
    catalog.plan_create(external_id="gold", grants=[{"course": "intro"}, {"course": "advanced", "after": "7 days"}])
    for number, name in enumerate(("alice", "bob", "carol", "dave", "erin")):
        members.order_complete(order_id=f"o{number}", member_id=name, plan_id="gold", actor=Actor.system("test"))
    set_clock(START + timedelta(days=10))
    worker_tick(now=START + timedelta(days=10))  # the drips open, enrollments are written


def _enrollments():
    return sorted(
        Enrollment.objects.values_list("member__external_id", "target_kind", "target_id", "status", "access_from")
    )


def _tamper():
    Enrollment.objects.filter(member__external_id="alice", target_id="intro").delete()
    Enrollment.objects.filter(member__external_id="bob", target_id="advanced").update(access_from=START)
    carol = Enrollment.objects.filter(member__external_id="carol").first()
    Enrollment.objects.create(
        member_id=carol.member_id, target_kind="course", target_id="extra", access_from=START, updated_at=START
    )


def _counts():
    return (
        Enrollment.objects.count(),
        LedgerEntry.objects.count(),
        Operation.objects.count(),
        GrantRecord.objects.count(),
        Event.objects.count(),
    )


def test_a_dry_run_reports_what_would_change_and_changes_nothing(site):
    expected = _enrollments()
    _tamper()
    tampered, before = _enrollments(), _counts()
    report = members_resync(dry_run=True, actor=Actor.system("test"))
    assert dict(report.changes) == {"enroll": 2, "unenroll": 1}
    assert "alice: enroll course intro" in report.sample
    assert "carol: unenroll course extra" in report.sample
    assert _enrollments() == tampered != expected
    assert _counts() == before


def test_resync_repairs_tampered_enrollments_and_a_second_resync_changes_nothing(site):
    expected = _enrollments()
    _tamper()
    report = members_resync(dry_run=False, actor=Actor.system("test"), batch_size=2)
    assert report.members == 5
    assert report.members_changed == 3
    assert _enrollments() == expected
    again = members_resync(dry_run=False, actor=Actor.system("test"))
    assert (again.members_changed, again.ledger_entries, again.operations) == (0, 0, 0)
    assert _enrollments() == expected


def test_progress_counts_every_member_in_batches(site):
    calls = []
    members_resync(
        dry_run=True, actor=Actor.system("test"), batch_size=2, progress=lambda done, total: calls.append((done, total))
    )
    assert calls == [(0, 5), (2, 5), (4, 5), (5, 5)]


def test_the_command_shows_a_progress_bar_and_what_would_change(site):
    _tamper()
    out, err = io.StringIO(), io.StringIO()
    call_command("resync", "--dry-run", stdout=out, stderr=err)
    assert "5/5 members 100%" in err.getvalue()
    text = out.getvalue()
    assert "would change" in text
    assert "enroll: 2" in text and "unenroll: 1" in text
    assert "alice: enroll course intro" in text
    out = io.StringIO()
    call_command("resync", stdout=out, stderr=io.StringIO())
    assert "changed" in out.getvalue()
    out = io.StringIO()
    call_command("resync", stdout=out, stderr=io.StringIO())
    assert "nothing changed" in out.getvalue()
