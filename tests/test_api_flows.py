"""The API as a client sees it: keys, the one error shape, access as stored and explained, idempotent writes, rate
limits, and an organization's key acting as its manager."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.management import call_command

from membersync.api.models import ApiKey, ResyncJob
from membersync.api.resync import resync_jobs_run
from membersync.members.models import Membership
from membersync.orgs.models import Seat
from membersync.sync.models import Event
from tests.api_site import call, site_build

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    cache.clear()
    return site_build()


def test_a_read_key_sees_whether_alice_may_open_a_course_as_the_reconciler_stored_it(site):
    open_ = call("GET", "/members/alice/access/intro", site.keys["read"])
    closed = call("GET", "/members/alice/access/safety", site.keys["read"])
    assert open_.status_code == 200 and open_.data["access"] is True and open_.data["state"] == "open"
    assert open_.data["explanation"] is None
    assert closed.status_code == 200 and closed.data["access"] is False and closed.data["state"] == "none"


def test_access_through_a_seat_names_the_seat_types_course_and_explains_it(site):
    answer = call("GET", "/members/acme-student/access/safety?explain=true", site.keys["read"])
    assert answer.data["access"] is True
    explanation = answer.data["explanation"]
    assert [s["kind"] for s in explanation["sources"]] == ["seat"]
    assert explanation["targets"][0]["id"] == "safety" and explanation["targets"][0]["grants"]


def test_access_at_a_moment_before_the_membership_began_explains_that_moment(site):
    answer = call("GET", "/members/alice/access/intro?at=2000-01-01", site.keys["read"])
    assert answer.status_code == 200
    assert answer.data["explanation"]["when"] == "past"


def test_no_key_a_wrong_key_and_a_revoked_key_are_refused_with_the_one_error_shape(site):
    for token in (None, "ms_nothing_here", site.keys["revoked"], site.keys["read"][:-2] + "xx"):
        answer = call("GET", "/members/alice", token)
        assert answer.status_code == 401
        assert answer.data == {"code": "unauthorized", "message": "no live API key was sent", "field": "Authorization"}


def test_bad_input_is_refused_with_the_field_named_and_changes_nothing(site):
    before = Membership.objects.count()
    answer = call("POST", "/memberships", site.keys["write"], {"member": "bob", "plan": "no-such-plan"})
    assert answer.status_code == 404
    assert answer.data["code"] == "not_found" and answer.data["field"] == "membership.plan"
    typed = call("POST", "/memberships", site.keys["write"], {"member": "bob", "plan": "gold", "start": "yesterday"})
    assert typed.status_code == 422 and typed.data["code"] == "invalid_value" and typed.data["field"] == "start"
    assert Membership.objects.count() == before


def test_the_same_idempotency_key_and_body_returns_the_first_answer_and_does_nothing_twice(site):
    body = {"member": "bob", "plan": "gold"}
    first = call("POST", "/memberships", site.keys["write"], body, **{"Idempotency-Key": "k1"})
    again = call("POST", "/memberships", site.keys["write"], body, **{"Idempotency-Key": "k1"})
    assert first.status_code == again.status_code == 201
    assert again.data == first.data and again["Idempotent-Replay"] == "true"
    assert Membership.objects.filter(member__external_id="bob").count() == 1
    other = call("POST", "/memberships", site.keys["write"], {**body, "plan": "x"}, **{"Idempotency-Key": "k1"})
    assert other.status_code == 409 and other.data["code"] == "idempotency_conflict"


def test_past_its_rate_a_key_gets_429_with_retry_after(site, settings):
    settings.API_RATE_PER_MINUTE = 3
    answers = [call("GET", "/catalog/courses", site.keys["read"]) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[-1].data["code"] == "rate_limited" and 1 <= int(answers[-1]["Retry-After"]) <= 60


def test_last_use_is_written_once_a_minute_not_on_every_request(site, set_clock):
    from tests.conftest import at

    set_clock(at("2030-01-01T10:00"))
    for _ in range(3):
        call("GET", "/catalog/courses", site.keys["read"])
    assert ApiKey.objects.get(name="site-read").last_used_at == at("2030-01-01T10:00")
    set_clock(at("2030-01-01T10:00:30"))
    call("GET", "/catalog/courses", site.keys["read"])
    assert ApiKey.objects.get(name="site-read").last_used_at == at("2030-01-01T10:00")
    set_clock(at("2030-01-01T10:01:30"))
    call("GET", "/catalog/courses", site.keys["read"])
    assert ApiKey.objects.get(name="site-read").last_used_at == at("2030-01-01T10:01:30")


def test_an_organizations_key_manages_its_seats_and_nothing_outside_it(site):
    key = site.keys["acme"]
    assigned = call("POST", "/orgs/acme/seats/assign", key, {"member": "acme-new", "seat_type": "standard"})
    assert assigned.status_code == 200 and assigned.data["outcome"] == "applied"
    assert Seat.objects.filter(organization__external_id="acme", holder__external_id="acme-new").exists()
    elsewhere = call("POST", "/orgs/globex/seats/assign", key, {"member": "acme-new", "seat_type": "standard"})
    assert elsewhere.status_code == 403 and elsewhere.data["code"] == "forbidden"
    assert call("GET", "/members/alice", key).status_code == 403
    billing = call("POST", "/orgs/acme/seats", key, {"seat_type": "standard", "quantity": 5})
    assert billing.status_code == 403  # buying seats is the owner's, not a manager's
    owner = call("DELETE", "/orgs/acme/people/acme-owner", key)
    assert owner.status_code == 403


def test_a_store_sends_an_order_and_the_buyer_gets_the_plans_course(site):
    sent = call("PUT", "/orders/o-1", site.keys["write"], {"member": "carol", "plan": "gold"})
    assert sent.status_code == 200 and sent.data["outcome"] == "applied"
    assert call("GET", "/members/carol/access/intro", site.keys["read"]).data["access"] is True
    refunded = call("PUT", "/orders/o-1", site.keys["write"], {"member": "carol", "status": "refunded"})
    assert refunded.status_code == 200
    assert call("GET", "/members/carol/access/intro", site.keys["read"]).data["access"] is False


def test_a_store_sends_a_subscription_and_its_older_state_is_recorded_stale(site):
    body = {"member": "dan", "plans": ["gold"], "status": "active", "modified": "2026-01-02T00:00:00Z"}
    assert call("PUT", "/subscriptions/s-1", site.keys["write"], body).status_code == 200
    assert call("GET", "/members/dan/access/intro", site.keys["read"]).data["access"] is True
    older = {**body, "status": "cancelled", "modified": "2026-01-01T00:00:00Z"}
    assert call("PUT", "/subscriptions/s-1", site.keys["write"], older).status_code == 200
    assert call("GET", "/members/dan/access/intro", site.keys["read"]).data["access"] is True


def test_members_are_found_by_email_and_created_once(site):
    made = call("POST", "/members", site.keys["write"], {"id": "erin", "email": "Erin@Example.com"})
    assert made.status_code == 201
    twice = call("POST", "/members", site.keys["write"], {"id": "erin2", "email": "erin@example.com"})
    assert twice.status_code == 409 and twice.data["code"] == "duplicate_id"
    found = call("GET", "/members?email=ERIN@example.com", site.keys["read"])
    assert [m["id"] for m in found.data] == ["erin"]


def test_a_resync_asked_through_the_api_is_carried_out_by_the_worker_with_its_progress(site):
    started = call("POST", "/resync", site.keys["admin"], {"quick": False})
    assert started.status_code == 202 and started.data["status"] == "queued"
    assert call("POST", "/resync", site.keys["write"], {}).status_code == 403
    from membersync import clock

    assert resync_jobs_run(now=clock.now(), worker="test") == 1
    job = call("GET", f"/resync/{started.data['id']}", site.keys["read"]).data
    assert job["status"] == "done" and job["done"] == job["total"] > 0
    assert ResyncJob.objects.get().status == "done"


def test_the_ledger_pages_by_cursor_and_events_show_what_the_api_did(site):
    first = call("GET", "/ledger?limit=1", site.keys["read"]).data
    second = call("GET", f"/ledger?limit=1&after={first['next']}", site.keys["read"]).data
    assert first["items"][0]["id"] < second["items"][0]["id"]
    call("POST", "/memberships", site.keys["write"], {"member": "bob", "plan": "gold"})
    assert Event.objects.filter(source="api", actor="api_key:site-write").exists()


def test_apikey_command_prints_the_key_once_and_keeps_only_its_digest(capsys, db):
    call_command("apikey", "create", "crm", "--scope", "read")
    token = capsys.readouterr().out.strip().splitlines()[-1]
    key = ApiKey.objects.get(name="crm")
    assert token.startswith(f"ms_{key.prefix}_") and token not in key.digest
    call_command("apikey", "revoke", "crm")
    assert call("GET", "/catalog/courses", token).status_code == 401


def _buy(site, member: str, key: str):
    body = {"member": member, "plan": "gold"}
    return call("POST", "/memberships", site.keys["write"], body, **{"Idempotency-Key": key})


def test_an_idempotency_key_older_than_its_hours_is_forgotten_and_may_be_used_again(site, set_clock, settings):
    from tests.conftest import at

    settings.API_IDEMPOTENCY_HOURS = 24
    set_clock(at("2030-01-01T10:00"))
    first = _buy(site, "bob", "k")
    set_clock(at("2030-01-02T09:00"))
    other = _buy(site, "dan", "k")
    assert first.status_code == 201 and other.status_code == 409
    set_clock(at("2030-01-02T10:30"))
    again = _buy(site, "dan", "k")
    assert again.status_code == 201 and "Idempotent-Replay" not in again
    assert Membership.objects.filter(member__external_id="dan").count() == 1


def test_writes_delete_the_answers_past_their_hours(site, set_clock, settings):
    from membersync.api.models import IdempotentAnswer
    from tests.conftest import at

    settings.API_IDEMPOTENCY_HOURS = 24
    set_clock(at("2030-01-01T10:00"))
    for n in range(3):
        _buy(site, f"m{n}", f"k{n}")
    assert IdempotentAnswer.objects.count() == 3
    set_clock(at("2030-01-02T11:00"))
    _buy(site, "new", "fresh")
    assert list(IdempotentAnswer.objects.values_list("key", flat=True)) == ["fresh"]


def test_a_membership_with_an_end_is_extended_and_one_without_is_refused_on_until(site):
    from datetime import timedelta

    from membersync import clock
    from membersync.catalog.services import plan_create
    from membersync.members.services import membership_create
    from tests.api_site import ADMIN

    plan_create(external_id="month", name="Month", length="30 days", grants=[{"course": "safety"}])
    membership_create(member_id="erin", plan_id="month", external_id="m-erin", actor=ADMIN)
    until = (clock.now() + timedelta(days=90)).replace(microsecond=0)
    extended = call("POST", "/memberships/m-erin/extend", site.keys["write"], {"until": until.isoformat()})
    assert extended.status_code == 200 and extended.data["ends_at"].startswith(until.strftime("%Y-%m-%dT%H:%M:%S"))
    unlimited = call("POST", "/memberships/m-alice/extend", site.keys["write"], {"until": until.isoformat()})
    assert unlimited.status_code == 422
    assert unlimited.data["code"] == "invalid_value" and unlimited.data["field"] == "until"
    assert Membership.objects.get(external_id="m-alice").ends_at is None
