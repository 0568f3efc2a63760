"""A store running WooCommerce Memberships: its user memberships are the memberships' truth. The store (the
contract fixture, over real HTTP) delivers its webhooks into MemberSync exactly as WooCommerce does; MemberSync
reads each membership's current state back from the store, keeps the store's status and dates, and still
computes grants, grace and the kept enrollment start. Its own pause or cancel of such a membership is refused."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from membersync import clock
from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.catalog.models import Plan
from membersync.connectors.models import Delivery
from membersync.connectors.woocommerce.connect import woocommerce_connect
from membersync.errors import ServiceError
from membersync.members import services as members
from membersync.members.models import Membership
from membersync.sync.selectors import member_access_from
from membersync.sync.worker import worker_tick
from tests.conftest import PROTOCOLS
from tests.contract.django_transport import DjangoTestClientTransport
from tests.contract.woocommerce_store import FakeStore

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
SECRET = "memberships-secret"


@pytest.fixture
def store(db, set_clock):
    set_clock(START)
    with FakeStore(start=START, delivery_transport=DjangoTestClientTransport()) as fake:
        yield fake


@pytest.fixture
def shop(store):
    connection = woocommerce_connect(
        name="shop",
        url=store.url,
        consumer_key=store.consumer_key,
        consumer_secret=store.consumer_secret,
        webhook_secret=SECRET,
        memberships=True,
    ).connection
    for topic in (
        "membership_plan.created",
        "user_membership.created",
        "user_membership.updated",
        "user_membership.deleted",
    ):
        store.webhook(topic, f"http://testserver/webhooks/woocommerce/{connection.name}", SECRET)
    catalog.course_create(external_id="intro")
    store.plan(10, name="Gold", access_product_ids=[55], access_length_type="unlimited")
    deliver(store)
    catalog.rules_create([{"course": "intro"}], field="grants", plan=Plan.objects.get(external_id="shop-10"))
    return connection


def deliver(store: FakeStore) -> None:
    """The store sends what it queued; MemberSync's worker applies it at the store's time."""
    assert all(200 <= status <= 302 for status in store.send_pending())
    clock.set_time(store.now)
    worker_tick(now=store.now)


def near(moment: datetime | None, expected: datetime) -> bool:
    """Equal but for the store's clock moving on a second per change."""
    return moment is not None and abs(moment - expected) <= timedelta(seconds=30)


def intro_start(member_id: str) -> datetime | None:
    """The enrollment start the built-in LMS holds for course intro (None: not enrolled)."""
    from membersync.people.models import Member

    return member_access_from(Member.objects.get(external_id=member_id), "intro")


def test_the_documented_user_membership_is_applied_as_the_store_shows_it_now(client, shop, store):
    store.customer(80, email="ann@example.com")
    store.user_membership(19, customer=80, plan=10, status="active", start=START)
    body = (PROTOCOLS / "memberships-user-membership.json").read_bytes()
    from membersync.connectors.signatures import woocommerce_signature

    headers = {
        "X-WC-Webhook-Topic": "user_membership.updated",
        "X-WC-Webhook-Resource": "user_membership",
        "X-WC-Webhook-Event": "updated",
        "X-WC-Webhook-Signature": woocommerce_signature(SECRET, body),
    }
    assert (
        client.post("/webhooks/woocommerce/shop", body, content_type="application/json", headers=headers).status_code
        == 200
    )
    deliver(store)  # and what the builders queued
    membership = Membership.objects.get(external_id="shop/um/19")
    assert (membership.managed_by, membership.status, membership.start) == ("shop", "active", START)
    assert json.loads(bytes(Delivery.objects.filter(topic="user_membership.updated").last().body))["id"] == 19


def test_a_renewal_flicker_inside_the_plans_grace_is_never_felt(shop, store):
    store.user_membership(19, customer=store.customer(80)["id"], plan=10, status="active", start=START)
    deliver(store)
    store.advance(days=30)
    store.user_membership(19, status="paused")
    deliver(store)
    store.advance(minutes=2)
    store.user_membership(19, status="active")
    deliver(store)
    clock.set_time(store.now + timedelta(days=3))
    worker_tick(now=store.now + timedelta(days=3))
    membership = Membership.objects.get(external_id="shop/um/19")
    assert membership.status == "active"
    assert not membership.pauses.exists()
    assert intro_start(membership.member.external_id) == START


def test_a_long_pause_in_the_store_suspends_after_the_grace_and_keeps_the_enrollment_start(shop, store):
    store.user_membership(19, customer=store.customer(80)["id"], plan=10, status="active", start=START)
    deliver(store)
    store.advance(days=10)
    store.user_membership(19, status="paused")
    deliver(store)
    member = Membership.objects.get(external_id="shop/um/19").member.external_id
    clock.set_time(store.now + timedelta(days=2))
    worker_tick(now=store.now + timedelta(days=2))
    assert Membership.objects.get(external_id="shop/um/19").status == "paused"
    store.advance(days=5)
    store.user_membership(19, status="active")
    deliver(store)
    # paused from day 11 (after one day of grace) to day 15: the enrollment start moves four days later
    assert near(intro_start(member), START + timedelta(days=4))


def test_cancelled_in_the_store_ends_access_at_the_stores_date_and_a_reactivation_goes_on_where_it_left(shop, store):
    store.user_membership(19, customer=store.customer(80)["id"], plan=10, status="active", start=START)
    deliver(store)
    store.advance(days=10)
    store.user_membership(19, status="cancelled")
    deliver(store)
    membership = Membership.objects.get(external_id="shop/um/19")
    assert membership.status == "cancelled" and intro_start(membership.member.external_id) is None
    store.advance(days=2)
    store.user_membership(19, status="active")
    deliver(store)
    assert near(intro_start(membership.member.external_id), START + timedelta(days=2))


def test_memberships_own_pause_and_cancel_of_a_store_membership_are_refused_with_store_managed(shop, store):
    store.user_membership(19, customer=store.customer(80)["id"], plan=10, status="active", start=START)
    deliver(store)
    for action in (members.membership_pause, members.membership_cancel):
        with pytest.raises(ServiceError) as refused:
            action(membership_id="shop/um/19", actor=Actor.operator("admin"))
        assert refused.value.code == "store_managed"
        assert "post.php?post=19" in str(refused.value)


def test_a_membership_deleted_in_the_store_ends_her_access(shop, store):
    store.user_membership(19, customer=store.customer(80)["id"], plan=10, status="active", start=START)
    deliver(store)
    member = Membership.objects.get(external_id="shop/um/19").member.external_id
    store.delete("memberships/members", 19, permanently=True)
    deliver(store)
    assert not Membership.objects.filter(external_id="shop/um/19").exists()
    assert intro_start(member) is None


def test_a_store_without_memberships_records_user_membership_deliveries_and_changes_nothing(shop, store):
    shop.settings["memberships"] = False
    shop.save(update_fields=["settings"])
    store.user_membership(19, customer=store.customer(80)["id"], plan=10, status="active", start=START)
    deliver(store)
    delivery = Delivery.objects.filter(topic="user_membership.created").get()
    assert delivery.status == Delivery.IGNORED and "orders and subscriptions" in delivery.outcome
    assert not Membership.objects.exists()
