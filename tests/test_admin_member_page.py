"""The member page's actions on her memberships and the order form, through the admin as an operator uses them:
each goes through members.services (an event by the operator), a refusal is shown on its field and changes
nothing, and a membership that follows a subscription or a store shows why and where it is changed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from membersync.actors import Actor
from membersync.catalog.services import course_create, plan_create
from membersync.members.models import Membership, Order
from membersync.members.services import membership_create
from membersync.members.subscriptions import subscription_update
from membersync.people.models import Connection, Member
from membersync.sync.models import Event
from tests.conftest import at

NOW = at("2026-03-01T12:00")
OPERATOR = Actor.operator("olga")


@pytest.fixture
def site(db, set_clock):
    set_clock(NOW)
    course_create(external_id="intro", title="Intro")
    course_create(external_id="extra", title="Extra")
    plan_create(external_id="month", name="Month", length="30 days", grants=[{"course": "intro"}])
    plan_create(external_id="silver", name="Silver", grants=[{"course": "intro"}, {"course": "extra"}])
    plan_create(external_id="tied", name="Tied", length="subscription", grants=[{"course": "intro"}])
    membership_create(member_id="alice", plan_id="month", actor=OPERATOR)
    Member.objects.create(external_id="bob", created_at=NOW)
    return Member.objects.get(external_id="alice")


def _action(alice, plan_id: str, action: str) -> str:
    membership = Membership.objects.filter(member=alice, plan__external_id=plan_id).latest("pk")
    return reverse("admin:people_member_membership_action", args=[alice.pk, membership.pk, action])


def test_the_member_page_lists_her_memberships_with_what_can_be_done(site, admin_client):
    page = admin_client.get(reverse("admin:people_member_change", args=[site.pk])).content.decode()
    assert "Her memberships: change one" in page
    for label in ("Pause", "Cancel", "Extend", "Change plan", "Transfer"):
        assert f">{label}<" in page
    assert "Sell her a plan (an order)" in page


def test_pause_and_resume_are_one_click_each_and_events_by_the_operator(site, admin_client):
    admin_client.post(_action(site, "month", "pause"))
    assert Membership.objects.get(member=site).status == "paused"
    assert Event.objects.filter(kind="membership.pause").latest("pk").actor == "operator:admin"
    page = admin_client.get(reverse("admin:people_member_change", args=[site.pk])).content.decode()
    assert ">Resume<" in page and ">Change plan<" not in page
    admin_client.post(_action(site, "month", "resume"))
    assert Membership.objects.get(member=site).status == "active"


def test_an_extension_earlier_than_the_end_is_refused_on_its_field_and_changes_nothing(site, admin_client):
    url = _action(site, "month", "extend")
    page = admin_client.post(url, {"until": "2026-03-10 00:00"}).content.decode()
    assert "the new end must be later than its current end, 2026-03-31 12:00 UTC" in page
    assert Membership.objects.get(member=site).ends_at is None
    response = admin_client.post(url, {"until": "2026-06-30 00:00"})
    assert response.status_code == 302
    assert Membership.objects.get(member=site).ends_at == at("2026-06-30T00:00")


def test_a_membership_moves_to_another_plan_and_is_transferred_from_its_forms(site, admin_client):
    page = admin_client.get(_action(site, "month", "move")).content.decode()
    assert "Silver" in page and ">Month<" not in page  # the plans it can move to
    admin_client.post(_action(site, "month", "move"), {"to_plan": "silver"})
    assert Membership.objects.get(member=site, plan__external_id="silver").status == "active"

    refused = admin_client.post(_action(site, "silver", "transfer"), {"to_member": "nobody"}).content.decode()
    assert "no member with id &#x27;nobody&#x27;" in refused
    assert not Membership.objects.filter(member__external_id="bob").exists()
    admin_client.post(_action(site, "silver", "transfer"), {"to_member": "bob"})
    assert Membership.objects.get(member__external_id="bob").plan.external_id == "silver"
    assert Membership.objects.get(member=site, plan__external_id="silver").status == "cancelled"


def test_a_membership_following_a_subscription_shows_why_and_links_to_the_store(site, admin_client):
    Connection.objects.create(kind="woocommerce", name="shop", url="https://shop.test", created_at=NOW)
    subscription_update(
        subscription={"id": "shop/subscription/1300", "member": "alice", "plan": "tied", "status": "active"},
        actor=Actor.connection("shop"),
    )
    page = admin_client.get(reverse("admin:people_member_change", args=[site.pk])).content.decode()
    assert "subscription_tied: it follows subscription shop/subscription/1300" in page
    assert 'href="https://shop.test/wp-admin/post.php?post=1300&amp;action=edit"' in page

    response = admin_client.post(_action(site, "tied", "cancel"), follow=True).content.decode()
    assert "subscription_tied" in response and "Change it there" in response
    assert Membership.objects.get(member=site, plan__external_id="tied").status == "active"


def test_an_order_made_in_the_admin_grants_its_plan_and_a_reused_id_is_refused_on_its_field(site, admin_client):
    url = reverse("admin:members_order_add")
    response = admin_client.post(url, {"order_id": "inv-1", "member": "carol", "plan": "silver"})
    assert response.status_code == 302
    assert Order.objects.get(external_id="inv-1").member.external_id == "carol"
    assert Membership.objects.get(member__external_id="carol").plan.external_id == "silver"
    assert Event.objects.get(kind="order.complete").actor == "operator:admin"

    page = admin_client.post(url, {"order_id": "inv-1", "member": "carol", "plan": "month"}).content.decode()
    assert "order inv-1 was already completed for a different purchase" in page
    assert Membership.objects.filter(member__external_id="carol").count() == 1
    assert admin_client.post(url, {"order_id": "", "member": "carol", "plan": "month"}).status_code == 200
    assert Order.objects.count() == 1
    assert Order.objects.get().completed_at == NOW  # paid now: her access counts from now
