"""Two WooCommerce stores on one site number their subscriptions and orders independently: each store's
subscription 1300 and order 727 are its own, grant its own customer, and end only there."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from membersync.catalog import services as catalog
from membersync.catalog.models import Plan
from membersync.connectors.models import Delivery
from membersync.connectors.signatures import woocommerce_signature
from membersync.connectors.woocommerce.connect import woocommerce_connect
from membersync.members.models import Membership, Order, Subscription
from membersync.people.models import Identity
from membersync.sync.worker import worker_tick
from tests.conftest import PROTOCOLS

SECRET = "whsec-two-stores-0123456789"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
STORES = ("shop", "outlet")


@pytest.fixture
def stores(db, set_clock):
    set_clock(NOW)
    catalog.course_create(external_id="intro")
    catalog.plan_create(external_id="weekly", length="subscription", grants=[{"course": "intro"}])
    catalog.plan_create(external_id="single", grants=[{"course": "intro"}])
    Plan.objects.filter(external_id="weekly").update(product_ids=["1027"])
    Plan.objects.filter(external_id="single").update(product_ids=["93"])
    for name in STORES:
        woocommerce_connect(
            name=name,
            url=f"https://{name}.example.com",
            consumer_key="ck_x",
            consumer_secret="cs_y",
            webhook_secret=SECRET,
            check=False,
        )


def applied(client, store: str, topic: str, payload: dict) -> Delivery:
    body = json.dumps(payload).encode()
    resource, _, event = topic.partition(".")
    headers = {
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": resource,
        "X-WC-Webhook-Event": event,
        "X-WC-Webhook-Signature": woocommerce_signature(SECRET, body),
    }
    response = client.post(
        f"/webhooks/woocommerce/{store}", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == 200, response.content
    worker_tick(now=NOW)
    delivery = Delivery.objects.get(pk=response.json()["delivery"])
    assert delivery.status == Delivery.APPLIED, (delivery.outcome, delivery.error)
    return delivery


def subscription_1300(customer: int, email: str, **changes) -> dict:
    payload = json.loads((PROTOCOLS / "woocommerce-subscription-v3.json").read_text())
    payload.update(customer_id=customer, **changes)
    payload["billing"] = {**payload["billing"], "email": email}
    return payload


def order_727(customer: int, email: str, **changes) -> dict:
    payload = json.loads((PROTOCOLS / "woocommerce-order-v3.json").read_text())
    payload.update(id=727, customer_id=customer, **changes)
    payload["billing"] = {**payload["billing"], "email": email}
    return payload


def member(store: str, customer: int):
    return Identity.objects.get(connection__name=store, kind="customer", external_id=str(customer)).member


def granted(store: str, customer: int) -> dict[str, str]:
    return dict(Membership.objects.filter(member=member(store, customer)).values_list("plan__external_id", "status"))


def test_each_stores_subscription_1300_and_order_727_grant_its_own_customer(client, stores):
    applied(client, "shop", "subscription.created", subscription_1300(1, "ann@shop.example"))
    applied(client, "outlet", "subscription.created", subscription_1300(1, "bea@outlet.example"))
    applied(client, "shop", "order.created", order_727(2, "cid@shop.example"))
    applied(client, "outlet", "order.created", order_727(2, "dan@outlet.example"))

    assert member("shop", 1) != member("outlet", 1) and member("shop", 2) != member("outlet", 2)
    assert granted("shop", 1) == {"weekly": "active"} and granted("outlet", 1) == {"weekly": "active"}
    assert granted("shop", 2) == {"single": "active"} and granted("outlet", 2) == {"single": "active"}
    assert Subscription.objects.count() == 2 and Order.objects.count() == 2
    ann = Subscription.objects.get(external_id="shop/subscription/1300")
    assert ann.member == member("shop", 1)


def test_a_refund_at_one_store_ends_only_its_own_order_727(client, stores):
    for store, who in (("shop", "cid"), ("outlet", "dan")):
        applied(client, store, "order.created", order_727(2, f"{who}@{store}.example"))
    refunded = order_727(2, "dan@outlet.example", status="refunded", date_modified_gmt="2026-06-01T11:00:00")
    applied(client, "outlet", "order.updated", refunded)
    assert granted("outlet", 2) == {"single": "cancelled"}
    assert granted("shop", 2) == {"single": "active"}


def test_a_subscription_cancelled_at_one_store_leaves_the_other_stores_subscription_1300_active(client, stores):
    applied(client, "shop", "subscription.created", subscription_1300(1, "ann@shop.example"))
    applied(client, "outlet", "subscription.created", subscription_1300(1, "bea@outlet.example"))
    applied(client, "outlet", "subscription.updated", subscription_1300(1, "bea@outlet.example", status="cancelled"))
    assert granted("outlet", 1) == {"weekly": "cancelled"}
    assert granted("shop", 1) == {"weekly": "active"}
    assert Subscription.objects.get(external_id="shop/subscription/1300").status == "active"
