"""The webhooks benchmark: WooCommerce deliveries posted to the production web server, then applied by the worker.

In the database this process uses (a temporary SQLite file unless --use-configured-database), it makes a small
catalog (courses, plans knowing their product ids) and a WooCommerce connection, starts `membersync serve` on a
free loopback port pointed at that database, and measures two phases:

1. **accepting**, worker stopped: client threads post N signed deliveries (each on a new connection, as
   WooCommerce's Action Scheduler does) and time every answer: accepted deliveries/s, p50 and p99 answer time;
2. **draining**: the worker's inbound job (`deliveries_apply`, what `membersync worker` runs first in each pass)
   applies them until none is left received: applied deliveries/s and what each delivery came to (applied,
   duplicate, stale, ignored, failed); then one more worker pass carries out the outbox operations they made.

The deliveries are a store's day in miniature, generated per customer and interleaved: customers created and
updated (some change their email), orders created pending or paid and completed (some refunded, some guests,
renewal orders that never grant), subscriptions created pending then active, renewed (next payment moving on,
some through an on-hold flicker), some cancelled, set to pending-cancel or expired; about 10 % are re-sent
exactly (same bytes and headers). Bodies are WooCommerce's REST v3 shapes in full (billing, shipping, lines,
taxes, meta data, links), compact JSON as WooCommerce sends it.
"""

from __future__ import annotations

import base64
import cProfile
import hashlib
import http.client
import io
import itertools
import json
import math
import os
import pstats
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from urllib.parse import quote

from django.conf import settings
from django.db import connection as database
from django.db.models import Count

from membersync import clock, wiring
from membersync.catalog import services as catalog
from membersync.catalog.models import Plan
from membersync.connectors.models import Delivery
from membersync.connectors.signatures import woocommerce_signature
from membersync.connectors.woocommerce.connect import woocommerce_connect
from membersync.people.models import Connection, Member
from membersync.sync.worker import worker_tick

STORE = "bench"
STORE_URL = "https://store.bench.invalid"
PATH = f"/webhooks/woocommerce/{STORE}"
SEED = 10
DUPLICATES = 0.10  # share of the deliveries that are exact re-sends of an earlier one
OPEN_CUSTOMERS = 64  # customers whose stories are interleaved at any moment
WEBHOOK_IDS = {  # one webhook per topic, as a store is set up
    "customer.created": 11,
    "customer.updated": 12,
    "order.created": 13,
    "order.updated": 14,
    "subscription.created": 15,
    "subscription.updated": 16,
}
USER_AGENT = "WooCommerce/9.3.3 Hookshot (WordPress/6.6.2)"
MONTH, YEAR = timedelta(days=30), timedelta(days=365)

# product id -> (name, price, variation of); plans below say which products grant them
PRODUCTS = {
    "2001": ("Monthly membership", "19.00", None),
    "2003": ("Yearly membership - Standard", "190.00", "2002"),
    "2004": ("Yearly membership - Plus", "290.00", "2002"),
    "3001": ("Bootcamp", "490.00", None),
    "3003": ("Video library - Lifetime", "99.00", "3002"),
    "4001": ("Mug", "12.00", None),
}
SUBSCRIPTION_PRODUCTS = {"2001": MONTH, "2003": YEAR, "2004": YEAR}


def catalog_build() -> dict:
    """Courses and plans as a store's would be set up: two subscription plans, two one-off ones, with drips."""
    courses = ["basics", "practice", "advanced", "projects", "bootcamp", "library", "mentoring"]
    for course in courses:
        catalog.course_create(external_id=course, title=course.title())
    plans = {
        "monthly": ("subscription", [{"course": "basics"}, {"course": "practice", "after": "30 days"}], ["2001"]),
        "yearly": (
            "subscription",
            [
                {"course": "basics"},
                {"course": "practice"},
                {"course": "advanced", "after": "14 days"},
                {"course": "projects", "after": "3 months"},
            ],
            ["2002", "2003", "2004"],
        ),
        "bootcamp": ("180 days", [{"course": "bootcamp"}, {"course": "mentoring", "after": "7 days"}], ["3001"]),
        "library": ("unlimited", [{"course": "library"}], ["3002", "3003"]),
    }
    for name, (length, grants, products) in plans.items():
        grace = "1 day" if length == "subscription" else None  # a store's plans get a day's on-hold grace
        catalog.plan_create(external_id=name, length=length, grants=grants, on_hold_grace=grace)
        Plan.objects.filter(external_id=name).update(product_ids=products)
    return {"courses": len(courses), "plans": len(plans)}


# ---- the store's deliveries ----


def _stamp(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S") if moment else ""


def _address(customer: dict, *, email: bool) -> dict:
    address = {
        "first_name": customer["first_name"],
        "last_name": customer["last_name"],
        "company": "",
        "address_1": f"{customer['number']} Market Street",
        "address_2": "",
        "city": "San Francisco",
        "state": "CA",
        "postcode": "94103",
        "country": "US",
    }
    if email:
        address |= {"email": customer["email"], "phone": "(555) 555-5555"}
    return address


def _line(line_id: int, product: str, meta_id: int) -> dict:
    name, price, parent = PRODUCTS[product]
    tax = f"{float(price) * 0.075:.2f}"
    return {
        "id": line_id,
        "name": name,
        "product_id": int(parent or product),
        "variation_id": int(product) if parent else 0,
        "quantity": 1,
        "tax_class": "",
        "subtotal": price,
        "subtotal_tax": tax,
        "total": price,
        "total_tax": tax,
        "taxes": [{"id": 75, "total": tax, "subtotal": tax}],
        "meta_data": [{"id": meta_id, "key": "pa_edition", "value": name.rpartition(" - ")[2].lower()}]
        if parent
        else [],
        "sku": f"SKU-{product}",
        "price": float(price),
        "parent_name": PRODUCTS[product][0].partition(" - ")[0] if parent else None,
    }


def _money(lines: list[dict]) -> dict:
    total = sum(float(line["total"]) for line in lines)
    tax = sum(float(line["total_tax"]) for line in lines)
    return {
        "discount_total": "0.00",
        "discount_tax": "0.00",
        "shipping_total": "0.00",
        "shipping_tax": "0.00",
        "cart_tax": f"{tax:.2f}",
        "total": f"{total + tax:.2f}",
        "total_tax": f"{tax:.2f}",
        "prices_include_tax": False,
    }


def _links(kind: str, resource_id: int, customer_id: int) -> dict:
    links = {
        "self": [{"href": f"{STORE_URL}/wp-json/wc/v3/{kind}/{resource_id}"}],
        "collection": [{"href": f"{STORE_URL}/wp-json/wc/v3/{kind}"}],
    }
    if customer_id:
        links["customer"] = [{"href": f"{STORE_URL}/wp-json/wc/v3/customers/{customer_id}"}]
    return links


def customer_payload(snapshot: dict, moment: datetime) -> dict:
    created = snapshot["created"].setdefault("at", moment)
    return {
        "id": snapshot["id"],
        "date_created": _stamp(created),
        "date_created_gmt": _stamp(created),
        "date_modified": _stamp(moment),
        "date_modified_gmt": _stamp(moment),
        "email": snapshot["email"],
        "first_name": snapshot["first_name"],
        "last_name": snapshot["last_name"],
        "role": "customer",
        "username": snapshot["email"].partition("@")[0],
        "billing": _address(snapshot, email=True),
        "shipping": _address(snapshot, email=False),
        "is_paying_customer": snapshot["paying"],
        "avatar_url": "https://secure.gravatar.com/avatar/?s=96&d=mm&r=g",
        "meta_data": [],
        "_links": _links("customers", snapshot["id"], 0),
    }


def order_payload(order: dict, snapshot: dict, status: str, moment: datetime) -> dict:
    """`order` is the order's running record (its creation and payment moments); `snapshot` the customer then."""
    created = order.setdefault("created", moment)
    paid = order.get("paid")
    if paid is None and status in ("processing", "completed", "refunded"):
        paid = order["paid"] = moment
    customer_id = 0 if order["guest"] else snapshot["id"]
    meta = [{"id": order["id"] * 10 + 1, "key": "_wc_order_attribution_source_type", "value": "typein"}]
    if order["renewal_of"]:
        meta.append({"id": order["id"] * 10 + 2, "key": "_subscription_renewal", "value": str(order["renewal_of"])})
    lines = [
        _line(order["id"] * 10 + n, product, order["id"] * 10 + 5 + n) for n, product in enumerate(order["products"])
    ]
    refunds = []
    if status == "refunded":
        total = sum(float(line["total"]) + float(line["total_tax"]) for line in lines)
        refunds = [{"id": order["id"] + 1, "reason": "Asked for a refund", "total": f"-{total:.2f}"}]
    return {
        "id": order["id"],
        "parent_id": 0,
        "number": str(order["id"]),
        "order_key": f"wc_order_{hashlib.md5(str(order['id']).encode()).hexdigest()[:13]}",
        "created_via": "subscription" if order["renewal_of"] else "checkout",
        "version": "9.3.3",
        "status": status,
        "currency": "USD",
        "date_created": _stamp(created),
        "date_created_gmt": _stamp(created),
        "date_modified": _stamp(moment),
        "date_modified_gmt": _stamp(moment),
        **_money(lines),
        "customer_id": customer_id,
        "customer_ip_address": "203.0.113.7",
        "customer_user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0",
        "customer_note": "",
        "billing": _address(snapshot, email=True),
        "shipping": _address(snapshot, email=False),
        "payment_method": "stripe",
        "payment_method_title": "Credit Card (Stripe)",
        "transaction_id": f"ch_{order['id']:012d}" if paid else "",
        "date_paid": _stamp(paid) or None,
        "date_paid_gmt": _stamp(paid) or None,
        "date_completed": _stamp(moment) if status == "completed" else None,
        "date_completed_gmt": _stamp(moment) if status == "completed" else None,
        "cart_hash": hashlib.md5(f"cart{order['id']}".encode()).hexdigest(),
        "meta_data": meta,
        "line_items": lines,
        "tax_lines": [
            {
                "id": order["id"] * 10 + 9,
                "rate_code": "US-CA-STATE TAX",
                "rate_id": 75,
                "label": "State Tax",
                "compound": False,
                "tax_total": _money(lines)["total_tax"],
                "shipping_tax_total": "0.00",
                "meta_data": [],
            }
        ],
        "shipping_lines": [],
        "fee_lines": [],
        "coupon_lines": [],
        "refunds": refunds,
        "_links": _links("orders", order["id"], customer_id),
    }


def subscription_payload(subscription: dict, snapshot: dict, change: dict, moment: datetime) -> dict:
    """`subscription` is its running record (start, products, period); `change` what this delivery says: its
    status, how many periods are paid, and when it ends if it does."""
    start = subscription.setdefault("start", moment)
    period = SUBSCRIPTION_PRODUCTS[subscription["product"]]
    trial_end = start + timedelta(days=14) if subscription["trial"] else None
    first_due = trial_end or start
    paid_until = first_due + period * change["periods"]
    status = change["status"]
    end = None
    if status == "pending-cancel":
        end = paid_until
    elif status in ("cancelled", "expired"):
        end = subscription.setdefault("ended", moment)
    next_payment = paid_until if status in ("active", "on-hold") else None
    last_payment = first_due + period * (change["periods"] - 1) if change["periods"] else None
    lines = [_line(subscription["id"] * 10, subscription["product"], subscription["id"] * 10 + 5)]
    return {
        "id": subscription["id"],
        "parent_id": subscription["parent_order"],
        "status": status,
        "currency": "USD",
        "version": "9.3.3",
        "prices_include_tax": False,
        "date_created": _stamp(start),
        "date_modified": _stamp(moment),
        **{k: v for k, v in _money(lines).items() if k != "prices_include_tax"},
        "customer_id": snapshot["id"],
        "order_key": f"wc_order_{hashlib.md5(str(subscription['id']).encode()).hexdigest()[:13]}",
        "billing": _address(snapshot, email=True),
        "shipping": _address(snapshot, email=False),
        "payment_method": "stripe",
        "payment_method_title": "Credit Card (Stripe)",
        "customer_ip_address": "",
        "customer_user_agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0",
        "created_via": "checkout",
        "customer_note": "",
        "date_completed": None,
        "date_paid": _stamp(last_payment) or None,
        "number": str(subscription["id"]),
        "meta_data": [
            {"id": subscription["id"] * 10 + 1, "key": "is_vat_exempt", "value": "no"},
            {"id": subscription["id"] * 10 + 2, "key": "_stripe_customer_id", "value": f"cus_{snapshot['id']:08d}"},
        ],
        "line_items": lines,
        "tax_lines": [],
        "shipping_lines": [],
        "fee_lines": [],
        "coupon_lines": [],
        "date_created_gmt": _stamp(start),
        "date_modified_gmt": _stamp(moment),
        "date_completed_gmt": None,
        "date_paid_gmt": _stamp(last_payment) or None,
        "billing_period": "year" if period == YEAR else "month",
        "billing_interval": "1",
        "start_date_gmt": _stamp(start),
        "trial_end_date_gmt": _stamp(trial_end),
        "next_payment_date_gmt": _stamp(next_payment),
        "last_payment_date_gmt": _stamp(last_payment),
        "cancelled_date_gmt": _stamp(end) if status in ("cancelled", "pending-cancel") else "",
        "end_date_gmt": _stamp(end),
        "resubscribed_from": "",
        "resubscribed_subscription": "",
        "removed_line_items": [],
        "_links": _links("subscriptions", subscription["id"], snapshot["id"])
        | {"up": [{"href": f"{STORE_URL}/wp-json/wc/v3/orders/{subscription['parent_order']}"}]},
    }


@dataclass
class Event:
    """One delivery to make: its topic and how to build its payload at the moment the store sends it."""

    topic: str
    build: Callable[[datetime], dict]


def customer_story(rng: random.Random, number: int, ids: Callable[[], int]) -> list[Event]:
    """What one customer's store sends about her, in the order it happens."""
    customer = {
        "id": 100 + number,
        "number": number,
        "email": f"customer{number}@bench.example",
        "first_name": rng.choice(["Ada", "Grace", "Alan", "Edsger", "Barbara", "Ken", "Margaret", "Linus"]),
        "last_name": f"Customer{number}",
        "paying": False,
        "created": {},
    }
    story: list[Event] = []

    def now_is() -> dict:  # the customer as the store knows her at this point of the story
        return dict(customer)

    def say(topic: str, build: Callable[[datetime], dict]) -> None:
        story.append(Event(topic, build))

    def order(products: list[str], *, guest: bool = False, renewal_of: int = 0) -> dict:
        return {"id": ids(), "products": products, "guest": guest, "renewal_of": renewal_of}

    if rng.random() < 0.4:
        say("customer.created", partial(customer_payload, now_is()))
    buys_subscription = rng.random() < 0.55
    if buys_subscription:
        product = rng.choice(["2001", "2001", "2003", "2004"])
        parent = order([product])
        subscription = {"id": ids(), "product": product, "parent_order": parent["id"], "trial": rng.random() < 0.2}
        customer["paying"] = True
        say("order.created", partial(order_payload, parent, now_is(), "pending"))
        say(
            "subscription.created",
            partial(subscription_payload, subscription, now_is(), {"status": "pending", "periods": 0}),
        )
        say("order.updated", partial(order_payload, parent, now_is(), "processing"))
        say(
            "subscription.updated",
            partial(subscription_payload, subscription, now_is(), {"status": "active", "periods": 1}),
        )
        periods = 1
        for _ in range(rng.choices([0, 1, 2, 3], weights=[3, 4, 2, 1])[0]):
            if rng.random() < 0.3:  # the renewal payment is late: on-hold, then active again
                change = {"status": "on-hold", "periods": periods}
                say("subscription.updated", partial(subscription_payload, subscription, now_is(), change))
            renewal = order([product], renewal_of=subscription["id"])
            say("order.created", partial(order_payload, renewal, now_is(), "processing"))
            periods += 1
            change = {"status": "active", "periods": periods}
            say("subscription.updated", partial(subscription_payload, subscription, now_is(), change))
        ending = rng.random()
        if ending < 0.12:
            for status in ("pending-cancel", "cancelled"):
                change = {"status": status, "periods": periods}
                say("subscription.updated", partial(subscription_payload, subscription, now_is(), change))
        elif ending < 0.2:  # a failed renewal, never paid
            for status in ("on-hold", "cancelled"):
                change = {"status": status, "periods": periods}
                say("subscription.updated", partial(subscription_payload, subscription, now_is(), change))
        elif ending < 0.25:
            change = {"status": "expired", "periods": periods}
            say("subscription.updated", partial(subscription_payload, subscription, now_is(), change))
    if not buys_subscription or rng.random() < 0.2:
        for _ in range(rng.choice([1, 1, 1, 2])):
            products = [rng.choice(["3001", "3003", "3003"])] + (["4001"] if rng.random() < 0.3 else [])
            bought = order(products, guest=rng.random() < 0.04)
            customer["paying"] = True
            if rng.random() < 0.25:  # a bank transfer: pending first
                say("order.created", partial(order_payload, bought, now_is(), "pending"))
                say("order.updated", partial(order_payload, bought, now_is(), "processing"))
            else:
                say("order.created", partial(order_payload, bought, now_is(), "processing"))
            say("order.updated", partial(order_payload, bought, now_is(), "completed"))
            if rng.random() < 0.15:
                say("order.updated", partial(order_payload, bought, now_is(), "refunded"))
    if rng.random() < 0.3:  # an address or name edit: nothing that matters for access
        say("customer.updated", partial(customer_payload, now_is()))
    if rng.random() < 0.08:
        customer["email"] = f"customer{number}.new@bench.example"
        say("customer.updated", partial(customer_payload, now_is()))
    return story


@dataclass(frozen=True)
class Request:
    """One delivery as it goes over the wire."""

    topic: str
    body: bytes
    headers: dict
    duplicate: bool = False


def deliveries_make(count: int, *, secret: str, ends_at: datetime, seed: int = SEED) -> tuple[list[Request], dict]:
    """`count` signed deliveries, about 10 % of them exact re-sends, stamped one second apart up to `ends_at`."""
    rng = random.Random(seed)
    originals = count - round(count * DUPLICATES) if count > 1 else count
    ids = itertools.count(5000).__next__  # orders and subscriptions share one id space, as in WordPress
    numbers = itertools.count(1)
    open_stories: list[tuple[int, list[Event]]] = []
    events: list[Event] = []
    customers = set()
    while len(events) < originals:
        while len(open_stories) < OPEN_CUSTOMERS:
            number = next(numbers)
            open_stories.append((number, customer_story(rng, number, ids)))
        number, story = rng.choice(open_stories)
        events.append(story.pop(0))
        customers.add(number)
        if not story:
            open_stories.remove((number, story))
    started = ends_at - timedelta(seconds=originals)
    requests = []
    for index, event in enumerate(events):
        body = json.dumps(event.build(started + timedelta(seconds=index)), separators=(",", ":")).encode()
        resource, _, action = event.topic.partition(".")
        webhook = WEBHOOK_IDS[event.topic]
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-WC-Webhook-Source": f"{STORE_URL}/",
            "X-WC-Webhook-Topic": event.topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": action,
            "X-WC-Webhook-Signature": woocommerce_signature(secret, body),
            "X-WC-Webhook-ID": str(webhook),
            "X-WC-Webhook-Delivery-ID": hashlib.md5(f"{webhook}:{index}".encode()).hexdigest(),
        }
        requests.append(Request(event.topic, body, headers))
    # Re-sends (a store whose request timed out sends the same delivery again), a little later.
    placed = [(float(index), request) for index, request in enumerate(requests)]
    for index in rng.sample(range(len(requests)), count - originals):
        original = requests[index]
        later = min(index + rng.randint(1, 300), len(requests)) + 0.5
        placed.append((later, Request(original.topic, original.body, original.headers, duplicate=True)))
    placed.sort(key=lambda pair: pair[0])
    made = [request for _, request in placed]
    mix = Counter(request.topic.partition(".")[0] for request in made)
    return made, {"customers": len(customers), "mix": mix}


# ---- phase 1: accepting ----


@dataclass(frozen=True)
class Answer:
    status: int
    seconds: float
    error: str = ""


def post(port: int, request: Request, *, timeout: float = 30.0) -> Answer:
    began = time.perf_counter()  # a benchmark's stopwatch, not the product's clock
    try:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            client.request("POST", PATH, body=request.body, headers=request.headers)
            response = client.getresponse()
            response.read()
            status = response.status
        finally:
            client.close()
    except OSError as error:
        return Answer(0, time.perf_counter() - began, f"{type(error).__name__}: {error}")
    return Answer(status, time.perf_counter() - began)


def post_all(port: int, requests: list[Request], *, concurrency: int) -> tuple[list[Answer], float]:
    """Post every request from `concurrency` threads, each taking the next one; (answers in order, seconds)."""
    answers: list[Answer | None] = [None] * len(requests)
    next_index = itertools.count()  # next() on a count is atomic: each index is taken once

    def client():
        while (index := next(next_index)) < len(requests):
            answers[index] = post(port, requests[index])

    threads = [threading.Thread(target=client, daemon=True) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers, time.perf_counter() - began


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value at least `share` of the values are at or below."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(len(ordered) * share)) - 1]


# ---- the server ----


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_environment() -> dict:
    """What points another process at the database this one uses (also the test database under pytest)."""
    db = database.settings_dict
    if database.vendor == "sqlite":
        return {"MEMBERSYNC_SQLITE_PATH": str(db["NAME"]), "DATABASE_URL": ""}
    credentials = quote(db["USER"] or "", safe="") + (":" + quote(db["PASSWORD"], safe="") if db["PASSWORD"] else "")
    where = f"{db['HOST'] or '127.0.0.1'}" + (f":{db['PORT']}" if db["PORT"] else "")
    return {"DATABASE_URL": f"postgres://{credentials}@{where}/{quote(db['NAME'], safe='')}"}


class Server:
    """`membersync serve` in a process of its own, on a free loopback port, pointed at this process's database."""

    def __init__(self, *, workers: int | None, secrets_key: str, folder: str):
        self.port = _free_port()
        self.log_path = os.path.join(folder, "serve.log")
        environment = {
            **os.environ,
            **database_environment(),
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            "MEMBERSYNC_SECRETS_KEY": secrets_key,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "MEMBERSYNC_DATA_DIR": folder,
        }
        environment.pop("MEMBERSYNC_SCENARIO_DATABASE", None)
        if not environment.get("DATABASE_URL"):
            environment.pop("DATABASE_URL", None)
        command = [sys.executable, "-m", "membersync.cli", "serve", "--bind", f"127.0.0.1:{self.port}"]
        if workers:
            command += ["--workers", str(workers)]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                command, env=environment, stdout=subprocess.DEVNULL, stderr=log, start_new_session=True
            )

    def wait_ready(self, *, timeout: float = 60.0, warm: int = 0, concurrency: int = 1) -> None:
        """Until it answers WooCommerce's creation ping; then `warm` more pings so every worker has loaded."""
        ping = Request("", b"webhook_id=1", {"Content-Type": "application/x-www-form-urlencoded"})
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"membersync serve stopped (exit status {self.process.returncode}):\n{self.log()}")
            answer = post(self.port, ping, timeout=5)
            if answer.status == 200:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"membersync serve did not answer within {timeout:.0f} s:\n{self.log()}")
            time.sleep(0.1)
        answers, _ = post_all(self.port, [ping] * warm, concurrency=concurrency)
        refused = [a for a in answers if a.status != 200]
        if refused:
            raise RuntimeError(f"membersync serve refused the ping: {refused[0]}\n{self.log()}")

    def cpu_seconds(self) -> float | None:
        """CPU time used so far by the server's processes (Linux's /proc; None elsewhere)."""
        try:
            with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as children:
                pids = [self.process.pid, *map(int, children.read().split())]
            total = 0
            for pid in pids:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rpartition(")")[2].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, ValueError):
            return None
        return total / os.sysconf("SC_CLK_TCK")

    def log(self, lines: int = 40) -> str:
        with open(self.log_path, errors="replace") as log:
            return "".join(log.readlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn: finish the requests in hand, then stop
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# ---- phase 2: draining ----


def drain(
    *, worker: str, profile: cProfile.Profile | None = None, statements: Counter | None = None
) -> tuple[int, int, float, float]:
    """Apply received deliveries exactly as a worker pass begins, until none is left: (settled, queries, seconds,
    CPU seconds of this process). `statements`, if given, counts the statements run by their start."""
    queries = 0

    def count(execute, sql, params, many, context):
        nonlocal queries
        queries += 1
        if statements is not None:
            statements[sql[:90]] += 1
        return execute(sql, params, many, context)

    now = clock.now()
    settled = 0
    with database.execute_wrapper(count):
        began, cpu = time.perf_counter(), time.process_time()
        if profile:
            profile.enable()
        for job in wiring.inbound_jobs():
            while applied := job(now=now, worker=worker):
                settled += applied
        if profile:
            profile.disable()
        seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
    return settled, queries, seconds, cpu


def outcomes() -> dict[str, int]:
    counts = dict.fromkeys(Delivery.STATUSES, 0)
    for status, number in Delivery.objects.values_list("status").annotate(n=Count("pk")).order_by():
        counts[status] = number
    return counts


def _profile_text(profile: cProfile.Profile, *, lines: int = 30) -> str:
    """Where the time went: the functions that spent most of it themselves, then MemberSync's own functions by the
    time spent in them and what they called."""
    text = io.StringIO()
    stats = pstats.Stats(profile, stream=text)
    stats.sort_stats("tottime").print_stats(lines)
    stats.sort_stats("cumulative").print_stats(r"membersync[/\\]", lines + 10)
    return text.getvalue()


# ---- the benchmark ----


def configured_database_refusal() -> str:
    """Why the database cannot take the benchmark ("" if it can): it must hold no site (a new database, with no
    tables yet, is fine: it is asked before migrating, so a site's database is never migrated by a benchmark)."""
    tables = set(database.introspection.table_names())
    models = [model for model in (Connection, Member, Delivery, Plan) if model._meta.db_table in tables]
    if any(model.objects.exists() for model in models):
        return (
            "the database is not empty: the webhooks benchmark adds a catalog, a connection, members and "
            "deliveries, so give it an empty (migrated or new) database of its own"
        )
    return ""


def bench_webhooks(
    *,
    deliveries: int,
    concurrency: int = 8,
    web_workers: int | None = None,
    profile: bool = False,
    out: Callable[[str], None],
) -> dict:
    # Welcome emails would time the console backend, not the worker; the Notification rows are still written.
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    if not settings.SECRETS_KEY:  # the server must open the webhook secret this process seals
        settings.SECRETS_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    secret = secrets.token_urlsafe(32)
    site = catalog_build()
    woocommerce_connect(
        name=STORE,
        url=STORE_URL,
        consumer_key="ck_bench",
        consumer_secret="cs_bench",
        webhook_secret=secret,
        check=False,
    )
    load_before = os.getloadavg()[0]
    requests, made = deliveries_make(deliveries, secret=secret, ends_at=clock.now() - timedelta(minutes=1))
    duplicates = sum(request.duplicate for request in requests)
    mix = ", ".join(f"{name} {made['mix'][name] / len(requests):.0%}" for name in ("subscription", "order", "customer"))
    sizes = sorted(len(request.body) for request in requests)
    out(
        f"database: {database.vendor}; catalog: {site['courses']} courses, {site['plans']} plans; "
        f"{len(requests):,} deliveries ({duplicates:,} exact re-sends) from {made['customers']:,} customers: {mix}; "
        f"bodies {sizes[0]:,} to {sizes[-1]:,} bytes (median {sizes[len(sizes) // 2]:,})"
    )

    with tempfile.TemporaryDirectory(prefix="membersync-bench-") as folder:
        # what `membersync serve` would choose: WEB_CONCURRENCY, else 2 per core + 1
        workers = web_workers or int(os.environ.get("WEB_CONCURRENCY") or 0) or 2 * (os.cpu_count() or 1) + 1
        server = Server(workers=workers, secrets_key=settings.SECRETS_KEY, folder=folder)
        try:
            server.wait_ready(warm=10 * workers, concurrency=concurrency)
            out(
                f"server: membersync serve --workers {workers} on 127.0.0.1:{server.port}; "
                f"load: {concurrency} client threads, a new connection per delivery"
            )
            server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
            answers, accept_s = post_all(server.port, requests, concurrency=concurrency)
            client_cpu = time.process_time() - client_cpu
            if server_cpu is not None and (after := server.cpu_seconds()) is not None:
                server_cpu = after - server_cpu
        finally:
            server.stop()
            server_log = server.log()
    accepted = sum(answer.status == 200 for answer in answers)
    refused = Counter(answer.status or answer.error for answer in answers if answer.status != 200)
    times = [answer.seconds * 1000 for answer in answers]
    stored = Delivery.objects.count()
    p50, p99 = percentile(times, 0.50), percentile(times, 0.99)
    out(
        f"phase 1, accepting (worker stopped): {accepted:,} of {len(requests):,} accepted in {accept_s:.2f} s: "
        f"{accepted / accept_s:,.0f} deliveries/s; answer time p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
        f"max {max(times):.1f} ms; {stored:,} stored"
    )
    if server_cpu is not None:
        out(
            f"  CPU: the server {server_cpu:.2f} s ({server_cpu * 1000 / len(requests):.2f} ms a delivery), "
            f"the load generator {client_cpu:.2f} s, in {accept_s:.2f} s on {os.cpu_count()} cores"
        )
    if refused:
        out(f"  not accepted: {dict(refused)}; the server's log ends with:\n{server_log}")

    profiler = cProfile.Profile() if profile else None
    statements = Counter() if profile else None
    settled, queries, drain_s, drain_cpu = drain(worker=f"bench:{os.getpid()}", profile=profiler, statements=statements)
    counts = outcomes()
    out(
        f"phase 2, draining: {settled:,} deliveries settled in {drain_s:.2f} s: {settled / drain_s:,.0f} "
        f"deliveries/s ({queries / max(settled, 1):.1f} queries and {drain_cpu * 1000 / max(settled, 1):.2f} ms "
        f"of this process's CPU per delivery)" + (" [under cProfile: slower than without]" if profile else "")
    )
    out("outcomes: " + ", ".join(f"{status} {counts[status]:,}" for status in Delivery.STATUSES))
    for delivery in Delivery.objects.filter(status=Delivery.FAILED).order_by("pk")[:5]:
        out(f"  failed {delivery.pk} {delivery.topic}: {delivery.error}")
    began = time.perf_counter()
    tick = worker_tick(now=clock.now(), worker=f"bench:{os.getpid()}")
    outbox_s = time.perf_counter() - began
    out(
        f"then one worker pass: {tick.operations_done:,} outbox operations carried out, {tick.members_woken:,} "
        f"members woken, in {outbox_s:.2f} s"
    )
    load_after = os.getloadavg()[0]
    out(f"load average (1 min): {load_before:.2f} when the run began, {load_after:.2f} when it ended")
    if profiler:
        out(_profile_text(profiler))
        out("the most frequent statements (by their first 90 characters), per delivery settled:")
        for sql, number in statements.most_common(15):
            out(f"  {number / max(settled, 1):5.2f}  {sql}")
    return {
        "database": database.vendor,
        "deliveries": len(requests),
        "duplicates_sent": duplicates,
        "customers": made["customers"],
        "mix": dict(made["mix"]),
        "concurrency": concurrency,
        "web_workers": workers,
        "accepted": accepted,
        "not_accepted": dict(refused),
        "stored": stored,
        "accept_seconds": accept_s,
        "server_cpu_seconds": server_cpu,
        "client_cpu_seconds": client_cpu,
        "accepted_per_second": accepted / accept_s,
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": max(times),
        "settled": settled,
        "drain_seconds": drain_s,
        "drain_cpu_seconds": drain_cpu,
        "applied_per_second": settled / drain_s if drain_s else 0.0,
        "queries_per_delivery": queries / max(settled, 1),
        "outcomes": counts,
        "operations": tick.operations_done,
        "outbox_seconds": outbox_s,
        "load_average": (load_before, load_after),
    }
