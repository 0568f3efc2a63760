"""End to end against a real WordPress (tests/wordpress.py): MemberSync connected to the site as an operator
connects it, a student given a membership, paused and resumed, the worker carrying each change to the site through
the production LearnDash sink. With the companion plugin she keeps her place: her drip clock on the site is her
start pushed back by the paused time, as MemberSync explains it, and she is never unenrolled. Without it the
documented limitation shows: the suspension unenrolls her and the resumption re-enrolls her, so LearnDash
restarts her drip clock at the re-enrollment.

The site's clock is the wall clock, so the membership starts now (the worker enrolls her as it begins); MemberSync's
clock then moves days ahead for the pause and the resumption."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from membersync import clock
from membersync.actors import Actor
from membersync.catalog.services import course_create, group_create, plan_create
from membersync.connectors.learndash.connect import learndash_connect, learndash_shadow_set
from membersync.connectors.learndash.models import SiteTarget
from membersync.members.services import membership_create, membership_pause, membership_resume
from membersync.people.models import WP_USER, Identity, Member
from membersync.sync.models import Enrollment
from membersync.sync.selectors import member_explain
from membersync.sync.worker import worker_tick
from tests.wordpress import wordpress_site  # noqa: F401  (the fixture)

OPERATOR = Actor.operator("olga")
PAUSED = timedelta(days=10)
pytestmark = pytest.mark.django_db


class Site:
    """The WordPress site, connected to MemberSync as `learndash_connect` does it, with one course and one group
    linked to the catalog the way the import links them, and shadow mode turned off."""

    def __init__(self, wp, *, name: str, companion: bool):
        self.wp = wp
        self.course = wp.post_create("sfwd-courses", f"Drip course {name}")
        self.group = wp.post_create("groups", f"Cohort {name}")
        connected = learndash_connect(name=name, url=wp.url, user=wp.user, app_password=wp.app_password)
        assert connected.has_companion  # the plugin is active on this site: discover() saw membersync/v1
        self.connection = connected.connection
        if not companion:  # the same site, driven as one without the plugin
            self.connection.settings = {**self.connection.settings, "has_companion": False}
            self.connection.save(update_fields=["settings"])
        moment = clock.now()
        course_create(external_id=f"{name}-course", title="Drip course")
        group_create(external_id=f"{name}-group", title="Cohort")
        for kind, remote, target in [("course", self.course, f"{name}-course"), ("group", self.group, f"{name}-group")]:
            SiteTarget.objects.create(
                connection=self.connection,
                kind=kind,
                remote_id=remote,
                target_id=target,
                title=target,
                access_mode="closed" if kind == "course" else "",
                imported_at=moment,
            )
        learndash_shadow_set(connection=self.connection, shadow=False, actor=OPERATOR)
        grants = [{"course": f"{name}-course"}, {"group": f"{name}-group"}]
        plan_create(external_id=f"{name}-plan", name="Academy", grants=grants)
        self.plan = f"{name}-plan"
        self.catalog_course = f"{name}-course"

    def user_of(self, member: Member) -> int:
        return int(Identity.objects.get(connection=self.connection, kind=WP_USER, member=member).external_id)

    def access_from(self, user: int) -> int | None:
        value = self.wp.php(f"return get_user_meta({user}, 'course_{self.course}_access_from', true);")
        return int(value) if value not in ("", None) else None

    def meta(self, user: int, key: str):
        return self.wp.php(f"return get_user_meta({user}, '{key}', true);")

    def has_access(self, user: int) -> bool:
        return self.wp.php(f"return sfwd_lms_has_access({self.course}, {user});")

    def in_group(self, user: int) -> bool:
        return self.wp.php(f"return in_array({self.group}, learndash_get_users_group_ids({user}), true);")

    def courses_listed(self, user: int) -> dict[int, str]:
        """Her courses as LearnDash's REST lists them (GET ldlms/v2/users/<id>/courses): id -> enrolled_at_gmt."""
        code = (
            f"$r = new WP_REST_Request('GET', '/ldlms/v2/users/{user}/courses'); wp_set_current_user(1); "
            "return rest_get_server()->dispatch($r)->get_data();"
        )
        return {row["id"]: row["enrolled_at_gmt"] for row in self.wp.php(code)}

    def changes(self, user: int) -> list[tuple[str, int, bool]]:
        """Every enrollment change that reached LearnDash for her, in order: (course|group, post id, removed)."""
        rows = self.wp.php("return get_option('learndash_stand_in_changes', []);")
        return [(what, post, removed) for what, who, post, removed in rows if who == user]


def _tick(moment) -> None:
    clock.set_time(moment)
    worker_tick(now=moment)


def _start(site: Site, set_clock, login: str):
    """Her membership starts now (whole seconds: LearnDash keeps Unix seconds) and the worker enrolls her."""
    start = clock.now().replace(microsecond=0)
    set_clock(start)
    ada = Member.objects.create(external_id=login, email=f"{login}@example.test", name="Ada Drip", created_at=start)
    membership_create(member_id=login, plan_id=site.plan, actor=OPERATOR)
    before = int(time.time())
    _tick(start)
    return ada, start, before


def test_with_the_companion_a_paused_and_resumed_student_keeps_her_place_shifted_by_the_paused_time(
    wordpress_site,  # noqa: F811
    set_clock,
):
    site = Site(wordpress_site, name="drip-companion", companion=True)
    ada, start, before = _start(site, set_clock, "ada_companion")
    user = site.user_of(ada)
    enrolled_from = site.access_from(user)
    assert enrolled_from is not None and before <= enrolled_from <= int(time.time())  # LearnDash enrolled her now
    assert site.has_access(user) and site.in_group(user)
    assert site.courses_listed(user) == {site.course: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(enrolled_from))}

    paused_at = start + timedelta(days=2)
    set_clock(paused_at)
    membership_pause(member_id="ada_companion", plan_id=site.plan, actor=OPERATOR)
    _tick(paused_at)
    assert site.meta(user, f"membersync_suspended_course_{site.course}") != ""
    assert site.meta(user, f"membersync_suspended_group_{site.group}") != ""
    assert not site.has_access(user)  # LearnDash's own check refuses the course ...
    assert site.access_from(user) == enrolled_from  # ... while her enrollment and drip clock stay
    assert site.in_group(user) and site.course in site.courses_listed(user)

    resumed_at = paused_at + PAUSED
    set_clock(resumed_at)
    membership_resume(member_id="ada_companion", plan_id=site.plan, actor=OPERATOR)
    _tick(resumed_at)
    expected = start + PAUSED
    enrollment = Enrollment.objects.get(member=ada, target_kind="course", target_id=site.catalog_course)
    [explained] = member_explain(member=ada, at=resumed_at, target_id=site.catalog_course).targets
    assert enrollment.access_from == explained.access_from == expected and explained.pushed_back == PAUSED
    assert site.access_from(user) == int(expected.timestamp())  # her place on the site, exactly
    assert site.meta(user, f"membersync_suspended_course_{site.course}") == ""
    assert site.meta(user, f"membersync_suspended_group_{site.group}") == ""
    assert site.has_access(user) and site.in_group(user)
    # Never unenrolled: the one enrollment change that reached LearnDash is the first one, and the companion
    # queued no unenrollment either.
    assert site.changes(user) == [("course", site.course, False), ("group", site.group, False)]
    queued = wordpress_site.php(
        "global $wpdb; return $wpdb->get_col('SELECT body FROM ' . MemberSync_Companion_Queue::table());"
    )
    assert not [body for body in queued if '"enrollment.removed"' in body or '"group.left"' in body]


def test_without_the_companion_a_resumption_re_enrolls_and_the_sites_drip_clock_restarts(
    wordpress_site,  # noqa: F811
    set_clock,
):
    site = Site(wordpress_site, name="drip-plain", companion=False)
    ada, start, before = _start(site, set_clock, "ada_plain")
    user = site.user_of(ada)
    enrolled_from = site.access_from(user)
    assert enrolled_from is not None and before <= enrolled_from

    paused_at = start + timedelta(days=2)
    set_clock(paused_at)
    membership_pause(member_id="ada_plain", plan_id=site.plan, actor=OPERATOR)
    _tick(paused_at)
    assert site.access_from(user) is None  # unenrolled: LearnDash deleted her drip clock
    assert not site.has_access(user) and not site.in_group(user) and site.courses_listed(user) == {}
    assert site.changes(user) == [
        ("course", site.course, False),
        ("group", site.group, False),
        ("course", site.course, True),
        ("group", site.group, True),
    ]

    resumed_at = paused_at + PAUSED
    set_clock(resumed_at)
    membership_resume(member_id="ada_plain", plan_id=site.plan, actor=OPERATOR)
    re_enrolled = int(time.time())
    _tick(resumed_at)
    expected = start + PAUSED
    enrollment = Enrollment.objects.get(member=ada, target_kind="course", target_id=site.catalog_course)
    assert enrollment.access_from == expected  # MemberSync keeps her place ...
    restarted = site.access_from(user)
    assert restarted is not None and restarted >= re_enrolled  # ... the site restarts it at the re-enrollment
    assert restarted != int(expected.timestamp())
    assert site.has_access(user) and site.in_group(user)
    assert site.changes(user)[4:] == [("course", site.course, False), ("group", site.group, False)]
