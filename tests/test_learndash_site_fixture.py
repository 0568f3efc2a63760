"""The contract LearnDash site's own contract, checked with plain HTTP (not the product's client): the answers the
client and sink tests rely on are LearnDash 5.0.5's."""

from __future__ import annotations

import httpx


def _http(site, *, auth=True) -> httpx.Client:
    return httpx.Client(base_url=site.url, auth=(site.username, site.app_password) if auth else None, timeout=5)


def test_the_rest_index_lists_the_configured_bases_with_learndashs_schema_titles(learndash_site_factory):
    site = learndash_site_factory(bases={"users": "students"}, companion=True)
    http = _http(site, auth=False)
    assert "membersync/v1" in http.get("/wp-json/").json()["namespaces"]
    routes = http.get("/wp-json/ldlms/v2", params={"context": "help"}).json()["routes"]
    assert routes["/ldlms/v2/students/(?P<id>[\\d]+)/courses"]["schema"]["title"] == "user-courses"
    assert routes["/ldlms/v2/sfwd-courses"]["schema"]["title"] == "sfwd-courses"
    assert "schema" not in http.get("/wp-json/ldlms/v2").json()["routes"]["/ldlms/v2/sfwd-courses"]


def test_auth_failures_are_wordpresss_and_learndashs(learndash_site_factory):
    site = learndash_site_factory()
    anonymous = _http(site, auth=False).get("/wp-json/ldlms/v2/users/1/courses")
    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "ld_rest_cannot_view")
    wrong = httpx.get(f"{site.url}/wp-json/ldlms/v2/sfwd-courses", auth=(site.username, "nope"))
    assert (wrong.status_code, wrong.json()["code"]) == (401, "incorrect_password")
    site.revoke()
    assert _http(site).get("/wp-json/ldlms/v2/sfwd-courses").status_code == 401


def test_enrolling_answers_200_always_and_its_400s_have_no_data_member(learndash_site_factory):
    site = learndash_site_factory()
    course = site.course()
    ada = site.user(email="ada@example.com")
    http = _http(site)
    answer = http.post(f"/wp-json/ldlms/v2/users/{ada}/courses", json={"course_ids": [course, course]})
    assert answer.status_code == 200
    assert [list(row) for row in answer.json()] == [["course_id", "status", "code", "message"]] * 2
    assert [row["code"] for row in answer.json()] == ["learndash_rest_enroll_success", "learndash_rest_enroll_failed"]
    gone = http.post("/wp-json/ldlms/v2/users/9999/courses", json={"course_ids": [course]})
    assert (gone.status_code, gone.json()) == (
        400,
        {"code": "learndash_rest_invalid_user_id", "message": "Invalid User ID."},
    )
    empty = http.post(f"/wp-json/ldlms/v2/users/{ada}/courses", json={"course_ids": []})
    assert (empty.status_code, empty.json()["code"]) == (400, "learndash_rest_invalid_course_id")


def test_an_open_course_refuses_its_users_route_as_a_whole_with_406(learndash_site_factory):
    site = learndash_site_factory()
    course = site.course(price_type="open")
    ada = site.user(email="ada@example.com")
    answer = _http(site).post(f"/wp-json/ldlms/v2/sfwd-courses/{course}/users", json={"user_ids": [ada]})
    assert answer.status_code == 406


def test_lists_page_like_wordpress(learndash_site_factory):
    site = learndash_site_factory()
    for _ in range(12):
        site.course()
    http = _http(site)
    first = http.get("/wp-json/ldlms/v2/sfwd-courses")
    assert (len(first.json()), first.headers["X-WP-Total"], first.headers["X-WP-TotalPages"]) == (10, "12", "2")
    assert http.get("/wp-json/ldlms/v2/sfwd-courses", params={"per_page": 101}).status_code == 400


def test_a_failure_after_the_effect_does_the_work_and_loses_the_answer(learndash_site_factory):
    site = learndash_site_factory()
    course = site.course()
    ada = site.user(email="ada@example.com")
    site.fail_next(status=500, after_effect=True)
    lost = _http(site).post(f"/wp-json/ldlms/v2/users/{ada}/courses", json={"course_ids": [course]})
    assert lost.status_code == 500 and site.enrolled(ada) == {course}
    site.fail_next(status=429, retry_after=3)
    refused = _http(site).post(f"/wp-json/ldlms/v2/users/{ada}/courses", json={"course_ids": [course]})
    assert (refused.status_code, refused.headers["Retry-After"]) == (429, "3")
    assert site.access_from_writes[(ada, course)] == 1


def test_counters_see_every_request_and_the_in_flight_cap(learndash_site_factory):
    site = learndash_site_factory(latency=0.2, max_in_flight=1)
    import threading

    answers = []
    threads = [
        threading.Thread(target=lambda: answers.append(_http(site).get("/wp-json/ldlms/v2/sfwd-courses").status_code))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers)[0] == 200 and 503 in answers
    assert site.peak_in_flight >= 2 and site.count("GET", "courses") == 3
