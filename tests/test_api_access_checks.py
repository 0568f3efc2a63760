"""The access check other systems call the most: what it answers (through groups, under a merged member's old id,
for nobody), what it costs (one query once the key is known, no cookie), and how long a revoked key lives on."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from membersync import clock
from membersync.api import keys
from membersync.api.models import ApiKey
from membersync.catalog.services import course_create, group_create, plan_create
from membersync.members.merge import members_merge
from membersync.members.services import membership_create
from tests.api_site import ADMIN, call, site_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    cache.clear()
    return site_build()


def test_a_course_given_through_a_group_is_open_and_names_the_group(site):
    course_create(external_id="advanced", title="Advanced")
    group_create(external_id="bundle", title="Bundle", course_ids=["advanced", "safety"])
    plan_create(external_id="pack", name="Pack", grants=[{"group": "bundle"}])
    membership_create(member_id="carol", plan_id="pack", actor=ADMIN)
    answer = call("GET", "/members/carol/access/advanced", site.keys["read"])
    assert answer.status_code == 200
    assert answer.data["access"] is True and answer.data["via"] == ["group:bundle"]
    listed = call("GET", "/members/carol/access", site.keys["read"])
    assert [(row["target_kind"], row["target_id"], row["access"]) for row in listed.data["access"]] == [
        ("group", "bundle", True)
    ]
    assert listed.data["explanation"] is None


def test_a_merged_members_old_id_answers_for_the_member_she_became(site):
    membership_create(member_id="alice-old", plan_id="gold", actor=ADMIN)
    members_merge(keep_id="alice", absorb_id="alice-old", actor=ADMIN)
    answer = call("GET", "/members/alice-old/access/intro", site.keys["read"])
    assert answer.status_code == 200 and answer.data["member"] == "alice" and answer.data["access"] is True


def test_an_unknown_member_is_not_found_with_the_field_named(site):
    answer = call("GET", "/members/nobody/access/intro", site.keys["read"])
    assert answer.status_code == 404
    assert answer.data == {"code": "not_found", "message": "no member with id 'nobody'", "field": "member"}


def test_once_its_key_is_known_an_access_check_is_one_query_and_sets_no_cookie(site):
    call("GET", "/members/alice/access/intro", site.keys["read"])  # the key is verified and kept
    with CaptureQueriesContext(connection) as queries:
        answer = call("GET", "/members/alice/access/intro", site.keys["read"])
    assert answer.status_code == 200 and answer.data["access"] is True
    assert len(queries.captured_queries) == 1
    assert not answer.cookies and "Cookie" not in answer.get("Vary", "")


def test_the_admin_still_gets_its_session_and_csrf_cookies(site):
    from django.test import Client

    page = Client().get("/admin/login/")
    assert page.status_code == 200 and "csrftoken" in page.cookies


def test_a_key_revoked_by_another_process_is_refused_once_this_process_copy_is_older_than_the_cache_time(
    site, monkeypatch, settings
):
    seconds = [1000.0]
    monkeypatch.setattr(keys, "_monotonic", lambda: seconds[0])
    assert call("GET", "/members/alice/access/intro", site.keys["read"]).status_code == 200
    ApiKey.objects.filter(name="site-read").update(revoked_at=clock.now())  # as another web process would
    assert call("GET", "/members/alice/access/intro", site.keys["read"]).status_code == 200
    seconds[0] += settings.API_KEY_CACHE_SECONDS + 0.5
    refused = call("GET", "/members/alice/access/intro", site.keys["read"])
    assert refused.status_code == 401 and refused.data["code"] == "unauthorized"


def test_a_key_revoked_in_this_process_is_refused_at_once(site):
    assert call("GET", "/members/alice/access/intro", site.keys["read"]).status_code == 200
    keys.apikey_revoke(name="site-read")
    assert call("GET", "/members/alice/access/intro", site.keys["read"]).status_code == 401
