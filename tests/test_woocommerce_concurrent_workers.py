"""Two workers applying deliveries at the same moment (PostgreSQL runs them truly side by side; SQLite one after
the other): deliveries about one new customer, or about two customers with one address, make one member with one
identity, and none of them fails."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from django.db import connection as db

from membersync import clock
from membersync.catalog import services as catalog
from membersync.catalog.models import Plan
from membersync.connectors.deliveries import delivery_apply, delivery_receive
from membersync.connectors.models import Delivery
from membersync.connectors.woocommerce.connect import woocommerce_connect
from membersync.people.models import Identity, Member
from tests.conftest import PROTOCOLS

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
ROUNDS = 12  # each round is a new customer: the race is hit in most rounds on PostgreSQL


def _connect(name: str):
    return woocommerce_connect(
        name=name, url=f"https://{name}.example.com", consumer_key="ck_x", consumer_secret="cs_y", check=False
    ).connection


def _received(store, topic: str, payload: dict) -> int:
    resource, _, event = topic.partition(".")
    headers = {"X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": resource, "X-WC-Webhook-Event": event}
    return delivery_receive(connection=store, headers=headers, body=json.dumps(payload).encode()).pk


def _apply_at_once(delivery_pks: list[int]) -> list[BaseException]:
    """Apply each delivery in a thread of its own (its own database connection), all released together."""
    barrier = threading.Barrier(len(delivery_pks))
    errors: list[BaseException] = []

    def work(pk: int) -> None:
        try:
            delivery = Delivery.objects.select_related("connection").get(pk=pk)
            barrier.wait(timeout=10)
            delivery_apply(delivery, now=NOW)
        except BaseException as error:  # collected: an exception in a thread would otherwise vanish
            errors.append(error)
        finally:
            db.close()

    threads = [threading.Thread(target=work, args=(pk,)) for pk in delivery_pks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


@pytest.fixture
def site(transactional_db):
    clock.set_time(NOW)
    catalog.course_create(external_id="intro")
    catalog.plan_create(external_id="single", grants=[{"course": "intro"}])
    Plan.objects.filter(external_id="single").update(product_ids=["93"])
    yield
    clock.set_time(None)


def _order(order_id: int, customer_id: int, email: str) -> dict:
    order = json.loads((PROTOCOLS / "woocommerce-order-v3.json").read_text())
    order.update(id=order_id, customer_id=customer_id, status="processing")
    order["billing"] = {**order["billing"], "email": email}
    return order


def test_a_new_customers_deliveries_applied_at_once_by_two_workers_make_one_member_and_none_fails(site):
    shop = _connect("shop")
    for n in range(ROUNDS):
        customer_id, email = 500 + n, f"new{n}@example.com"
        customer = {"id": customer_id, "email": email, "first_name": "New", "last_name": f"Customer {n}"}
        pks = [
            _received(shop, "customer.created", customer),
            _received(shop, "order.created", _order(7000 + n, customer_id, email)),
        ]
        assert _apply_at_once(pks) == []
        statuses = list(Delivery.objects.filter(pk__in=pks).values_list("status", "error"))
        assert statuses == [(Delivery.APPLIED, "")] * 2, f"round {n}: {statuses}"
        identity = Identity.objects.get(connection=shop, kind="customer", external_id=str(customer_id))
        assert Member.objects.filter(email_normalized=email).count() == 1
        assert list(identity.member.memberships.values_list("plan__external_id", flat=True)) == ["single"]


def test_two_stores_customers_with_one_address_applied_at_once_become_one_member(site):
    shop, outlet = _connect("shop"), _connect("outlet")
    for n in range(ROUNDS):
        email = f"both{n}@example.com"
        pks = [
            _received(shop, "order.created", _order(7000 + n, 600 + n, email)),
            _received(outlet, "order.created", _order(8000 + n, 900 + n, email.upper())),
        ]
        assert _apply_at_once(pks) == []
        assert set(Delivery.objects.filter(pk__in=pks).values_list("status", flat=True)) == {Delivery.APPLIED}
        member = Member.objects.get(email_normalized=email)  # one member, not two
        assert member.identities.filter(kind="customer").count() == 2
        assert member.memberships.count() == 2
