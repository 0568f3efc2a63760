"""Dates and durations far in the future or the past (9999-12-31, 0001-01-01, 100000 years) are refused with an
error that says the allowed range, wherever a person types them: never an overflow and a 500."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from membersync.access.durations import Duration, DurationError
from membersync.catalog.models import Plan
from membersync.demo import demo_load
from membersync.members.models import Membership
from membersync.orgs.models import SeatHolding
from membersync.people.models import Member
from membersync.sync.models import Event
from tests.conftest import at

FAR_DATES = ["9999-12-31", "0001-01-01", "1969-12-31", "2201-01-01"]


@pytest.fixture
def site(db, set_clock):
    set_clock(at("2026-03-01T12:00"))
    demo_load()


@pytest.fixture
def no_500(admin_client):
    admin_client.raise_request_exception = False
    return admin_client


@pytest.mark.parametrize("text", ["100000 years", "5000 months", "99999999999999999999 days", "80000 days"])
def test_absurd_durations_are_refused_with_the_longest_allowed(text):
    with pytest.raises(DurationError, match="is too long: a duration is at most 200 years"):
        Duration.parse(text)


def test_a_long_but_sane_duration_is_still_accepted():
    assert Duration.parse("200 years").after(datetime(2026, 1, 1, tzinfo=UTC)).year == 2226
    assert Duration.parse("73200 days").amount == 73200


@pytest.mark.parametrize("duration", [Duration(100000, "years"), Duration(10**9, "days"), Duration(1, "weeks")])
def test_a_duration_running_past_year_9999_is_a_duration_error_not_an_overflow(duration):
    with pytest.raises(DurationError, match="past the year 9999"):
        duration.after(datetime(9999, 12, 30, tzinfo=UTC))


@pytest.mark.parametrize("start", [f"{day} 00:00" for day in FAR_DATES])
def test_admin_refuses_a_membership_start_out_of_range_beside_the_field(site, no_500, start):
    plan = Plan.objects.first()
    before = Membership.objects.count()
    response = no_500.post(
        reverse("admin:members_membership_add"),
        {"member": "zed", "plan": plan.external_id, "status": "active", "start": start},
    )
    assert response.status_code == 200
    assert "is out of range: enter a date from 1970-01-01 to 2200-12-31" in response.content.decode()
    assert Membership.objects.count() == before


@pytest.mark.parametrize("day", FAR_DATES)
def test_admin_member_preview_at_a_far_date_says_so_and_shows_now(site, no_500, day):
    member = Member.objects.get(external_id="grace")
    response = no_500.get(reverse("admin:people_member_change", args=[member.pk]), {"at": day}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert f"{day} is out of range: enter a date from 1970-01-01 to 2200-12-31" in page
    assert "what-if preview" not in page


@pytest.mark.parametrize("model", [Membership, SeatHolding, Event])
@pytest.mark.parametrize("year", ["9999", "0", "1"])
def test_admin_list_by_a_far_year_says_so_and_lists_everything(site, no_500, model, year):
    field = {Membership: "start", SeatHolding: "start", Event: "occurred_at"}[model]
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = no_500.get(url, {f"{field}__year": year, f"{field}__month": "12", f"{field}__day": "31"}, follow=True)
    assert response.status_code == 200
    assert f"&#x27;{year}&#x27; is not a year MemberSync shows: dates run from 1970-01-01 to 2200-12-31" in (
        response.content.decode()
    )
    assert response.redirect_chain[-1][0] == url


def test_admin_list_by_a_sane_year_still_narrows_the_list(site, admin_client):
    response = admin_client.get(reverse("admin:sync_event_changelist"), {"occurred_at__year": "2026"})
    in_2026 = Event.objects.filter(occurred_at__year=2026).count()
    assert response.status_code == 200 and response.context["cl"].result_count == in_2026 < Event.objects.count()
