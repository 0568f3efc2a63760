"""`membersync adopt learndash`: before going live, what MemberSync's sources would keep, add, remove or move on a
site that already has students, and adopting the ones to keep as `lms` sources at their original dates."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.connectors.learndash.adoption import adoption_plan
from membersync.connectors.learndash.catalog_import import learndash_import
from membersync.lms.models import LmsEnrollment
from membersync.members import services as members
from tests.contract.fixtures import learndash_site_factory  # noqa: F401  (fixture)
from tests.learndash_academy import NOW, academy, connect


@pytest.fixture
def live(db, set_clock, learndash_site_factory):  # noqa: F811
    """Ada bought intro (she also has advanced from the old plugin), Bob bought nothing (intro, the team and its
    leadership from the old plugin), Dan bought intro and has no user on the site; Cy is no member."""
    set_clock(NOW)
    school = academy(learndash_site_factory())
    connection = connect(school.site)
    learndash_import(connection)
    catalog.plan_create(external_id="gold", grants=[{"course": str(school.intro)}])
    for name in ("ada", "bob", "dan"):
        members.member_get_or_create(external_id=name, email=f"{name}@example.com")
    for name in ("ada", "dan"):
        members.order_complete(order_id=f"o-{name}", member_id=name, plan_id="gold", actor=Actor.system("test"))
    learndash_import(connection)  # Bob's and Ada's users are matched now that they are members
    return school, connection


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def counts(plan, kind, remote_id):
    row = next(r for r in plan.rows if (r.kind, r.remote_id) == (kind, remote_id))
    return row.keep, row.add, row.remove, row.move, row.not_members


def test_the_dry_run_says_per_course_and_group_what_going_live_would_do(live):
    school, connection = live
    plan = adoption_plan(connection=connection)
    assert counts(plan, "course", school.intro) == (1, 1, 1, 0, 1)  # Ada kept, Dan added, Bob removed, Cy alone
    assert counts(plan, "course", school.advanced) == (0, 0, 1, 0, 0)  # Ada's old enrollment would go
    assert counts(plan, "group", school.team) == (0, 0, 1, 0, 0)
    assert counts(plan, "group_leader", school.team) == (0, 0, 1, 0, 0)
    out = run("adopt", "learndash", "academy", "--dry-run")
    line = next(x for x in out.splitlines() if "Intro to Pottery" in x)
    assert line.split()[-5:] == ["1", "1", "1", "0", "1"]
    assert "membersync adopt learndash academy --course ID" in out
    assert not LmsEnrollment.objects.exists()


def test_adopting_a_course_keeps_its_students_at_their_original_dates(live):
    school, connection = live
    out = run("adopt", "learndash", "academy", "--course", str(school.advanced))
    assert "Adopted 1 enrollments" in out
    adopted = LmsEnrollment.objects.get()
    assert (adopted.member.external_id, adopted.target_id, adopted.origin) == ("ada", str(school.advanced), "adopted")
    # The site's own date: Advanced has a start date, so LearnDash counts her access from it, not from BEFORE.
    assert adopted.started_at == datetime(2025, 1, 1, tzinfo=UTC) and adopted.connection == connection
    plan = adoption_plan(connection=connection)
    assert counts(plan, "course", school.advanced) == (1, 0, 0, 0, 0)
    assert counts(plan, "course", school.intro)[2] == 1  # Bob's intro was not chosen: still to be removed
    again = run("adopt", "learndash", "academy", "--course", str(school.advanced))
    assert "Adopted 0 enrollments" in again and LmsEnrollment.objects.count() == 1


def test_adopting_all_extra_keeps_every_student_going_live_would_remove(live):
    school, connection = live
    run("adopt", "learndash", "academy", "--all-extra")
    assert set(LmsEnrollment.objects.values_list("member__external_id", "target_kind", "target_id")) == {
        ("ada", "course", str(school.advanced)),
        ("bob", "course", str(school.intro)),
        ("bob", "group", str(school.team)),
        ("bob", "group_leader", str(school.team)),
    }
    plan = adoption_plan(connection=connection)
    assert plan.total("remove") == 0 and plan.total("keep") == 5


def test_adopt_names_what_it_needs(live):
    with pytest.raises(CommandError, match="--course\\), or --all-extra"):
        run("adopt", "learndash", "academy")
    with pytest.raises(CommandError, match="no linked course or group with post id 9999"):
        run("adopt", "learndash", "academy", "--course", "9999")
