"""The commands an operator runs: explain (with the what-if preview) and the worker."""

import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from importlib import metadata
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.commandline import command_rows
from membersync.members import services
from membersync.sync.models import Enrollment, MemberAccess

START = datetime(2026, 1, 10, 9, tzinfo=UTC)


@pytest.fixture
def alice(db, set_clock):
    set_clock(START)
    for course in ("intro", "advanced"):
        catalog.course_create(external_id=course)
    catalog.plan_create(external_id="basic", grants=[{"course": "intro"}, {"course": "advanced", "after": "14 days"}])
    services.order_complete(order_id="5001", member_id="alice", plan_id="basic", actor=Actor.connection("store"))
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
    assert "ledger 2026-01-10 09:00 opened" in text and "order.complete" in text and "by connection:store" in text


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


def test_explain_refuses_an_unknown_course(alice):
    with pytest.raises(CommandError, match="no course or group with id 'nope'"):
        explain("alice", "nope")


def test_explain_at_takes_a_date_time_and_refuses_a_year_out_of_range(alice):
    assert "course advanced: open" in explain("alice", "advanced", "--at", "2026-01-25T10:00Z")
    with pytest.raises(CommandError, match="--at: '9999-12-31' is out of range"):
        explain("alice", "--at", "9999-12-31")


def test_worker_once_says_what_it_did(alice):
    out = StringIO()
    call_command("worker", "--once", stdout=out)
    assert out.getvalue().strip() == "One pass: 0 deliveries applied, 1 operation applied, 0 members woken."
    alice(START + timedelta(days=15))
    out = StringIO()
    call_command("worker", "--once", stdout=out)
    assert out.getvalue().strip() == "One pass: 0 deliveries applied, 1 operation applied, 1 member woken."


@pytest.mark.parametrize(
    "args, message",
    [
        (("resync", "--batch-size", "0"), "argument --batch-size: 0 is out of range: give a whole number from 1"),
        (("resync", "--show", "-1"), "argument --show: -1 is out of range"),
        (("worker", "--poll", "-1"), "argument --poll: -1 is out of range: give seconds from 0.1 to 3600"),
        (("worker", "--poll", "nan"), "argument --poll: nan is out of range"),
        (("demo", "--port", "99999"), "argument --port: 99999 is out of range: give a whole number from 1 to 65535"),
        (("bench", "resync", "--members", "-5"), "argument --members: -5 is out of range"),
        (("bench", "resync", "--members", "many"), "argument --members: 'many' is not a whole number"),
    ],
)
def test_a_command_refuses_an_argument_out_of_range(args, message):
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command(*args)


def test_from_the_command_line_a_refusal_is_a_usage_error_not_a_traceback(tmp_path):
    run = membersync_cli(tmp_path, "demo", "--port", "99999")
    assert run.returncode == 2
    assert "membersync demo: error: argument --port: 99999 is out of range" in run.stderr
    assert "Traceback" not in run.stderr and "Demo site loaded" not in run.stdout


def test_version_prints_membersyncs_version(tmp_path):
    run = membersync_cli(tmp_path, "--version")
    assert run.returncode == 0
    assert run.stdout.strip() == f"MemberSync {metadata.version('membersync')}"


def test_help_lists_membersyncs_commands_first_each_with_its_purpose(tmp_path):
    run = membersync_cli(tmp_path, "help")
    assert run.returncode == 0
    text = run.stdout
    for name in ("demo", "worker", "explain", "resync", "scenario run", "bench resync"):
        usage = f"  membersync {name}"
        assert usage in text
        purpose = text.split(usage, 1)[1].splitlines()[1]
        assert purpose.startswith("      ") and len(purpose.strip()) > 20
    assert text.index("membersync bench") < text.index("Django's commands") < text.index("makemigrations")


def test_the_readme_commands_table_is_what_help_lists():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Commands", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `membersync ([^`]+)` \| (.+) \|$", section, re.MULTILINE)
    assert rows == command_rows()


def membersync_cli(tmp_path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "membersync.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "MEMBERSYNC_DATA_DIR": str(tmp_path)},
    )
