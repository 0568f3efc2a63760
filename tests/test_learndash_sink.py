"""The LearnDash sink against the contract site over real HTTP: what it sends for each operation, how it reads
every answer, and what it reports the site holds (the mirror). Counters are the site's own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from membersync.connectors.learndash.models import SiteTarget
from membersync.connectors.learndash.sink import learndash_sink, plan_member
from membersync.people.models import LEARNDASH, WP_USER, Connection, Identity, Member
from membersync.people.services import connection_create
from membersync.sync.mirror import mirror_write
from membersync.sync.models import Operation

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 5, 20, 9, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


class Academy:
    """A contract site, its connection and linked catalog: courses intro/advanced/open, group acme."""

    def __init__(self, site, *, companion=False, **settings):
        self.site = site
        self.intro = site.course(title="Intro")
        self.advanced = site.course(title="Advanced")
        self.open = site.course(title="Open house", price_type="open")
        self.acme = site.group(title="Acme", courses=[self.advanced])
        self.connection = connection_create(
            kind=LEARNDASH,
            name="school",
            url=site.url,
            credentials={"user": site.username, "app_password": site.app_password},
            settings={"bases": dict(site.bases), "has_companion": companion, "rate": 100, **settings},
        )
        for kind, remote, target, title, mode in [
            ("course", self.intro, "intro", "Intro", "closed"),
            ("course", self.advanced, "advanced", "Advanced", "closed"),
            ("course", self.open, "open", "Open house", "open"),
            ("group", self.acme, "acme", "Acme", ""),
        ]:
            SiteTarget.objects.create(
                connection=self.connection,
                kind=kind,
                remote_id=remote,
                target_id=target,
                title=title,
                access_mode=mode,
                imported_at=NOW,
            )
        self._pk = 0

    def sink(self):
        return learndash_sink(Connection.objects.get(pk=self.connection.pk))

    def op(self, member, *rows) -> Operation:
        self._pk += 1
        return Operation(pk=self._pk, member_id=member.pk, sink="learndash:school", wanted=list(rows))

    def apply(self, *operations):
        outcomes = self.sink().apply(list(operations), NOW)
        holdings = {op.member_id: outcomes[op.pk].holds for op in operations if outcomes[op.pk].holds is not None}
        mirror_write(sink="learndash:school", holdings=holdings, now=NOW)  # as the outbox records it
        return [outcomes[op.pk] for op in operations]

    def user_of(self, member) -> int:
        return int(Identity.objects.get(connection=self.connection, kind=WP_USER, member=member).external_id)


def row(kind, target, status="active", access_from=NOW, since=None) -> dict:
    return {
        "target_kind": kind,
        "target_id": target,
        "status": status,
        "access_from": access_from.isoformat(),
        "suspended_since": since.isoformat() if since else None,
    }


def member(name="ada", email=None) -> Member:
    return Member.objects.create(external_id=name, email=email or f"{name}@example.com", name=name, created_at=NOW)


@pytest.fixture
def academy(learndash_site_factory):
    return Academy(learndash_site_factory())


def test_a_new_member_gets_a_wordpress_user_and_her_courses_in_one_request(academy):
    ada = member()
    wanted = [row("course", "intro"), row("course", "advanced"), row("group", "acme"), row("group_leader", "acme")]
    [outcome] = academy.apply(academy.op(ada, *wanted))
    assert outcome.done and outcome.holds == sorted(wanted, key=lambda r: (r["target_kind"], r["target_id"]))
    user = academy.user_of(ada)
    site = academy.site
    assert site.enrolled(user) == {academy.intro, academy.advanced}
    assert site.groups_of(user) == {academy.acme} and site.groups_of(user, leader=True) == {academy.acme}
    assert (
        site.count("POST", "user-courses"),
        site.count("POST", "user-groups"),
        site.count("POST", "group-leaders"),
    ) == (
        1,
        1,
        1,
    )
    assert site.count("POST", "wp-users") == 1  # created once; next time the identity is used
    academy.apply(academy.op(ada, *wanted))
    assert site.count("GET", "wp-users") == 1 and site.count("POST", "user-courses") == 1  # the mirror holds it


def test_an_existing_wordpress_user_is_found_by_email_not_created(academy):
    existing = academy.site.user(email="bob@example.com")
    bob = member("bob", "Bob@Example.com")
    [outcome] = academy.apply(academy.op(bob, row("course", "intro")))
    assert outcome.done and academy.user_of(bob) == existing
    assert academy.site.count("POST", "wp-users") == 0


def test_already_enrolled_is_done_and_keeps_the_students_place(academy):
    ada = member()
    user = academy.site.user(email="ada@example.com")
    academy.site.enroll(user, academy.intro)
    since = academy.site.access_from(user, academy.intro)
    [outcome] = academy.apply(academy.op(ada, row("course", "intro")))
    assert outcome.done and outcome.holds == [row("course", "intro")]
    assert academy.site.access_from(user, academy.intro) == since
    assert academy.site.access_from_writes[(user, academy.intro)] == 1


def test_an_open_or_invalid_course_is_a_permanent_error_naming_it_and_the_rest_still_holds(academy):
    ada = member()
    SiteTarget.objects.filter(remote_id=academy.advanced).update(remote_id=99999)  # gone from the site
    wanted = [row("course", "intro"), row("course", "advanced"), row("course", "open")]
    [outcome] = academy.apply(academy.op(ada, *wanted))
    assert not outcome.done and outcome.retry is False
    assert "'advanced'" in outcome.error and "learndash_rest_invalid_course_id" in outcome.error
    assert "'open'" in outcome.error and "open on the site" in outcome.error
    assert outcome.holds == [row("course", "intro")]
    assert academy.site.enrolled(academy.user_of(ada)) == {academy.intro}


def test_an_open_course_the_import_missed_is_refused_per_item_and_permanent(academy):
    SiteTarget.objects.filter(remote_id=academy.open).update(access_mode="closed")
    ada = member()
    [outcome] = academy.apply(academy.op(ada, row("course", "open")))
    assert outcome.retry is False and "learndash_rest_rejected_course_open" in outcome.error
    assert outcome.holds == []


def test_removals_read_207_and_422_per_item(academy):
    ada = member()
    academy.apply(academy.op(ada, row("course", "intro"), row("course", "advanced")))
    user = academy.user_of(ada)
    academy.site.unenroll(user, academy.advanced)  # removed on the site by hand meanwhile
    [outcome] = academy.apply(academy.op(ada))
    assert outcome.done and outcome.holds == []
    assert [r.status for r in academy.site.requests if r.method == "DELETE"] == [207]
    assert academy.site.enrolled(user) == set()


def test_without_the_companion_a_suspension_unenrolls_and_a_resumption_enrolls_again(academy):
    ada = member()
    academy.apply(academy.op(ada, row("course", "intro")))
    user = academy.user_of(ada)
    suspended = row("course", "intro", "suspended", since=LATER)
    [outcome] = academy.apply(academy.op(ada, suspended))
    assert outcome.done and outcome.holds == [suspended]
    assert academy.site.enrolled(user) == set()
    [outcome] = academy.apply(academy.op(ada, row("course", "intro", access_from=LATER)))
    assert outcome.done and academy.site.enrolled(user) == {academy.intro}
    assert academy.site.access_from_writes[(user, academy.intro)] == 2  # LearnDash restarts the drip


def test_with_the_companion_a_suspension_keeps_the_enrollment_and_a_resumption_sets_access_from(
    learndash_site_factory,
):
    academy = Academy(learndash_site_factory(companion=True), companion=True)
    ada = member()
    academy.apply(academy.op(ada, row("course", "intro"), row("group", "acme")))
    user = academy.user_of(ada)
    suspended = [row("course", "intro", "suspended", since=LATER), row("group", "acme", "suspended", since=LATER)]
    [outcome] = academy.apply(academy.op(ada, *suspended))
    assert outcome.done
    assert academy.site.enrolled(user) == {academy.intro} and academy.site.groups_of(user) == {academy.acme}
    assert academy.site.suspended(user) == {("course", academy.intro), ("group", academy.acme)}
    resumed_from = datetime(2026, 4, 20, tzinfo=UTC)  # her place, pushed back by the suspension
    [outcome] = academy.apply(academy.op(ada, row("course", "intro", access_from=resumed_from), row("group", "acme")))
    assert outcome.done and academy.site.suspended(user) == set()
    assert academy.site.access_from(user, academy.intro) == int(resumed_from.timestamp())
    assert academy.site.access_from_writes[(user, academy.intro)] == 1  # never unenrolled


def test_with_the_companion_a_first_enrollment_starts_the_drip_where_membersync_says_not_at_the_call(
    learndash_site_factory,
):
    """LearnDash writes access_from = the moment of the enroll call; a membership that began earlier (a late
    worker, an import of an old order) keeps its own start through the companion."""
    academy = Academy(learndash_site_factory(companion=True), companion=True)
    ada = member()
    began = datetime(2026, 1, 10, tzinfo=UTC)
    [outcome] = academy.apply(academy.op(ada, row("course", "intro", access_from=began), row("group", "acme")))
    assert outcome.done
    assert academy.site.access_from(academy.user_of(ada), academy.intro) == int(began.timestamp())


def test_refused_credentials_hold_every_operation_until_they_work_again(academy):
    ada, bob = member("ada"), member("bob")
    academy.site.revoke()
    outcomes = academy.apply(academy.op(ada, row("course", "intro")), academy.op(bob, row("course", "intro")))
    assert all(o.hold and "credentials refused" in o.error for o in outcomes), outcomes
    connection = Connection.objects.get(pk=academy.connection.pk)
    assert connection.consecutive_failures == 1 and "incorrect_password" in connection.last_error
    assert academy.site.app_password not in connection.last_error
    academy.site.restore()
    outcomes = academy.apply(academy.op(ada, row("course", "intro")), academy.op(bob, row("course", "intro")))
    assert all(o.done for o in outcomes)
    connection.refresh_from_db()
    assert (connection.consecutive_failures, connection.last_error) == (0, "")


def test_a_busy_site_is_retried_after_its_retry_after_and_the_mirror_keeps_what_it_knew(academy):
    ada = member()
    academy.apply(academy.op(ada, row("course", "intro")))
    academy.site.fail_next(status=429, retry_after=7)
    [outcome] = academy.apply(academy.op(ada, row("course", "intro"), row("course", "advanced")))
    assert not outcome.done and outcome.retry and outcome.retry_after == 7.0
    assert outcome.holds == [row("course", "intro")]


def test_a_user_deleted_on_the_site_is_found_or_made_again_next_time(academy):
    ada = member()
    academy.apply(academy.op(ada, row("course", "intro")))
    academy.site.delete_user(academy.user_of(ada))
    [outcome] = academy.apply(academy.op(ada, row("course", "intro"), row("course", "advanced")))
    assert not outcome.done and outcome.retry and "learndash_rest_invalid_user_id" in outcome.error
    assert not Identity.objects.filter(member=ada, kind=WP_USER).exists()
    [outcome] = academy.apply(academy.op(ada, row("course", "intro"), row("course", "advanced")))
    assert outcome.done and academy.site.enrolled(academy.user_of(ada)) == {academy.advanced}


def test_members_run_concurrently_within_the_in_flight_limit_and_the_rate(learndash_site_factory):
    academy = Academy(learndash_site_factory(latency=0.2), rate=30, in_flight=4)
    for i in range(30):
        academy.site.user(email=f"m{i}@example.com")
    members = [member(f"m{i}") for i in range(30)]
    outcomes = academy.apply(*[academy.op(m, row("course", "intro"), row("course", "advanced")) for m in members])
    assert all(o.done for o in outcomes)
    site = academy.site
    assert site.count("POST", "user-courses") == 30  # both courses in one request per member
    assert site.peak_in_flight <= 4 and site.peak_in_flight >= 2
    assert site.most_in_window(2.0) <= 60


def test_with_the_companion_a_resumed_group_sends_no_access_from_only_the_course_its_place(academy):
    """The companion refuses a whole request whose group item carries access_from (LearnDash keeps no drip clock
    per group member; decision 0015), so a resumption of a course and a group must send it for the course only."""
    targets = {(t.kind, t.target_id): t for t in SiteTarget.objects.filter(connection=academy.connection)}
    held = {
        ("course", "intro"): row("course", "intro", "suspended", since=NOW),
        ("group", "acme"): row("group", "acme", "suspended", since=NOW),
    }
    resumed_from = datetime(2026, 4, 20, tzinfo=UTC)
    plan = plan_member(
        member_id=1,
        wanted=[row("course", "intro", access_from=resumed_from), row("group", "acme", access_from=resumed_from)],
        held=held,
        targets=targets,
        companion=True,
    )
    assert plan.companion == [
        {"kind": "course", "id": academy.intro, "status": "active", "access_from": int(resumed_from.timestamp())},
        {"kind": "group", "id": academy.acme, "status": "active", "access_from": None},
    ]
