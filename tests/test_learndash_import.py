"""`membersync import learndash`: a site's courses, steps, groups and every user's enrollments read over real HTTP
from the contract site, linked to MemberSync's catalog, resumable and idempotent."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from membersync.catalog import services as catalog
from membersync.catalog.models import Course, Group
from membersync.connectors.learndash.catalog_import import learndash_import
from membersync.connectors.learndash.models import SiteEnrollment, SiteStep, SiteTarget, SiteUser
from membersync.connectors.learndash.selectors import site_targets
from membersync.connectors.models import ImportProgress
from membersync.members import services as members
from membersync.people.models import Identity
from tests.contract.fixtures import learndash_site_factory  # noqa: F401  (fixture)
from tests.learndash_academy import BEFORE, NOW, academy, connect


@pytest.fixture
def school(db, set_clock, learndash_site_factory):  # noqa: F811
    set_clock(NOW)
    return academy(learndash_site_factory())


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def snapshot(connection) -> set[tuple]:
    return set(SiteEnrollment.objects.filter(connection=connection).values_list("wp_user_id", "kind", "remote_id"))


def test_import_reads_courses_steps_groups_and_every_students_enrollments_with_their_dates(school):
    members.member_get_or_create(external_id="ada", email="Ada@Example.com")
    connection = connect(school.site)
    out = run("import", "learndash", "academy", "--no-progress")

    intro = SiteTarget.objects.get(connection=connection, kind="course", remote_id=school.intro)
    assert (intro.title, intro.access_mode) == ("Intro to Pottery", "closed")
    assert intro.details["expire_access"] is True and intro.details["expire_access_days"] == 365
    advanced = SiteTarget.objects.get(connection=connection, kind="course", remote_id=school.advanced)
    assert advanced.details["course_start_date"].startswith("2025-01-01")
    steps = SiteStep.objects.filter(connection=connection, course_remote_id=school.intro).order_by("position")
    assert [(s.remote_id, s.kind, s.parent_remote_id) for s in steps] == [
        (school.lesson, "lesson", None),
        (school.topic, "topic", school.lesson),
        (school.quiz, "quiz", None),
    ]
    team = SiteTarget.objects.get(connection=connection, kind="group", remote_id=school.team)
    assert team.details["courses"] == [school.advanced]

    # Bob reaches Advanced through his group, and everyone the open course: neither is an enrollment of theirs.
    assert snapshot(connection) == {
        (school.ada, "course", school.intro),
        (school.ada, "course", school.advanced),
        (school.bob, "course", school.intro),
        (school.bob, "group", school.team),
        (school.bob, "group_leader", school.team),
        (school.cy, "course", school.intro),
    }
    ada_intro = SiteEnrollment.objects.get(connection=connection, wp_user_id=school.ada, remote_id=school.intro)
    assert ada_intro.enrolled_at == BEFORE
    assert SiteUser.objects.get(connection=connection, wp_user_id=school.cy).email == "cy@example.com"
    # Ada's address is a member's: her WordPress user is now that member's identity; nobody else became a member.
    identity = Identity.objects.get(connection=connection, kind="wp_user")
    assert (identity.external_id, identity.member.external_id) == (str(school.ada), "ada")
    assert "1 WordPress users recorded" in out


def test_import_links_by_id_or_title_and_creates_the_rest_in_the_catalog(school):
    catalog.course_create(external_id=str(school.intro), title="Pottery 101")
    catalog.course_create(external_id="glazes", title="advanced glazes")
    connection = connect(school.site)
    out = run("import", "learndash", "academy", "--no-progress")

    links = site_targets(connection=connection)
    assert links[("course", str(school.intro))].remote_id == school.intro  # by id
    assert links[("course", "glazes")].remote_id == school.advanced  # by title, case aside
    assert links[("group", str(school.team))].remote_id == school.team  # created
    assert links[("group_leader", str(school.team))].remote_id == school.team  # a leader target uses its group
    created = Group.objects.get(external_id=str(school.team))
    assert list(created.courses.values_list("external_id", flat=True)) == ["glazes"]
    assert Course.objects.get(external_id=str(school.open_course)).title == "Free Sampler"
    assert "by title" in out and "new catalog group" in out


def test_import_without_create_leaves_unknown_courses_unlinked(school):
    connection = connect(school.site)
    out = run("import", "learndash", "academy", "--no-progress", "--no-create")
    assert site_targets(connection=connection) == {}
    assert not Course.objects.exists()
    assert "not linked (--no-create): course" in out


def test_an_open_course_a_rule_grants_is_flagged(school):
    catalog.course_create(external_id="sampler", title="Free Sampler")
    catalog.plan_create(external_id="gold", grants=[{"course": "sampler"}])
    connect(school.site)
    out = run("import", "learndash", "academy", "--no-progress")
    assert "FLAG: course" in out and "Free Sampler" in out and "refuses to enroll" in out


def test_a_second_import_changes_nothing(school):
    connection = connect(school.site)
    learndash_import(connection)
    before = (snapshot(connection), list(SiteTarget.objects.values_list("pk", "target_id", "details")))
    again = learndash_import(connection)
    assert [(r.resource, r.created, r.updated) for r in again.resources] == [
        ("courses", 0, 0),
        ("groups", 0, 0),
        ("users", 0, 0),
    ]
    assert (snapshot(connection), list(SiteTarget.objects.values_list("pk", "target_id", "details"))) == before


def test_a_dry_run_writes_nothing(school):
    connection = connect(school.site)
    report = learndash_import(connection, dry_run=True)
    assert report.summary("courses").created == 3 and report.summary("users").read == 4
    assert not SiteTarget.objects.exists() and not SiteEnrollment.objects.exists() and not Course.objects.exists()


def test_an_interrupted_import_resumes_where_it_stopped(school):
    site = school.site
    students = [site.user(email=f"student{number}@example.com") for number in range(150)]  # two pages of users
    connection = connect(site)
    site.fail_next(1, status=503)
    report = learndash_import(connection, attempts=1, sleep=lambda s: None)
    assert "the site is unavailable at page 1 of courses" in report.stopped
    assert "Run the import again: it resumes at page 1 of courses" in report.stopped

    def fail_after_the_first_page_of_users(resource, done, total):
        if resource == "users" and done == 100:
            site.fail_next(10, status=503)

    stopped = learndash_import(
        connection, attempts=1, sleep=lambda s: None, progress=fail_after_the_first_page_of_users
    )
    assert "page 2 of users" in stopped.stopped
    assert ImportProgress.objects.get(connection=connection, resource="learndash:users").next_page == 2
    assert SiteUser.objects.count() == 100
    site._failures.clear()
    reads = site.count("GET")
    resumed = learndash_import(connection)
    assert resumed.finished and resumed.resumed == "page 2 of users"
    assert resumed.summary("users").read == 154  # admin, ada, bob, cy and 150 students, each read once in all
    assert SiteUser.objects.count() == 154
    assert site.count("GET") - reads == 1 + 54 * 2  # page 2, then each of its users' courses and groups
    assert not ImportProgress.objects.filter(connection=connection).exists()
    assert students[-1] in set(SiteUser.objects.values_list("wp_user_id", flat=True))


def test_the_next_import_forgets_what_the_site_no_longer_has(school, set_clock):
    connection = connect(school.site)
    learndash_import(connection)
    set_clock(NOW + timedelta(days=1))
    school.site.delete_user(school.cy)
    school.site.unenroll(school.ada, school.advanced)
    learndash_import(connection)
    assert not SiteUser.objects.filter(wp_user_id=school.cy).exists()
    assert (school.cy, "course", school.intro) not in snapshot(connection)
    assert (school.ada, "course", school.advanced) not in snapshot(connection)
    assert (school.ada, "course", school.intro) in snapshot(connection)


def test_import_of_an_unknown_site_names_the_ones_there_are(school):
    connect(school.site)
    with pytest.raises(CommandError, match="no LearnDash connection named 'nope' \\(connections: academy\\)"):
        run("import", "learndash", "nope")
