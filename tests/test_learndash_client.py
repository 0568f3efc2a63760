"""The LearnDash client against the contract site over loopback: what it reads, what each per-item answer means,
how each failure surfaces, and that its limiter holds a site to its rate and in-flight cap (counted by the site)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from membersync.clients.learndash import (
    LearnDashClient,
    RequestLimiter,
    SiteAuthError,
    SiteNotFound,
    SiteRefused,
    SiteUnavailable,
)


def _client(site, **options) -> LearnDashClient:
    return LearnDashClient(site.url, site.username, site.app_password, timeout=options.pop("timeout", 5), **options)


def test_discover_reads_the_sites_own_route_bases_and_the_companion(learndash_site_factory):
    site = learndash_site_factory(bases={"courses": "kurse", "users": "students", "user-courses": "enrolled"})
    info = _client(site).discover()
    assert info.bases["courses"] == "kurse"
    assert info.bases["users"] == "students"
    assert info.bases["user-courses"] == "enrolled"
    assert info.bases["group-leaders"] == "leaders"
    assert info.has_companion is False
    assert _client(learndash_site_factory(companion=True)).discover().has_companion


def test_the_client_uses_the_discovered_bases_for_every_call(learndash_site_factory):
    site = learndash_site_factory(bases={"users": "students", "user-courses": "enrolled"})
    course, ada = site.course(title="Intro"), site.user(email="ada@example.com")
    client = _client(site)
    with pytest.raises(SiteNotFound):
        client.user_courses_add(ada, [course])  # the default bases are not this site's
    client.discover()
    assert [r.ok for r in client.user_courses_add(ada, [course])] == [True]
    assert site.enrolled(ada) == {course}


def test_check_accepts_an_administrator_and_explains_every_refusal_without_the_password(learndash_site_factory):
    site = learndash_site_factory()
    _client(site).check()

    wrong = LearnDashClient(site.url, site.username, "wxyz wxyz wxyz wxyz wxyz wxyz", timeout=5)
    with pytest.raises(SiteAuthError) as refused:
        wrong.check()
    assert refused.value.status == 401 and refused.value.code == "incorrect_password"
    assert "wxyz" not in str(refused.value) and "wxyz" not in repr(wrong)

    editor = learndash_site_factory(admin=False)
    with pytest.raises(SiteAuthError, match="not a LearnDash admin"):
        _client(editor).check()


def test_a_non_admin_is_refused_by_learndashs_routes_with_403(learndash_site_factory):
    site = learndash_site_factory(admin=False)
    with pytest.raises(SiteAuthError) as refused:
        _client(site).user_courses(site.admin_id)
    assert (refused.value.status, refused.value.code) == (403, "ld_rest_cannot_view")


def test_pages_come_a_hundred_at_a_time_with_the_sites_totals_and_resume(learndash_site_factory):
    site = learndash_site_factory()
    for i in range(250):
        site.course(title=f"Course {i}")
    pages = list(_client(site).pages("courses"))
    assert [(p.number, p.total_pages, p.total, len(p.items)) for p in pages] == [
        (1, 3, 250, 100),
        (2, 3, 250, 100),
        (3, 3, 250, 50),
    ]
    assert [p.number for p in _client(site).pages("courses", start_page=3)] == [3]
    assert {item["price_type"] for item in pages[0].items} == {"closed"}


def test_enrolling_reads_every_per_item_code_and_writes_access_from_once(learndash_site_factory):
    site = learndash_site_factory()
    start = datetime(2026, 9, 1, tzinfo=UTC)
    closed, dated = site.course(title="Closed"), site.course(title="Dated", course_start_date=start)
    open_course = site.course(title="Open", price_type="open")
    ada = site.user(email="ada@example.com")
    client = _client(site)

    first = client.user_courses_add(ada, [closed, dated, open_course, 99999])
    assert [(r.id, r.ok, r.permanent, r.code) for r in first] == [
        (closed, True, False, "learndash_rest_enroll_success"),
        (dated, True, False, "learndash_rest_enroll_success"),
        (open_course, False, True, "learndash_rest_rejected_course_open"),
        (99999, False, True, "learndash_rest_invalid_course_id"),
    ]
    assert site.access_from(ada, dated) == int(start.timestamp())
    since = site.access_from(ada, closed)

    again = client.user_courses_add(ada, [closed])
    assert [(r.ok, r.code) for r in again] == [(True, "learndash_rest_enroll_failed")]  # already enrolled: held
    assert site.access_from(ada, closed) == since and site.access_from_writes[(ada, closed)] == 1

    enrolled = {c["id"]: c for c in client.user_courses(ada)}
    assert set(enrolled) == {closed, dated, open_course}  # open courses are listed for everyone
    assert enrolled[closed]["enrolled_at_gmt"] and "enrolled_at" in enrolled[closed]


def test_unenrolling_reads_200_207_and_422_per_item(learndash_site_factory):
    site = learndash_site_factory()
    a, b = site.course(), site.course()
    ada = site.user(email="ada@example.com")
    client = _client(site)
    client.user_courses_add(ada, [a, b])

    partial = client.user_courses_remove(ada, [a, 99999])  # 207
    assert [(r.ok, r.permanent, r.code) for r in partial] == [
        (True, False, "learndash_rest_unenroll_success"),
        (False, True, "learndash_rest_invalid_course_id"),
    ]
    none_done = client.user_courses_remove(ada, [a])  # 422: not enrolled, which is what was asked
    assert [(r.ok, r.code) for r in none_done] == [(True, "learndash_rest_unenroll_failed")]
    assert [r.ok for r in client.user_courses_remove(ada, [b])] == [True]  # 200
    assert site.enrolled(ada) == set() and site.access_from(ada, a) is None
    assert [r.status for r in site.requests if r.method == "DELETE"] == [207, 422, 200]


def test_whole_request_refusals_carry_learndashs_code(learndash_site_factory):
    site = learndash_site_factory(admin_auto_enroll=True)
    course = site.course()
    client = _client(site)
    with pytest.raises(SiteRefused) as gone:
        client.user_courses_add(424242, [course])
    assert (gone.value.status, gone.value.code) == (400, "learndash_rest_invalid_user_id")
    with pytest.raises(SiteRefused) as admin:
        client.user_courses_add(site.admin_id, [course])
    assert admin.value.code == "learndash_rest_admin_auto_enroll"


def test_groups_members_and_leaders_are_driven_through_their_routes(learndash_site_factory):
    site = learndash_site_factory()
    course = site.course()
    group = site.group(title="Acme", courses=[course])
    ada, bob = site.user(email="ada@example.com"), site.user(email="bob@example.com")
    client = _client(site)
    assert [(r.id, r.ok) for r in client.user_groups_add(ada, [group, 99999])] == [(group, True), (99999, False)]
    assert [r.code for r in client.user_groups_add(ada, [group])] == ["learndash_rest_enroll_failed"]
    assert [(r.id, r.ok) for r in client.group_leaders_add(group, [bob])] == [(bob, True)]
    assert [u["id"] for u in client.group_users(group)] == [ada]
    assert [u["id"] for u in client.group_leaders(group)] == [bob]
    assert [c["id"] for c in client.group_courses(group)] == [course]
    assert course in {c["id"] for c in client.user_courses(ada)}  # through the group
    assert [g["id"] for g in client.user_groups(ada)] == [group]
    assert [r.ok for r in client.user_groups_remove(ada, [group])] == [True]
    assert [r.ok for r in client.group_leaders_remove(group, [bob])] == [True]
    assert site.groups_of(ada) == set() and site.groups_of(bob, leader=True) == set()


def test_steps_and_progress_are_read_in_order(learndash_site_factory):
    site = learndash_site_factory()
    course = site.course()
    lesson = site.step(course, "lesson")
    topic = site.step(course, "topic", parent=lesson)
    quiz = site.step(course, "quiz", parent=topic)
    final = site.step(course, "quiz")
    ada = site.user(email="ada@example.com")
    site.enroll(ada, course)
    site.progress(ada, course, progress_status="in_progress", steps_completed=1)
    site.quiz_attempt(ada, quiz=quiz, course=course, percentage=80)
    client = _client(site)
    assert client.course_steps(course) == [
        {"id": lesson, "type": "lesson", "parent": None},
        {"id": topic, "type": "topic", "parent": lesson},
        {"id": quiz, "type": "quiz", "parent": topic},
        {"id": final, "type": "quiz", "parent": None},
    ]
    [progress] = client.course_progress(ada)
    assert (progress["progress_status"], progress["steps_completed"], progress["steps_total"]) == ("in_progress", 1, 4)
    assert client.course_progress(ada, course)[0]["course"] == course
    assert client.quiz_progress(ada)[0]["percentage"] == 80


def test_wordpress_users_are_found_by_exact_email_and_created(learndash_site_factory):
    site = learndash_site_factory()
    ada = site.user(email="ada@example.com")
    site.user(email="ada@example.com.au")
    client = _client(site)
    assert client.user_find_by_email("ADA@example.com")["id"] == ada
    assert client.user_find_by_email("nobody@example.com") is None
    made = client.user_create(email="cy@example.com", username="cy@example.com", first_name="Cy")
    assert site.user_by_email("cy@example.com") == made["id"]
    with pytest.raises(SiteRefused) as taken:
        client.user_create(email="cy@example.com", username="cy2")
    assert taken.value.code == "existing_user_email"


def test_unavailable_sites_say_when_to_come_back(learndash_site_factory):
    site = learndash_site_factory()
    course, ada = site.course(), site.user(email="ada@example.com")
    client = _client(site, timeout=0.5)
    site.fail_next(status=429, retry_after=7)
    with pytest.raises(SiteUnavailable) as limited:
        client.user_courses_add(ada, [course])
    assert (limited.value.status, limited.value.retry_after) == (429, 7.0)
    site.fail_next(status=503)
    with pytest.raises(SiteUnavailable):
        client.user_courses_add(ada, [course])
    site.timeout_next(seconds=1.5)
    with pytest.raises(SiteUnavailable, match="did not answer"):
        client.user_courses(ada)
    site.revoke()
    with pytest.raises(SiteAuthError):
        client.user_courses(ada)
    site.restore()
    assert site.enrolled(ada) == set()  # nothing got through before the effect
    assert [r.ok for r in client.user_courses_add(ada, [course])] == [True]


def test_the_limiter_holds_threads_to_the_rate_and_the_in_flight_cap(learndash_site_factory):
    """Counted by the site over 2-second windows: its threads see requests arrive with scheduling jitter (the
    limiter keeps 5 % headroom for it), so a window of one second could see one early arrival too many."""
    site = learndash_site_factory(latency=0.05)
    courses = [site.course() for _ in range(3)]
    users = [site.user(email=f"u{i}@example.com") for i in range(100)]
    client = _client(site, limiter=RequestLimiter(rate=40, in_flight=3))

    def enroll(chunk):
        for user in chunk:
            client.user_courses_add(user, courses)

    threads = [threading.Thread(target=enroll, args=(users[i::8],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert site.count("POST", "user-courses") == 100
    assert site.peak_in_flight <= 3
    assert site.most_in_window(2.0) <= 80
    assert all(site.enrolled(u) == set(courses) for u in users)
