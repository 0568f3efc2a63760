"""`membersync verify learndash`: what the site holds for each member MemberSync knows there, read over real HTTP,
against what her sources want: missing ones sent again with --repair, extra ones removed only with
--repair --remove-extra."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.connectors.learndash.catalog_import import learndash_import
from membersync.connectors.learndash.connect import learndash_shadow_set
from membersync.connectors.models import DriftCheck
from membersync.lms.models import LmsEnrollment
from membersync.members import services as members
from membersync.sync.models import Operation
from membersync.sync.worker import worker_tick
from tests.contract.fixtures import learndash_site_factory  # noqa: F401  (fixture)
from tests.learndash_academy import NOW, academy, connect


@pytest.fixture
def live(db, set_clock, learndash_site_factory):  # noqa: F811
    set_clock(NOW)
    school = academy(learndash_site_factory())
    connection = connect(school.site)
    learndash_import(connection)
    catalog.plan_create(external_id="gold", grants=[{"course": str(school.intro)}])
    members.member_get_or_create(external_id="ada", email="ada@example.com")
    members.order_complete(order_id="o-ada", member_id="ada", plan_id="gold", actor=Actor.system("test"))
    learndash_import(connection)
    return school, connection


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_verify_reports_missing_and_extra_enrollments_and_changes_nothing(live):
    school, connection = live
    school.site.unenroll(school.ada, school.intro)
    operations = Operation.objects.count()
    out = run("verify", "learndash", "academy")
    assert "1 missing, 1 extra, 0 mismatched" in out
    assert f"missing: Ada (user {school.ada}) course Intro to Pottery (#{school.intro})" in out
    assert f"extra: Ada (user {school.ada}) course Advanced Glazes (#{school.advanced})" in out
    assert school.site.enrolled(school.ada) == {school.advanced}
    assert Operation.objects.count() == operations
    check = DriftCheck.objects.get(connection=connection)
    assert (check.differences, check.repaired) == (2, 0)


def test_in_shadow_mode_the_missing_ones_are_already_waiting_in_the_outbox(live):
    school, connection = live
    school.site.unenroll(school.ada, school.intro)
    out = run("verify", "learndash", "academy", "--repair")
    waiting = Operation.objects.filter(sink="learndash:academy", member__external_id="ada", status="pending").last()
    assert [row["target_id"] for row in waiting.wanted] == [str(school.intro)]
    assert "sent again through the outbox (shadow mode: recorded, not sent)" in out
    assert "--repair --remove-extra removes them" in out
    assert school.site.enrolled(school.ada) == {school.advanced}


def test_live_repair_sends_what_the_site_lost_again(live):
    school, connection = live
    learndash_shadow_set(connection=connection, shadow=False, actor=Actor.system("test"))
    worker_tick(now=NOW)
    assert school.intro in school.site.enrolled(school.ada)
    school.site.unenroll(school.ada, school.intro)  # by hand on the site, behind MemberSync's back
    assert "1 missing" in run("verify", "learndash", "academy", "--repair")
    worker_tick(now=NOW)
    assert school.intro in school.site.enrolled(school.ada)
    assert school.advanced in school.site.enrolled(school.ada)  # the extra one is left alone


def test_remove_extra_removes_what_nothing_in_membersync_grants(live):
    school, connection = live
    run("verify", "learndash", "academy", "--repair", "--remove-extra")
    assert school.site.enrolled(school.ada) == {school.intro}
    assert "No difference" in run("verify", "learndash", "academy")


def test_an_adopted_enrollment_is_no_extra(live):
    school, connection = live
    run("adopt", "learndash", "academy", "--course", str(school.advanced))
    assert LmsEnrollment.objects.count() == 1
    assert "No difference" in run("verify", "learndash", "academy", "--repair", "--remove-extra")
    assert school.site.enrolled(school.ada) == {school.intro, school.advanced}


def test_remove_extra_needs_repair_and_a_refused_password_stops_with_a_message(live):
    school, connection = live
    with pytest.raises(CommandError, match="--remove-extra only goes with --repair"):
        run("verify", "learndash", "academy", "--remove-extra")
    school.site.revoke()
    with pytest.raises(CommandError, match="verify stopped before the end: the site refused the application password"):
        run("verify", "learndash", "academy")
