"""WooCommerce webhooks in: checked, stored raw, answered at once, applied by the worker exactly as the store
means them. The documented payloads (../shared/protocols/) are delivered unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command

from membersync.catalog import services as catalog
from membersync.catalog.models import Plan
from membersync.connectors.models import Delivery
from membersync.connectors.signatures import woocommerce_signature
from membersync.connectors.woocommerce.connect import woocommerce_connect
from membersync.members.models import Membership, Subscription
from membersync.people.models import Connection, Identity, Member
from membersync.sync.worker import worker_tick
from tests.conftest import PROTOCOLS

SECRET = "whsec-test-0123456789"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
URL = "/webhooks/woocommerce/shop"


@pytest.fixture
def shop(db, set_clock):
    set_clock(NOW)
    catalog.course_create(external_id="intro")
    catalog.plan_create(external_id="weekly", length="subscription", grants=[{"course": "intro"}])
    catalog.plan_create(external_id="single", grants=[{"course": "intro"}])
    Plan.objects.filter(external_id="weekly").update(product_ids=["1027"])
    Plan.objects.filter(external_id="single").update(product_ids=["93", "23"])
    return woocommerce_connect(
        name="shop",
        url="https://shop.example.com",
        consumer_key="ck_x",
        consumer_secret="cs_y",
        webhook_secret=SECRET,
        check=False,
    ).connection


def deliver(client, topic: str, body: bytes | dict, *, secret: str = SECRET, signature: str | None = None):
    if isinstance(body, dict):
        body = json.dumps(body).encode()
    resource, _, event = topic.partition(".")
    headers = {
        "X-WC-Webhook-Source": "https://shop.example.com/",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": signature if signature is not None else woocommerce_signature(secret, body),
        "X-WC-Webhook-ID": "31",
        "X-WC-Webhook-Delivery-ID": "8e1b4f0c",
    }
    return client.post(URL, data=body, content_type="application/json", headers=headers)


def applied(topic: str, body: bytes | dict, client) -> Delivery:
    response = deliver(client, topic, body)
    assert response.status_code == 200, response.content
    worker_tick(now=NOW)
    return Delivery.objects.get(pk=response.json()["delivery"])


def documented(name: str) -> bytes:
    return (PROTOCOLS / name).read_bytes()


def subscription(**changes) -> dict:
    payload = json.loads(documented("woocommerce-subscription-v3.json"))
    payload.update(changes)
    return payload


# ---- receiving ----


def test_the_creation_ping_is_answered_200_and_stores_nothing(client, shop):
    response = client.post(URL, data=b"webhook_id=31", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert not Delivery.objects.exists()


@pytest.mark.parametrize("signature", ["", "bm90IHRoZSBzaWduYXR1cmU=", None])
def test_a_missing_or_wrong_signature_is_refused_401_counted_and_stores_nothing(client, shop, signature):
    body = documented("woocommerce-subscription-v3.json")
    if signature is None:  # signed with another secret
        response = deliver(client, "subscription.updated", body, secret="someone-else")
    else:
        response = deliver(client, "subscription.updated", body, signature=signature)
    assert response.status_code == 401
    assert "X-WC-Webhook-Signature" in response.json()["error"]
    assert not Delivery.objects.exists()
    assert Connection.objects.get(name="shop").refused_signatures == 1


def test_a_body_over_the_limit_is_refused_413(client, shop, settings):
    settings.WEBHOOK_MAX_BYTES = 1000
    response = deliver(client, "subscription.updated", documented("woocommerce-subscription-v3.json"))
    assert response.status_code == 413
    assert not Delivery.objects.exists()


def test_a_delivery_for_an_unknown_connection_is_404(client, shop):
    response = client.post("/webhooks/woocommerce/nobody", data=b"{}", content_type="application/json")
    assert response.status_code == 404


def test_a_delivery_is_stored_raw_and_answered_before_it_is_applied(client, shop):
    body = documented("woocommerce-subscription-v3.json")
    response = deliver(client, "subscription.updated", body)
    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert bytes(delivery.body) == body  # byte for byte, trailing newline and all
    assert delivery.status == Delivery.RECEIVED and delivery.topic == "subscription.updated"
    assert delivery.headers["X-WC-Webhook-Delivery-ID"] == "8e1b4f0c"
    assert not Subscription.objects.exists()  # the worker applies it


# ---- the documented payloads, unchanged ----


def test_the_documented_v3_subscription_makes_its_customer_a_member_of_the_plan_its_product_grants(client, shop):
    delivery = applied("subscription.created", documented("woocommerce-subscription-v3.json"), client)
    assert delivery.status == Delivery.APPLIED, delivery.error
    identity = Identity.objects.get(connection=shop, kind="customer", external_id="1")
    assert identity.member.email == "james.allan@automattic.com"
    sub = Subscription.objects.get(external_id="shop/subscription/1300")
    assert sub.status == "active" and sub.member == identity.member
    membership = Membership.objects.get(member=identity.member)
    assert membership.plan.external_id == "weekly" and membership.subscription == sub


def test_the_documented_v1_subscription_is_not_json_and_is_kept_failed_with_a_clear_error(client, shop):
    delivery = applied("subscription.updated", documented("woocommerce-subscription-v1.txt"), client)
    assert delivery.status == Delivery.FAILED
    assert delivery.error.startswith("the body is not JSON")
    assert "line" in delivery.error  # says where


def test_a_v1_subscription_reads_its_site_local_dates(client, shop):
    text = documented("woocommerce-subscription-v1.txt").decode()
    body = text.replace('"end_date":"2016-06-07T04:15:23"', '"end_date":"2016-06-07T04:15:23",')
    payload = json.loads(body)
    payload.update(status="active", end_date="", customer_id=5, line_items=[{"id": 1, "product_id": 1027}])
    delivery = applied("subscription.updated", payload, client)
    assert delivery.status == Delivery.APPLIED, delivery.error
    assert Subscription.objects.get(external_id="shop/subscription/251").start == datetime(
        2016, 5, 9, 9, 49, 32, tzinfo=UTC
    )


def test_the_documented_order_is_a_guest_order_and_grants_nothing_saying_why(client, shop):
    delivery = applied("order.created", documented("woocommerce-order-v3.json"), client)
    assert delivery.status == Delivery.IGNORED
    assert "guest order" in delivery.outcome
    assert not Membership.objects.exists()


def test_each_paid_line_grants_the_plan_of_its_product_or_variation_once(client, shop):
    order = json.loads(documented("woocommerce-order-v3.json"))
    order["customer_id"] = 9
    delivery = applied("order.created", order, client)
    assert delivery.status == Delivery.APPLIED, delivery.error
    member = Identity.objects.get(external_id="9").member
    assert list(member.memberships.values_list("plan__external_id", flat=True)) == ["single", "single"]
    again = applied(
        "order.updated", {**order, "status": "completed", "date_modified_gmt": "2017-03-23T10:00:00"}, client
    )
    assert again.status == Delivery.APPLIED
    assert member.memberships.count() == 2  # completed after processing: granted once


def test_a_refunded_order_ends_what_it_granted(client, shop):
    order = json.loads(documented("woocommerce-order-v3.json"))
    order["customer_id"] = 9
    applied("order.created", order, client)
    refunded = {**order, "status": "refunded", "date_modified_gmt": "2017-03-24T10:00:00"}
    delivery = applied("order.updated", refunded, client)
    assert delivery.status == Delivery.APPLIED, delivery.error
    statuses = set(Membership.objects.values_list("status", flat=True))
    assert statuses == {"cancelled"}


def test_renewal_orders_never_grant(client, shop):
    order = json.loads(documented("woocommerce-order-v3.json"))
    order.update(customer_id=9, created_via="subscription")
    delivery = applied("order.created", order, client)
    assert delivery.status == Delivery.IGNORED and "renewals never grant" in delivery.outcome
    assert not Membership.objects.exists()


def test_the_documented_membership_plan_becomes_a_plan_with_its_products_and_a_days_grace(client, shop):
    delivery = applied("membership_plan.created", documented("memberships-plan.json"), client)
    assert delivery.status == Delivery.APPLIED, delivery.error
    plan = Plan.objects.get(external_id="shop-55")
    assert (plan.name, plan.product_ids, plan.length_kind, plan.length_duration) == (
        "Gold Membership Plan",
        ["84", "86"],
        "specific",
        "14 days",
    )
    assert plan.on_hold_grace == "1 day"


# ---- repeats, late and lost deliveries ----


def test_a_delivery_equal_to_the_last_state_applied_is_a_duplicate_but_a_flicker_back_is_applied(client, shop):
    active = subscription(date_modified_gmt="2026-06-01T10:00:00")
    on_hold = subscription(status="on-hold", date_modified_gmt="2026-06-01T10:00:05")
    back = subscription(date_modified_gmt="2026-06-01T10:00:09")
    outcomes = [applied("subscription.updated", p, client).status for p in (active, active, on_hold, back, back)]
    assert outcomes == [
        Delivery.APPLIED,
        Delivery.DUPLICATE,
        Delivery.APPLIED,
        Delivery.APPLIED,  # repeats the first, but not the last applied: a real change
        Delivery.DUPLICATE,
    ]
    assert Subscription.objects.get(external_id="shop/subscription/1300").status == "active"


def test_a_delivery_older_than_the_state_applied_is_stale_and_changes_nothing(client, shop):
    applied("subscription.updated", subscription(status="cancelled", date_modified_gmt="2026-06-01T11:00:00"), client)
    late = applied("subscription.updated", subscription(date_modified_gmt="2026-06-01T10:00:00"), client)
    assert late.status == Delivery.STALE
    assert Subscription.objects.get(external_id="shop/subscription/1300").status == "cancelled"


def test_a_deleted_subscription_carries_only_its_id_and_ends_the_membership(client, shop):
    applied("subscription.created", subscription(), client)
    delivery = applied("subscription.deleted", {"id": 1300}, client)
    assert delivery.status == Delivery.APPLIED, delivery.error
    assert Membership.objects.get().status == "cancelled"


# ---- customers ----


def test_a_customers_new_email_follows_her_member_and_a_deleted_customer_is_kept(client, shop):
    applied("subscription.created", subscription(), client)
    member = Identity.objects.get(external_id="1").member
    customer = {"id": 1, "email": "james@new.example", "first_name": "James", "last_name": "Allan"}
    assert applied("customer.updated", customer, client).status == Delivery.APPLIED
    assert Member.objects.get(pk=member.pk).email == "james@new.example"
    deleted = applied("customer.deleted", {"id": 1}, client)
    assert deleted.status == Delivery.APPLIED and "kept" in deleted.outcome
    assert Member.objects.filter(pk=member.pk).exists()
    assert Membership.objects.get(member=member).status == "active"


# ---- failures ----


def test_a_delivery_that_cannot_be_applied_is_kept_with_its_error_and_can_be_replayed(client, shop, capsys):
    bad = applied("subscription.updated", subscription(status="wc-bogus"), client)
    assert bad.status == Delivery.FAILED and "status" in bad.error
    good = applied("subscription.updated", subscription(), client)
    assert good.status == Delivery.APPLIED
    call_command("deliveries", "replay", str(bad.pk))
    assert f"{bad.pk}: failed: status: 'bogus' is not a subscription status" in capsys.readouterr().out
    call_command("deliveries", "list", "--failed")
    assert "subscription.updated failed" in capsys.readouterr().out


def test_a_topic_that_says_nothing_about_access_is_recorded_as_ignored(client, shop):
    delivery = applied("product.updated", {"id": 5, "name": "Mug"}, client)
    assert delivery.status == Delivery.IGNORED and "product.updated" in delivery.outcome
    assert NOW - timedelta(seconds=1) <= delivery.applied_at <= NOW


# ---- the admin ----


def test_failed_deliveries_are_listed_in_the_admin_with_their_body_and_can_be_replayed(admin_client, shop, client):
    bad = applied("subscription.updated", subscription(status="wc-bogus"), client)
    listing = admin_client.get("/admin/connectors/delivery/?status__exact=failed")
    assert listing.status_code == 200 and b"is not a subscription status" in listing.content
    page = admin_client.get(f"/admin/connectors/delivery/{bad.pk}/change/")
    assert b"wc-bogus" in page.content
    response = admin_client.post(
        "/admin/connectors/delivery/", {"action": "replay", "_selected_action": [bad.pk]}, follow=True
    )
    assert b"Replayed 1 deliveries: 1 failed" in response.content


def test_a_store_connected_in_the_admin_has_its_key_checked_and_shows_the_webhooks_to_create(
    admin_client, db, woocommerce_store
):
    form = {
        "name": "shop2",
        "url": woocommerce_store.url,
        "consumer_key": woocommerce_store.consumer_key,
        "consumer_secret": "cs_wrong",
    }
    refused = admin_client.post("/admin/connectors/woocommercestore/add/", form)
    assert refused.status_code == 200 and b"did not accept" in refused.content
    assert not Connection.objects.filter(name="shop2").exists()
    form["consumer_secret"] = woocommerce_store.consumer_secret
    response = admin_client.post("/admin/connectors/woocommercestore/add/", form, follow=True)
    assert b"the store accepted the key" in response.content
    store = Connection.objects.get(name="shop2")
    page = admin_client.get(f"/admin/connectors/woocommercestore/{store.pk}/change/")
    assert b"/webhooks/woocommerce/shop2" in page.content and b"subscription.updated" in page.content


def test_an_order_applied_late_grants_from_when_it_was_paid(client, shop):
    order = json.loads(documented("woocommerce-order-v3.json"))
    order.update(customer_id=9, date_paid_gmt="2026-05-20T08:00:00")
    applied("order.created", order, client)
    starts = set(Membership.objects.values_list("start", flat=True))
    assert starts == {datetime(2026, 5, 20, 8, 0, tzinfo=UTC)}


# ---- seats paid by a store subscription ----


def test_the_first_seat_given_on_a_site_without_any_follows_the_next_delivery_of_the_subscription_paying_it(
    client, shop
):
    from membersync.actors import Actor
    from membersync.orgs.services.organizations import org_create
    from membersync.orgs.services.seats import seat_assign, seats_add
    from membersync.sync.selectors import member_access_from

    applied("subscription.created", subscription(), client)  # nobody holds a seat yet: none are read
    owner = Identity.objects.get(external_id="1").member.external_id
    catalog.course_create(external_id="team-course")
    catalog.seat_type_create(external_id="team", grants=[{"course": "team-course"}])
    admin = Actor.system("test")
    org_create(org_id="acme", owner_id=owner, actor=admin)
    seats_add(org_id="acme", seat_type_id="team", quantity=1, subscription_id="shop/subscription/1300", actor=admin)
    seat_assign(org_id="acme", member_id="zoe", seat_type_id="team", actor=admin)
    worker_tick(now=NOW)
    zoe = Member.objects.get(external_id="zoe")
    assert member_access_from(zoe, "team-course") is not None

    cancelled = applied(
        "subscription.updated", subscription(status="cancelled", date_modified_gmt="2026-06-01T11:00:00"), client
    )
    assert cancelled.status == Delivery.APPLIED, cancelled.error
    assert member_access_from(zoe, "team-course") is None  # the seat's payer ended: so did her seat


def test_an_order_after_a_new_plan_in_the_same_worker_pass_grants_that_plan(client, shop):
    order = json.loads(documented("woocommerce-order-v3.json"))
    assert deliver(client, "order.created", {**order, "id": 1, "customer_id": 8}).status_code == 200  # reads plans
    assert deliver(client, "membership_plan.created", documented("memberships-plan.json")).status_code == 200
    order.update(customer_id=9, line_items=[{**order["line_items"][0], "product_id": 84, "variation_id": 0}])
    assert deliver(client, "order.created", order).status_code == 200
    worker_tick(now=NOW)  # one lease: the catalog is read again after the plan
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.APPLIED}
    member = Identity.objects.get(external_id="9").member
    assert "shop-55" in set(member.memberships.values_list("plan__external_id", flat=True))
