"""The admin for CRM tags: a member's tags with their origins on her page, course and group tag settings edited
through the service that checks them (a bad one refused on its field, nothing saved), CRM connections connected
with their credentials checked and shown with their health and webhook addresses."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.members import services as members
from membersync.people.models import Connection
from membersync.sync.worker import worker_tick
from membersync.tags import services as tags
from membersync.tags.models import TargetTagSettings
from tests.contract.activecampaign import ActiveCampaignAccount

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ACTOR = Actor.system("test")


@pytest.fixture
def site(set_clock, db):
    set_clock(NOW)
    catalog.course_create(external_id="c101")
    catalog.group_create(external_id="g1", course_ids=["c101"])
    catalog.plan_create(external_id="gold", grants=[{"course": "c101"}])
    tags.tag_settings_set(
        target_kind="course", target_id="c101", link_tag="c101-linked", tags_on_enrollment=["student"], actor=ACTOR
    )


def test_the_member_page_shows_each_tag_the_crm_holds_and_where_it_came_from(site, admin_client):
    ada = members.member_get_or_create(external_id="ada", email="ada@example.com")
    members.order_complete(order_id="o1", member_id="ada", plan_id="gold", actor=ACTOR)
    tags.tag_apply(member=ada, tags=["vip"], actor=ACTOR, source="test")  # applied in the CRM by a person
    worker_tick(now=NOW, worker="w")

    page = admin_client.get(reverse("admin:people_member_change", args=[ada.pk])).content.decode()
    assert "tags each crm holds, with their origin" in page.lower()
    assert "applied by MemberSync (mirrors an enrollment)" in page  # c101-linked and student
    assert "<td>vip</td><td>applied in the CRM</td><td>2026-03-01 09:00</td>" in page
    assert "tags applied as sources" in page.lower()


def test_tag_settings_are_saved_through_the_service_and_a_bad_one_is_refused_on_its_field(site, admin_client):
    add = reverse("admin:tags_targettagsettings_add")
    refused = admin_client.post(
        add,
        {
            "target_kind": "course",
            "target_id": "c101",
            "link_tag": "c101-linked",
            "leader_tag": "boss",
            "unenroll_on_link_removed": "on",
            "tags_on_enrollment": "",
        },
    )
    assert refused.status_code == 200 and "a course has no leaders" in refused.content.decode()
    assert TargetTagSettings.objects.get(target_kind="course").leader_tag == ""

    saved = admin_client.post(
        add,
        {
            "target_kind": "group",
            "target_id": "g1",
            "link_tag": "g1-member",
            "leader_tag": "g1-leader",
            "unenroll_on_link_removed": "on",
            "tags_on_enrollment": "team, onboarding",
            "remove_tags_on_unenrollment": "on",
        },
    )
    assert saved.status_code == 302
    group = TargetTagSettings.objects.get(target_kind="group", target_id="g1")
    assert (group.leader_tag, group.tags_on_enrollment) == ("g1-leader", ["team", "onboarding"])


@pytest.mark.django_db(transaction=True)
def test_a_crm_is_connected_with_its_credentials_checked_and_shown_with_its_health(set_clock, admin_client):
    set_clock(NOW)
    add = reverse("admin:tags_crmconnection_add")
    with ActiveCampaignAccount() as account:
        form = {"kind": "activecampaign", "name": "ac", "url": account.url, "api_token": "wrong"}
        refused = admin_client.post(add, form)
        assert "refused the credentials" in refused.content.decode()
        assert not Connection.objects.filter(name="ac").exists()

        connected = admin_client.post(add, {**form, "api_token": account.token})
    assert connected.status_code == 302
    connection = Connection.objects.get(name="ac")
    page = admin_client.get(connected["Location"]).content.decode()
    assert f"/webhooks/activecampaign/ac/{connection.webhook_secret}" in page
    assert "consecutive failures" in page.lower()
    listing = admin_client.get(reverse("admin:tags_crmconnection_changelist")).content.decode()
    assert "ac" in listing and "Last success" in listing
