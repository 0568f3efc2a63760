"""The commands an operator runs: explain (with the what-if preview) and the worker."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from membersync.catalog import services as catalog
from membersync.members import services
from membersync.sync.models import Enrollment, MemberAccess

START = datetime(2026, 1, 10, 9, tzinfo=UTC)


@pytest.fixture
def alice(db, set_clock):
    set_clock(START)
    for course in ("intro", "advanced"):
        catalog.course_create(external_id=course)
    catalog.plan_create(external_id="basic", grants=[{"course": "intro"}, {"course": "advanced", "after": "14 days"}])
    services.order_complete(order_id="5001", member_id="alice", plan_id="basic", actor="store")
    return set_clock


def explain(*args) -> str:
    out = StringIO()
    call_command("explain", *args, stdout=out)
    return out.getvalue()


def test_explain_says_what_opens_when_and_why(alice):
    text = explain("alice")
    assert "course intro: open, enrollment start 2026-01-10 09:00" in text
    assert "course advanced: none" in text
    assert "[pending] membership in plan basic grants course advanced 14 days after the start" in text
    assert "ledger 2026-01-10 09:00 opened" in text and "order.complete" in text and "by store" in text


def test_explain_at_a_later_moment_previews_the_drip_without_changing_anything(alice):
    text = explain("alice", "advanced", "--at", "2026-01-25")
    assert "course advanced: open, enrollment start 2026-01-24 09:00" in text
    assert "course intro" not in text  # only the course asked about
    assert not Enrollment.objects.filter(target_id="advanced").exists()


def test_explain_refuses_an_unknown_member_and_a_bad_moment(alice):
    with pytest.raises(CommandError, match="no member with id 'bob'"):
        explain("bob")
    with pytest.raises(CommandError, match="--at: 'soon' is not an ISO 8601 date"):
        explain("alice", "--at", "soon")


def test_the_worker_carries_out_the_outbox_and_wakes_members_when_their_drip_opens(alice):
    call_command("worker", "--once")
    assert set(Enrollment.objects.values_list("target_id", flat=True)) == {"intro"}
    assert MemberAccess.objects.get().next_change_at == START + timedelta(days=14)
    alice(START + timedelta(days=15))
    call_command("worker", "--once")
    assert set(Enrollment.objects.values_list("target_id", flat=True)) == {"intro", "advanced"}
