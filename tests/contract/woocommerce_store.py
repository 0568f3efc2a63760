"""A WooCommerce store on loopback that behaves as the documented one. For tests and benchmarks only: the product
never imports this module.

    with FakeStore() as store:                    # serves http://127.0.0.1:PORT/wp-json/wc/v3/...
        store.customer(id=80, email="ada@example.com")
        store.plan(id=55, name="Gold", access_product_ids=[84])
        hook = store.webhook("subscription.updated", receiver_url, "s3cret")   # POSTs the creation ping now
        store.subscription(id=1300, customer=80, status="active", product_id=84)
        store.subscription(1300, status="on-hold")      # queues one delivery per (webhook, resource)
        store.subscription(1300, status="active")       # merged into the one already queued
        store.send_pending()                            # [200]: one POST, carrying "active" (built when sent)

Where the behaviour comes from: the documented JSON examples in ../shared/protocols/ (every object here has their
keys, in their order, and their quirks), ../shared/DOMAIN.md, and WooCommerce's own code: class-wc-webhook.php
(deliver, build_payload, deliver_ping, failed_delivery), wc-webhook-functions.php (the queue that merges) and
class-wc-rest-authentication.php. A few details no document shows are inferred and marked "inferred" below.

REST (wc/v3, GET only; anything else is 404 rest_no_route, as for an unregistered method)
- customers, orders, orders/<id>/refunds, products, subscriptions (and subscriptions/statuses) when
  `subscriptions=True`, memberships/members and memberships/plans when `memberships=True`; each list and each
  object by id. A missing object is WooCommerce's 404 (`woocommerce_rest_shop_order_invalid_id`,
  `woocommerce_rest_invalid_id` for customers; for memberships the code is inferred from WC_REST_Posts_Controller).
- Authentication as class-wc-rest-authentication.php does it over HTTPS (the store pretends it is served over
  HTTPS; `https=False` makes it ignore keys as a plain-http store does, since it does not do OAuth 1.0a):
  `consumer_key`/`consumer_secret` query parameters first, else HTTP Basic. A known key with a wrong secret is
  401 `woocommerce_rest_authentication_error` "Consumer secret is invalid." (with WWW-Authenticate); an unknown
  key, or none, leaves the request anonymous, so the route answers 401 `woocommerce_rest_cannot_view`; a key
  without read permission is 401 "The API key provided does not have read permissions.".
- Lists: `page`, `per_page` (default 10, 1..100 else 400 `rest_invalid_param`), `offset`, `include`, `exclude`,
  `order`, `orderby` (date, id, include, modified, title/name, registered_date), headers X-WP-Total,
  X-WP-TotalPages and Link. Default order as WooCommerce's: newest first (customers: by name), so a list moves
  under a paging reader while the store changes. Filters: orders and subscriptions `status` (default any: not
  trash), `customer`, `parent`, `after`/`before`, `modified_after`/`modified_before`; customers `email`, `role`
  (default customer); products `type`, `parent`, `status`; memberships/members `customer` (id, email or login),
  `order`, `plan` (id, slug, or several as plan[]= or comma list), `product`, `status`, `subscription`.
- Dates `YYYY-MM-DDTHH:MM:SS` without offset, local ones shifted by the site's `utc_offset_hours`; unset
  subscription schedule dates are "", unset order, membership and plan dates null; `billing_interval` and
  `number` are strings; money values strings; line-item `price` a number; ids integers. Post ids (orders,
  subscriptions, products, plans, memberships, refunds) share one sequence, customers (users) another.
- Failure injection: `fail_next(n, status=503)`, `drop_next(n)` (the connection closes without an answer),
  `slow(seconds)` (for timeouts). Every request is recorded in `requests` (without the credentials).

Webhooks, as WooCommerce delivers them
- `webhook(topic, delivery_url, secret, api_version="v3")` registers one and POSTs the creation ping at once:
  body `webhook_id=N`, form content type, none of the X-WC- headers; only a 200 counts as a good ping (a failed
  ping is recorded, the webhook stays active, as in WooCommerce).
- A change queues, for each active webhook of that topic, one job per (webhook, resource id): while one is still
  queued (not yet started), a second change is merged into it. The payload is built when the job is sent, so it
  carries the state at sending time. `*.deleted` carries only {"id": N}. A resource gone by sending time gives
  WooCommerce's REST error object as the payload (orders, customers, products) or `[]` (subscriptions,
  memberships, plans: their payload filters find nothing; inferred).
- A delivery POSTs `trim(wp_json_encode(payload))` (compact, slashes escaped as `\\/`, non-ASCII as \\uXXXX) with
  Content-Type application/json and X-WC-Webhook-Source, -Topic, -Resource, -Event, -Signature (base64 of the
  raw HMAC-SHA256 of the exact body), -ID and -Delivery-ID (wp_hash(id . time): a 32-hex hash, the same for a
  webhook's deliveries within one second of the store's clock). Redirects are not followed.
- Subscriptions for a webhook of API version v1 or v2 are sent in the v1 shape (no _gmt dates; there is no v2
  subscriptions API). Its schedule dates are UTC, its order dates site-local, as the v1 docs' table says. Other
  resources are always sent in the v3 shape here.
- 200-302 is a success and resets the failure count; any other answer or no answer is a failure. WooCommerce
  never retries a failed delivery. failed_delivery() counts a failure while the count is at most 5 and disables
  the webhook at the next one: the 7th consecutive failure disables it (`max_failures`, WooCommerce's filter
  `woocommerce_max_webhook_delivery_failures`). A disabled webhook queues nothing new, while jobs already queued
  are still sent (wc_deliver_webhook_async does not look at the status).
- Sending is explicit: `send_pending()` / `flush(order="queue"|"reverse"|"shuffle", seed=...)` returns each
  attempt's status (0 when nothing answered). `hold(d)` keeps a queued job back (it still absorbs changes) until
  `release(d)`; `prepare(d)` builds a job's payload now (a runner that started it) so a later change queues a
  new job and the stale one can arrive late; `send(d)`; `redeliver(d)` posts the same bytes again (a
  duplicate). `double_membership_updates=True`: a user membership's status change queues two
  user_membership.updated jobs (Memberships de-duplicates a save and a status change separately).
- With `follow_subscriptions=True` a subscription's status carries to the user memberships linked to it as
  DOMAIN.md "How a membership follows its subscription" says (subscription-tied plans; installment plans are not
  distinguished), each a user_membership.updated of its own.

Changing the store: customer(), product(), plan(), order(), subscription(), user_membership() create an object
(unknown or no id) or update it (known id), keeping what is not given and firing *.created / *.updated; each
returns the object as the REST API shows it. refund() (order.updated; a full refund makes the order refunded),
renew() (a renewal as Subscriptions runs it: renewal order, on-hold, paid, active again), delete() (the trash,
or permanently: an order removed without the trash fires nothing, as order.deleted only hooks the trash),
restore(), emit() (any topic by hand). Every change is stamped with the store's clock (`now`, `set_time`,
`advance`), which then moves on by `tick` (1 s by default, so modification dates increase; tick=timedelta(0)
gives same-second changes). Inferred, not documented: a renewal order's created_via "subscription" and
_subscription_renewal meta, a transfer also firing user_membership.updated, subscription.deleted on permanent
deletion too. Deliveries go over real HTTP, or in-process with `delivery_transport=httpx.WSGITransport(app=...)`.
RecordingReceiver is a loopback endpoint that records what it is sent.

Not reproduced: OAuth 1.0a over plain http, writes over REST, the Legacy API, webhook topics beyond the six
resources above, v1/v2 shapes of resources other than subscriptions.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import random
import re
import socket
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

WC_VERSION = "9.9.5"
WP_VERSION = "6.8.2"
HOOKSHOT_USER_AGENT = f"WooCommerce/{WC_VERSION} Hookshot (WordPress/{WP_VERSION})"

# REST route -> webhook resource, and each resource's topics' events.
ROUTES = {
    "customers": "customer",
    "orders": "order",
    "products": "product",
    "subscriptions": "subscription",
    "memberships/members": "user_membership",
    "memberships/plans": "membership_plan",
}
EVENTS = {
    "customer": ("created", "updated", "deleted"),
    "order": ("created", "updated", "deleted", "restored"),
    "product": ("created", "updated", "deleted", "restored"),
    "subscription": ("created", "updated", "deleted", "switched"),
    "user_membership": ("created", "updated", "transferred", "deleted"),
    "membership_plan": ("created", "updated", "deleted", "restored"),
}
SUBSCRIPTION_STATUSES = {
    "wc-pending": "Pending",
    "wc-active": "Active",
    "wc-on-hold": "On hold",
    "wc-cancelled": "Cancelled",
    "wc-switched": "Switched",
    "wc-expired": "Expired",
    "wc-pending-cancel": "Pending Cancellation",
}
ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash")
MEMBERSHIP_STATUSES = ("active", "complimentary", "free_trial", "pending", "paused", "delayed", "expired", "cancelled")
PAID_ORDER_STATUSES = ("processing", "completed")


class _NotGiven:
    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Any = _NotGiven()


# -- encoding and time -----------------------------------------------------------------------------------------


def wp_json(value: Any) -> bytes:
    """wp_json_encode() with WordPress's default flags: compact, `/` escaped as `\\/`, non-ASCII as \\uXXXX."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
    return text.replace("/", "\\/").encode("ascii")


def signature(body: bytes, secret: str) -> str:
    """X-WC-Webhook-Signature: base64 of the raw HMAC-SHA256 of the exact body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode("ascii")


def _utc(value: Any) -> datetime | None:
    """A moment given to a helper: an aware or naive (UTC) datetime, a date (00:00 UTC), an ISO string, or None/""."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace(" ", "T"))
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise TypeError(f"not a moment: {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0)


def _wc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _add_period(moment: datetime, period: str, interval: int) -> datetime:
    if period == "day":
        return moment + timedelta(days=interval)
    if period == "week":
        return moment + timedelta(weeks=interval)
    months = interval * (12 if period == "year" else 1)
    month0 = moment.month - 1 + months
    year, month = moment.year + month0 // 12, month0 % 12 + 1
    days_in_month = [
        31,
        29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28,
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][month - 1]
    return moment.replace(year=year, month=month, day=min(moment.day, days_in_month))


def _money(amount: float) -> str:
    return f"{amount:.2f}"


def _number(amount: float) -> int | float:
    return int(amount) if float(amount).is_integer() else round(amount, 6)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "item"


# -- the store's records ---------------------------------------------------------------------------------------


@dataclass
class _Customer:
    id: int
    email: str
    first_name: str
    last_name: str
    username: str
    role: str
    created: datetime
    modified: datetime


@dataclass
class _Product:
    id: int
    name: str
    type: str
    status: str
    price: float
    parent_id: int
    created: datetime
    modified: datetime
    trashed_from: str = ""


@dataclass
class _Plan:
    id: int
    name: str
    slug: str
    status: str
    product_ids: list[int]
    access_length_type: str
    access_length: int | None
    has_subscription: bool
    subscription_access_length_type: str
    created: datetime
    modified: datetime
    trashed_from: str = ""


@dataclass
class _Item:
    id: int
    product_id: int
    variation_id: int
    quantity: int
    price: float
    name: str


@dataclass
class _Order:
    id: int
    parent_id: int
    status: str
    customer_id: int
    email: str
    items: list[_Item]
    created: datetime
    modified: datetime
    paid: datetime | None
    completed: datetime | None
    created_via: str
    order_key: str
    meta: list[tuple[int, str, str]]
    refund_ids: list[int] = field(default_factory=list)
    trashed_from: str = ""


@dataclass
class _Refund:
    id: int
    order_id: int
    created: datetime
    amount: float
    reason: str
    lines: list[tuple[_Item, int, float, int]]  # refunded item, quantity, amount, meta id


@dataclass
class _Subscription:
    id: int
    parent_id: int
    status: str
    customer_id: int
    items: list[_Item]
    billing_period: str
    billing_interval: int
    start: datetime | None
    trial_end: datetime | None
    next_payment: datetime | None
    last_payment: datetime | None
    cancelled: datetime | None
    end: datetime | None
    created: datetime
    modified: datetime
    paid: datetime | None
    order_key: str
    meta: list[tuple[int, str, str]]
    trashed_from: str = ""


@dataclass
class _Membership:
    id: int
    customer_id: int
    plan_id: int
    status: str
    order_id: int | None
    product_id: int | None
    subscription_id: int | None
    created: datetime
    start: datetime | None
    end: datetime | None
    paused: datetime | None
    cancelled: datetime | None


# -- webhooks --------------------------------------------------------------------------------------------------


@dataclass(eq=False)
class Webhook:
    """One webhook as WooCommerce keeps it. `status` is active, paused or disabled (by failures: `disabled_at`)."""

    id: int
    name: str
    topic: str
    delivery_url: str
    secret: str = field(repr=False)
    api_version: str
    status: str = "active"
    failure_count: int = 0
    disabled_at: datetime | None = None
    ping_status: int | None = None
    ping_error: str | None = None

    @property
    def resource(self) -> str:
        return self.topic.split(".", 1)[0]

    @property
    def event(self) -> str:
        return self.topic.split(".", 1)[1]


@dataclass(eq=False)
class Attempt:
    """One POST of a delivery: what was sent, and the answer (`status` 0 when nothing answered)."""

    delivery: Delivery
    at: datetime
    body: bytes = field(repr=False)
    headers: dict[str, str] = field(repr=False)
    status: int
    error: str | None = None
    response_body: bytes = field(default=b"", repr=False)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 303


@dataclass(eq=False)
class Delivery:
    """A queued delivery job: (webhook, resource id). Its body is built when it is sent (or `prepare`d)."""

    id: int
    webhook: Webhook
    resource_id: int
    lane: str
    queued_at: datetime
    held: bool = False
    body: bytes | None = field(default=None, repr=False)
    headers: dict[str, str] | None = field(default=None, repr=False)
    built_at: datetime | None = None
    attempts: list[Attempt] = field(default_factory=list, repr=False)

    @property
    def topic(self) -> str:
        return self.webhook.topic

    @property
    def payload(self) -> Any:
        if self.body is None:
            raise ValueError("this delivery has not been built yet (send or prepare it)")
        return json.loads(self.body)

    @property
    def status(self) -> int | None:
        return self.attempts[-1].status if self.attempts else None


@dataclass(frozen=True)
class RequestRecord:
    """One REST request the store answered: route below wc/v3 (or the raw path), query without credentials."""

    method: str
    route: str
    params: dict[str, list[str]]
    auth: str | None  # "basic", "query" or None (anonymous)
    status: int | None  # None: the connection was dropped


# -- the store -------------------------------------------------------------------------------------------------


class FakeStore:
    """A WooCommerce store (with Subscriptions and Memberships unless turned off) served on loopback."""

    def __init__(
        self,
        *,
        consumer_key: str | None = None,
        consumer_secret: str | None = None,
        key_permissions: str = "read",
        https: bool = True,
        subscriptions: bool = True,
        memberships: bool = True,
        utc_offset_hours: float = 10.0,
        start: datetime | str | None = None,
        tick: timedelta = timedelta(seconds=1),
        double_membership_updates: bool = False,
        follow_subscriptions: bool = True,
        max_failures: int = 5,
        delivery_transport: httpx.BaseTransport | None = None,
        delivery_timeout: float = 60.0,
        host: str = "127.0.0.1",
    ):
        self.consumer_key = consumer_key or "ck_" + hashlib.sha1(random.randbytes(20)).hexdigest()
        self.consumer_secret = consumer_secret or "cs_" + hashlib.sha1(random.randbytes(20)).hexdigest()
        if key_permissions not in ("read", "write", "read_write"):
            raise ValueError("key_permissions is read, write or read_write")
        self.key_permissions = key_permissions
        self.https = https
        self.subscriptions_active = subscriptions
        self.memberships_active = memberships
        self.utc_offset = timedelta(hours=utc_offset_hours)
        self.tick = tick
        self.double_membership_updates = double_membership_updates
        self.follow_subscriptions = follow_subscriptions
        self.max_failures = max_failures
        self.delivery_timeout = delivery_timeout
        self._delivery_transport = delivery_transport
        self._host = host
        self._now = _utc(start) if start is not None else datetime.now(UTC).replace(microsecond=0)
        self._salt = hashlib.sha1(random.randbytes(16)).hexdigest()

        self._lock = threading.RLock()
        self._customers: dict[int, _Customer] = {}
        self._products: dict[int, _Product] = {}
        self._plans: dict[int, _Plan] = {}
        self._orders: dict[int, _Order] = {}
        self._refunds: dict[int, _Refund] = {}
        self._subscriptions: dict[int, _Subscription] = {}
        self._memberships: dict[int, _Membership] = {}
        self._post_ids: set[int] = set()
        self._user_ids: set[int] = set()
        self._next = {"post": 100, "user": 10, "item": 1, "meta": 1000, "webhook": 1, "delivery": 1}

        self._paying: set[int] = set()  # customers with a paid order (is_paying_customer)

        self.webhooks: list[Webhook] = []
        self._queue: dict[int, Delivery] = {}  # by delivery id, oldest first
        self._waiting: dict[tuple[int, int, str], Delivery] = {}  # (webhook, resource id, lane) -> unbuilt job
        self.attempts: list[Attempt] = []
        self.merged = 0  # changes absorbed by a job already queued

        self.requests: list[RequestRecord] = []
        self._injections: deque[tuple] = deque()
        self._slow_seconds = 0.0
        self._slow_times: int | None = None
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._http: httpx.Client | None = None

    # -- serving -----------------------------------------------------------------------------------------------

    def start(self) -> FakeStore:
        if self._server is not None:
            return self
        store = self

        class Handler(_Handler):
            pass

        Handler.store = store
        self._stopping.clear()
        self._server = ThreadingHTTPServer((self._host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-woocommerce", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None
        if self._http is not None:
            self._http.close()
            self._http = None

    def __enter__(self) -> FakeStore:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The site's address (what a connection is given), e.g. http://127.0.0.1:40123."""
        if self._server is None:
            raise RuntimeError("the store is not started")
        return f"http://{self._host}:{self._server.server_address[1]}"

    @property
    def api_url(self) -> str:
        return self.url + "/wp-json/wc/v3/"

    @property
    def source_url(self) -> str:
        """X-WC-Webhook-Source: home_url('/')."""
        return self.url + "/"

    def _link_base(self) -> str:
        return self.url if self._server is not None else "https://example.com"

    # -- the clock ---------------------------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        """The store's clock (UTC). Each change is stamped with it, then it moves on by `tick`."""
        return self._now

    def set_time(self, moment: datetime | str) -> None:
        self._now = _utc(moment)

    def advance(self, **delta: float) -> datetime:
        """store.advance(days=3): move the store's clock on."""
        self._now += timedelta(**delta)
        return self._now

    # -- failure injection on the REST side --------------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 503, *, retry_after: int | None = None) -> None:
        """The next n REST requests answer `status` with what a real server sends for it (503: WordPress's
        maintenance page with Retry-After 600; 500: WordPress's critical error; 401: WooCommerce's auth error)."""
        with self._lock:
            self._injections.extend([("fail", status, retry_after)] * n)

    def drop_next(self, n: int = 1) -> None:
        """The next n REST requests get no answer: the connection is closed."""
        with self._lock:
            self._injections.extend([("drop",)] * n)

    def slow(self, seconds: float, *, times: int | None = None) -> None:
        """Every REST request (or the next `times`) waits `seconds` before answering; slow(0) ends it."""
        with self._lock:
            self._slow_seconds = seconds
            self._slow_times = times

    # -- ids ---------------------------------------------------------------------------------------------------

    def _new_id(self, space: str, wanted: int | None) -> int:
        used = self._post_ids if space == "post" else self._user_ids
        if wanted is None:
            wanted = self._next[space]
            while wanted in used:
                wanted += 1
        elif isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 1:
            raise ValueError(f"an id is a positive integer (got {wanted!r})")
        elif wanted in used:
            raise ValueError(f"id {wanted} is already used by another {'post' if space == 'post' else 'user'}")
        used.add(wanted)
        self._next[space] = max(self._next[space], wanted + 1)
        return wanted

    def _seq(self, name: str) -> int:
        value = self._next[name]
        self._next[name] += 1
        return value

    def _order_key(self, id: int) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        rng = random.Random(f"{self._salt}{id}")
        return "wc_order_" + "".join(rng.choice(alphabet) for _ in range(13))

    def _items(self, line_items, product_id, variation_id, quantity, price) -> list[_Item]:
        if line_items is not NOT_GIVEN:
            specs = [dict(spec) for spec in line_items]
        elif product_id is not NOT_GIVEN:
            specs = [{"product_id": product_id}]
            if variation_id is not NOT_GIVEN:
                specs[0]["variation_id"] = variation_id
            if quantity is not NOT_GIVEN:
                specs[0]["quantity"] = quantity
            if price is not NOT_GIVEN:
                specs[0]["price"] = price
        else:
            return []
        items = []
        for spec in specs:
            product = self._products.get(spec.get("variation_id") or spec["product_id"])
            default_price = product.price if product else 10.0
            items.append(
                _Item(
                    id=self._seq("item"),
                    product_id=int(spec["product_id"]),
                    variation_id=int(spec.get("variation_id", 0)),
                    quantity=int(spec.get("quantity", 1)),
                    price=float(spec.get("price", default_price)),
                    name=spec.get("name") or (product.name if product else f"Product {spec['product_id']}"),
                )
            )
        return items

    # -- changing the store: each helper creates (id unknown) or updates (id known), then fires the topics -----

    def customer(
        self,
        id: int | None = None,
        *,
        email=NOT_GIVEN,
        first_name=NOT_GIVEN,
        last_name=NOT_GIVEN,
        username=NOT_GIVEN,
        role=NOT_GIVEN,
    ) -> dict:
        """Create or update a customer (a WordPress user). customer.created / customer.updated."""
        with self._lock:
            record = self._customers.get(id) if id is not None else None
            creating = record is None
            if creating:
                id = self._new_id("user", id)
                mail = email if email is not NOT_GIVEN else f"customer{id}@example.com"
                record = _Customer(id, mail, "Customer", str(id), mail.split("@")[0], "customer", self._now, self._now)
                self._customers[id] = record
            for name, value in (
                ("email", email),
                ("first_name", first_name),
                ("last_name", last_name),
                ("username", username),
                ("role", role),
            ):
                if value is not NOT_GIVEN:
                    setattr(record, name, value)
            record.modified = self._now
            self._changed("customer", id, "created" if creating else "updated")
            return self._render_customer(record)

    def product(
        self,
        id: int | None = None,
        *,
        name=NOT_GIVEN,
        type=NOT_GIVEN,
        status=NOT_GIVEN,
        price=NOT_GIVEN,
        parent_id=NOT_GIVEN,
    ) -> dict:
        """Create or update a product; type simple, subscription, variable, variable-subscription, variation or
        subscription_variation (a variation names its parent_id). product.created / product.updated."""
        with self._lock:
            record = self._products.get(id) if id is not None else None
            creating = record is None
            if creating:
                id = self._new_id("post", id)
                record = _Product(id, f"Product {id}", "simple", "publish", 10.0, 0, self._now, self._now)
                self._products[id] = record
            for attr, value in (("name", name), ("type", type), ("status", status), ("parent_id", parent_id)):
                if value is not NOT_GIVEN:
                    setattr(record, attr, value)
            if price is not NOT_GIVEN:
                record.price = float(price)
            record.modified = self._now
            self._changed("product", id, "created" if creating else "updated")
            return self._render_product(record)

    def plan(
        self,
        id: int | None = None,
        *,
        name=NOT_GIVEN,
        slug=NOT_GIVEN,
        status=NOT_GIVEN,
        access_product_ids=NOT_GIVEN,
        access_length_type=NOT_GIVEN,
        access_length=NOT_GIVEN,
        has_subscription=NOT_GIVEN,
        subscription_access_length_type=NOT_GIVEN,
    ) -> dict:
        """Create or update a membership plan. `access_length` is in seconds, as the REST example shows
        (1209600 = 14 days with access_length_type "specific"). membership_plan.created / .updated."""
        with self._lock:
            record = self._plans.get(id) if id is not None else None
            creating = record is None
            if creating:
                id = self._new_id("post", id)
                title = name if name is not NOT_GIVEN else f"Plan {id}"
                record = _Plan(
                    id,
                    title,
                    _slug(title),
                    "publish",
                    [],
                    "unlimited",
                    None,
                    False,
                    "subscription",
                    self._now,
                    self._now,
                )
                self._plans[id] = record
            for attr, value in (
                ("name", name),
                ("slug", slug),
                ("status", status),
                ("access_length_type", access_length_type),
                ("access_length", access_length),
                ("has_subscription", has_subscription),
                ("subscription_access_length_type", subscription_access_length_type),
            ):
                if value is not NOT_GIVEN:
                    setattr(record, attr, value)
            if access_product_ids is not NOT_GIVEN:
                record.product_ids = [int(p) for p in access_product_ids]
            record.modified = self._now
            self._changed("membership_plan", id, "created" if creating else "updated")
            return self._render_plan(record)

    def order(
        self,
        id: int | None = None,
        *,
        customer=NOT_GIVEN,
        status=NOT_GIVEN,
        product_id=NOT_GIVEN,
        variation_id=NOT_GIVEN,
        quantity=NOT_GIVEN,
        price=NOT_GIVEN,
        line_items=NOT_GIVEN,
        parent_id=NOT_GIVEN,
        created_via=NOT_GIVEN,
        email=NOT_GIVEN,
        paid=NOT_GIVEN,
        completed=NOT_GIVEN,
        renewal_of=NOT_GIVEN,
        created=NOT_GIVEN,
    ) -> dict:
        """Create or update an order. One line from product_id (+ variation_id, quantity, price) or several from
        line_items=[{"product_id", "variation_id", "quantity", "price", "name"}]. customer=0 is a guest (give
        email). Entering processing/completed sets date_paid, completed sets date_completed (unless given).
        renewal_of=<subscription id> makes a renewal order as Subscriptions does (created_via "subscription",
        meta _subscription_renewal; inferred from Subscriptions' code). order.created / order.updated."""
        with self._lock:
            record = self._orders.get(id) if id is not None else None
            creating = record is None
            if creating:
                items = self._items(line_items, product_id, variation_id, quantity, price)
                if not items:
                    raise ValueError("a new order needs product_id or line_items")
                id = self._new_id("post", id)
                record = _Order(
                    id,
                    0,
                    "pending",
                    0,
                    "",
                    items,
                    self._now if created is NOT_GIVEN else _utc(created),
                    self._now,
                    None,
                    None,
                    "checkout",
                    self._order_key(id),
                    [],
                )
                self._orders[id] = record
            else:
                new_items = self._items(line_items, product_id, variation_id, quantity, price)
                if new_items:
                    record.items = new_items
            previous = record.status if not creating else None
            if customer is not NOT_GIVEN:
                record.customer_id = int(customer)
            if email is not NOT_GIVEN:
                record.email = email
            if parent_id is not NOT_GIVEN:
                record.parent_id = int(parent_id)
            if created_via is not NOT_GIVEN:
                record.created_via = created_via
            if renewal_of is not NOT_GIVEN:
                record.created_via = "subscription" if created_via is NOT_GIVEN else created_via
                record.meta = [m for m in record.meta if m[1] != "_subscription_renewal"]
                record.meta.append((self._seq("meta"), "_subscription_renewal", str(renewal_of)))
            if status is not NOT_GIVEN:
                if status not in ORDER_STATUSES:
                    raise ValueError(f"unknown order status {status!r}")
                record.status = status
            elif creating:
                record.status = "processing"
            if record.status != previous:
                if record.status in PAID_ORDER_STATUSES and record.paid is None:
                    record.paid = self._now
                if record.status == "completed" and record.completed is None:
                    record.completed = self._now
            if paid is not NOT_GIVEN:
                record.paid = _utc(paid)
            if completed is not NOT_GIVEN:
                record.completed = _utc(completed)
            if record.paid is not None and record.customer_id:
                self._paying.add(record.customer_id)
            record.modified = self._now
            self._changed("order", id, "created" if creating else "updated")
            return self._render_order(record)

    def refund(
        self,
        order_id: int,
        *,
        line_items: Iterable[int | tuple[int, int]] | None = None,
        amount: float | None = None,
        reason: str = "",
    ) -> dict:
        """Refund an order: whole lines (line item ids, or (id, quantity)) or an amount. A refund of everything
        makes the order `refunded`, as WooCommerce does. order.updated (its hook woocommerce_order_refunded)."""
        with self._lock:
            order = self._orders[order_id]
            by_id = {item.id: item for item in order.items}
            lines = []
            for spec in line_items or ():
                item_id, qty = spec if isinstance(spec, tuple) else (spec, None)
                item = by_id[item_id]
                qty = item.quantity if qty is None else qty
                lines.append((item, qty, round(item.price * qty, 2), self._seq("meta")))
            total = round(sum(line[2] for line in lines), 2) if amount is None else float(amount)
            refund = _Refund(self._new_id("post", None), order_id, self._now, total, reason, lines)
            self._refunds[refund.id] = refund
            order.refund_ids.insert(0, refund.id)
            refunded = sum(self._refunds[r].amount for r in order.refund_ids)
            if refunded >= self._order_total(order) - 0.001:
                order.status = "refunded"
            order.modified = self._now
            self._changed("order", order_id, "updated")
            return self._render_refund(refund)

    def subscription(
        self,
        id: int | None = None,
        *,
        customer=NOT_GIVEN,
        status=NOT_GIVEN,
        product_id=NOT_GIVEN,
        variation_id=NOT_GIVEN,
        quantity=NOT_GIVEN,
        price=NOT_GIVEN,
        line_items=NOT_GIVEN,
        billing_period=NOT_GIVEN,
        billing_interval=NOT_GIVEN,
        start=NOT_GIVEN,
        trial_end=NOT_GIVEN,
        next_payment=NOT_GIVEN,
        last_payment=NOT_GIVEN,
        end=NOT_GIVEN,
        cancelled=NOT_GIVEN,
        parent_id=NOT_GIVEN,
        switched: bool = False,
    ) -> dict:
        """Create or update a subscription. Dates: datetime, ISO string, or None to unset. Unless given, as
        Subscriptions does: a new active one starts now with next_payment one period on (or at the trial's end);
        pending-cancel sets cancelled and moves next_payment to end; cancelled, expired and switched end it now
        and clear next_payment. switched=True also fires subscription.switched. subscription.created / .updated;
        linked user memberships follow (follow_subscriptions)."""
        with self._lock:
            if not self.subscriptions_active:
                raise RuntimeError("this store runs without WooCommerce Subscriptions")
            record = self._subscriptions.get(id) if id is not None else None
            creating = record is None
            if creating:
                items = self._items(line_items, product_id, variation_id, quantity, price)
                if not items:
                    raise ValueError("a new subscription needs product_id or line_items")
                if customer is NOT_GIVEN:
                    raise ValueError("a new subscription needs a customer")
                id = self._new_id("post", id)
                record = _Subscription(
                    id,
                    0,
                    "pending",
                    int(customer),
                    items,
                    "month",
                    1,
                    self._now,
                    None,
                    None,
                    None,
                    None,
                    None,
                    self._now,
                    self._now,
                    None,
                    self._order_key(id),
                    [],
                )
                self._subscriptions[id] = record
            else:
                new_items = self._items(line_items, product_id, variation_id, quantity, price)
                if new_items:
                    record.items = new_items
            previous = None if creating else record.status
            for attr, value in (("billing_period", billing_period), ("parent_id", parent_id)):
                if value is not NOT_GIVEN:
                    setattr(record, attr, value)
            if customer is not NOT_GIVEN:
                record.customer_id = int(customer)
            if billing_interval is not NOT_GIVEN:
                record.billing_interval = int(billing_interval)
            for attr, value in (
                ("start", start),
                ("trial_end", trial_end),
                ("next_payment", next_payment),
                ("last_payment", last_payment),
                ("end", end),
                ("cancelled", cancelled),
            ):
                if value is not NOT_GIVEN:
                    setattr(record, attr, _utc(value))
            new_status = status if status is not NOT_GIVEN else ("active" if creating else record.status)
            if new_status not in [s[3:] for s in SUBSCRIPTION_STATUSES] + ["trash"]:
                raise ValueError(f"unknown subscription status {new_status!r}")
            record.status = new_status
            if new_status != previous:
                self._subscription_dates(
                    record,
                    creating,
                    previous=previous,
                    given={
                        "next_payment": next_payment,
                        "end": end,
                        "cancelled": cancelled,
                        "last_payment": last_payment,
                    },
                )
            record.modified = self._now
            events = ["created" if creating else "updated"] + (["switched"] if switched else [])
            self._changed("subscription", id, *events, tick=False)
            if self.follow_subscriptions and new_status != previous:
                self._memberships_follow(record)
            self._tick()
            return self._render_subscription(record)

    def _subscription_dates(self, record: _Subscription, creating: bool, given: dict, previous: str | None) -> None:
        now = self._now

        def free(name: str) -> bool:
            return given[name] is NOT_GIVEN

        if record.status == "active":
            if creating and free("next_payment") and record.start is not None:
                if record.trial_end is not None and record.trial_end > now:
                    record.next_payment = record.trial_end
                else:
                    record.next_payment = _add_period(record.start, record.billing_period, record.billing_interval)
            if creating and free("last_payment") and record.trial_end is None:
                record.last_payment = record.start
            if previous == "pending-cancel":  # reactivated: the end it was given goes, the payments resume
                if free("next_payment"):
                    record.next_payment = record.next_payment or record.end
                if free("end"):
                    record.end = None
                if free("cancelled"):
                    record.cancelled = None
            record.paid = record.paid or now
        elif record.status == "pending-cancel":
            if free("cancelled"):
                record.cancelled = record.cancelled or now
            if free("end"):
                record.end = record.next_payment or record.end or now
            if free("next_payment"):
                record.next_payment = None
        elif record.status in ("cancelled", "expired", "switched"):
            if record.status == "cancelled" and free("cancelled"):
                record.cancelled = record.cancelled or now
            if free("end") and (record.end is None or record.end > now):
                record.end = now
            if free("next_payment"):
                record.next_payment = None

    def _memberships_follow(self, sub: _Subscription) -> None:
        """DOMAIN.md, "How a membership follows its subscription" (subscription-tied plans)."""
        linked = [m for m in self._memberships.values() if m.subscription_id == sub.id]
        for membership in linked:
            status, unlink = membership.status, False
            if sub.status == "active":
                in_trial = sub.trial_end is not None and sub.trial_end > self._now
                status = "free_trial" if in_trial else "active"
            elif sub.status == "on-hold":
                status = "paused"
            elif sub.status == "pending-cancel":
                status = "pending"
            elif sub.status in ("cancelled", "switched", "trash"):
                status, unlink = "cancelled", True
            elif sub.status == "expired":
                status = "expired"
            changes: dict[str, Any] = {"status": status}
            if unlink:
                changes["subscription"] = None
            if sub.status == "pending-cancel":
                changes["end"] = sub.end
            if status != membership.status or unlink:
                self._update_membership(membership, changes)

    def user_membership(
        self,
        id: int | None = None,
        *,
        customer=NOT_GIVEN,
        plan=NOT_GIVEN,
        status=NOT_GIVEN,
        order=NOT_GIVEN,
        product=NOT_GIVEN,
        subscription=NOT_GIVEN,
        start=NOT_GIVEN,
        end=NOT_GIVEN,
        paused=NOT_GIVEN,
        cancelled=NOT_GIVEN,
    ) -> dict:
        """Create or update a user membership (REST statuses: active, complimentary, free_trial, pending (=
        pending cancellation), paused, delayed, expired, cancelled). Unless given: entering paused sets
        paused_date, leaving it clears it; entering cancelled sets cancelled_date; entering expired ends it now.
        user_membership.created / .updated (two with double_membership_updates when the status changes) and
        .transferred when the customer changes. It has no modification date, as the real object."""
        with self._lock:
            if not self.memberships_active:
                raise RuntimeError("this store runs without WooCommerce Memberships")
            record = self._memberships.get(id) if id is not None else None
            if record is None:
                if customer is NOT_GIVEN or plan is NOT_GIVEN:
                    raise ValueError("a new user membership needs a customer and a plan")
                id = self._new_id("post", id)
                record = _Membership(
                    id, int(customer), int(plan), "active", None, None, None, self._now, self._now, None, None, None
                )
                self._memberships[id] = record
                self._update_membership(
                    record,
                    {
                        "status": status,
                        "order": order,
                        "product": product,
                        "subscription": subscription,
                        "start": start,
                        "end": end,
                        "paused": paused,
                        "cancelled": cancelled,
                    },
                    creating=True,
                )
            else:
                self._update_membership(
                    record,
                    {
                        "customer": customer,
                        "plan": plan,
                        "status": status,
                        "order": order,
                        "product": product,
                        "subscription": subscription,
                        "start": start,
                        "end": end,
                        "paused": paused,
                        "cancelled": cancelled,
                    },
                )
            self._tick()
            return self._render_membership(record)

    def _update_membership(self, record: _Membership, changes: dict, *, creating: bool = False) -> None:
        given = {k: v for k, v in changes.items() if v is not NOT_GIVEN}
        previous_status, previous_customer = record.status, record.customer_id
        if "status" in given:
            if given["status"] not in MEMBERSHIP_STATUSES:
                raise ValueError(f"unknown membership status {given['status']!r} (REST statuses have no wcm- prefix)")
            record.status = given["status"]
        for name, attr in (
            ("customer", "customer_id"),
            ("plan", "plan_id"),
            ("order", "order_id"),
            ("product", "product_id"),
            ("subscription", "subscription_id"),
        ):
            if name in given:
                setattr(record, attr, None if given[name] is None else int(given[name]))
        for name in ("start", "end", "paused", "cancelled"):
            if name in given:
                setattr(record, name, _utc(given[name]))
        status_changed = record.status != previous_status
        if status_changed or creating:
            if record.status == "paused" and "paused" not in given:
                record.paused = record.paused or self._now
            if record.status != "paused" and "paused" not in given:
                record.paused = None
            if record.status == "cancelled" and "cancelled" not in given:
                record.cancelled = record.cancelled or self._now
            if record.status == "expired" and "end" not in given and (record.end is None or record.end > self._now):
                record.end = self._now
        if creating:
            self._emit("user_membership", record.id, "created")
            return
        lanes = ("save", "status") if status_changed and self.double_membership_updates else ("save",)
        self._emit("user_membership", record.id, "updated", lanes=lanes)
        if record.customer_id != previous_customer:
            self._emit("user_membership", record.id, "transferred")

    def renew(self, subscription_id: int, *, paid: bool = True) -> dict:
        """A renewal as Subscriptions runs it: a pending renewal order (order.created), the subscription on-hold
        while it is paid (its memberships paused: the flicker), then, when paid, the order processing and the
        subscription active with next_payment one period on; when not, the order failed and the subscription
        left on-hold. Returns the renewal order."""
        with self._lock:
            sub = self._subscriptions[subscription_id]
            items = [
                {
                    "product_id": i.product_id,
                    "variation_id": i.variation_id,
                    "quantity": i.quantity,
                    "price": i.price,
                    "name": i.name,
                }
                for i in sub.items
            ]
            order = self.order(customer=sub.customer_id, status="pending", line_items=items, renewal_of=subscription_id)
            self.subscription(subscription_id, status="on-hold")
            if not paid:
                return self.order(order["id"], status="failed")
            order = self.order(order["id"], status="processing")
            base = sub.next_payment or self._now
            self.subscription(
                subscription_id,
                status="active",
                last_payment=self._now,
                next_payment=_add_period(base, sub.billing_period, sub.billing_interval),
            )
            return order

    def delete(self, route: str, id: int, *, permanently: bool = False) -> None:
        """Delete as the store does. Orders, subscriptions, products and plans go to the trash (their *.deleted
        fires; GET still answers, status "trash"); permanently=True removes them (an order or product removed
        without passing through the trash fires nothing: order.deleted hooks only the trash). Customers and user
        memberships are removed at once ({id} payload)."""
        resource = ROUTES[route]
        with self._lock:
            table = self._table(route)
            record = table[id]
            if route in ("customers", "memberships/members"):
                del table[id]
                if route == "customers" and record.role != "customer":
                    self._tick()  # customer.deleted is only delivered for users with the customer role
                    return
                self._changed(resource, id, "deleted")
                return
            was_trashed = record.status == "trash"
            if permanently:
                del table[id]
                if route == "subscriptions" and not was_trashed:
                    self._changed(resource, id, "deleted")
                else:
                    self._tick()
                return
            if was_trashed:
                return
            record.trashed_from = record.status
            record.status = "trash"
            if hasattr(record, "modified"):
                record.modified = self._now
            self._changed(resource, id, "deleted", tick=False)
            if route == "subscriptions" and self.follow_subscriptions:
                self._memberships_follow(record)
            self._tick()

    def restore(self, route: str, id: int) -> dict:
        """Take an order, product, plan or subscription out of the trash (*.restored; subscriptions: updated)."""
        with self._lock:
            record = self._table(route)[id]
            if record.status != "trash":
                raise ValueError(f"{route} {id} is not in the trash")
            record.status, record.trashed_from = record.trashed_from or "pending", ""
            record.modified = self._now
            self._changed(ROUTES[route], id, "updated" if route == "subscriptions" else "restored")
            return self.get(route, id)

    def emit(self, resource: str, id: int, event: str) -> None:
        """Fire any topic by hand, e.g. emit("subscription", 1300, "switched")."""
        with self._lock:
            self._changed(resource, id, event)

    def _table(self, route: str) -> dict:
        return {
            "customers": self._customers,
            "orders": self._orders,
            "products": self._products,
            "subscriptions": self._subscriptions,
            "memberships/members": self._memberships,
            "memberships/plans": self._plans,
        }[route]

    def _tick(self) -> None:
        self._now += self.tick

    def _changed(self, resource: str, id: int, *events: str, tick: bool = True) -> None:
        for event in events:
            self._emit(resource, id, event)
        if tick:
            self._tick()

    # -- reading the store as its REST API would answer --------------------------------------------------------

    def get(self, route: str, id: int, *, api_version: str = "v3") -> dict:
        """An object as GET wc/v3/<route>/<id> answers it (KeyError when there is none)."""
        with self._lock:
            record = self._table(route)[id]
            if route == "subscriptions" and api_version in ("v1", "v2"):
                return self._render_subscription_v1(record)
            return self._render(route, record)

    def all(self, route: str) -> list[dict]:
        """Every object of a route (trash included), by id."""
        with self._lock:
            return [self._render(route, record) for _, record in sorted(self._table(route).items())]

    def _render(self, route: str, record) -> dict:
        return {
            "customers": self._render_customer,
            "orders": self._render_order,
            "products": self._render_product,
            "subscriptions": self._render_subscription,
            "memberships/members": self._render_membership,
            "memberships/plans": self._render_plan,
        }[route](record)

    def _local(self, moment: datetime | None) -> str | None:
        return None if moment is None else _wc(moment + self.utc_offset)

    @staticmethod
    def _gmt(moment: datetime | None) -> str | None:
        return None if moment is None else _wc(moment)

    @staticmethod
    def _gmt_or_empty(moment: datetime | None) -> str:
        return "" if moment is None else _wc(moment)

    def _links(self, path: str, id: int, **extra: str | list[str] | None) -> dict:
        base = self._link_base() + "/wp-json/wc/v3/"
        links = {"self": [{"href": f"{base}{path}/{id}"}], "collection": [{"href": f"{base}{path}"}]}
        for name, target in extra.items():
            if target:
                targets = target if isinstance(target, list) else [target]
                links[name] = [{"href": base + t} for t in targets]
        return links

    def _address(self, customer_id: int, email: str, *, billing: bool) -> dict:
        customer = self._customers.get(customer_id)
        first, last = (customer.first_name, customer.last_name) if customer else ("", "")
        address = {
            "first_name": first,
            "last_name": last,
            "company": "",
            "address_1": "1 Main Road" if customer else "",
            "address_2": "",
            "city": "Brisbane" if customer else "",
            "state": "QLD" if customer else "",
            "postcode": "4000" if customer else "",
            "country": "AU" if customer else "",
        }
        if billing:
            address["email"] = customer.email if customer else email
            address["phone"] = ""
        return address

    def _render_customer(self, c: _Customer) -> dict:
        return {
            "id": c.id,
            "date_created": self._local(c.created),
            "date_created_gmt": self._gmt(c.created),
            "date_modified": self._local(c.modified),
            "date_modified_gmt": self._gmt(c.modified),
            "email": c.email,
            "first_name": c.first_name,
            "last_name": c.last_name,
            "role": c.role,
            "username": c.username,
            "billing": self._address(c.id, c.email, billing=True),
            "shipping": self._address(c.id, c.email, billing=False),
            "is_paying_customer": c.id in self._paying,
            "avatar_url": "https://secure.gravatar.com/avatar/"
            + hashlib.md5(c.email.strip().lower().encode()).hexdigest()
            + "?s=96",
            "meta_data": [],
            "_links": self._links("customers", c.id),
        }

    def _render_product(self, p: _Product) -> dict:
        base = self._link_base()
        variations = sorted(v.id for v in self._products.values() if v.parent_id == p.id and "variation" in v.type)
        return {
            "id": p.id,
            "name": p.name,
            "slug": _slug(p.name),
            "permalink": f"{base}/product/{_slug(p.name)}/",
            "date_created": self._local(p.created),
            "date_created_gmt": self._gmt(p.created),
            "date_modified": self._local(p.modified),
            "date_modified_gmt": self._gmt(p.modified),
            "type": p.type,
            "status": p.status,
            "featured": False,
            "catalog_visibility": "visible",
            "description": "",
            "short_description": "",
            "sku": "",
            "price": _money(p.price),
            "regular_price": _money(p.price),
            "sale_price": "",
            "date_on_sale_from": None,
            "date_on_sale_from_gmt": None,
            "date_on_sale_to": None,
            "date_on_sale_to_gmt": None,
            "price_html": "",
            "on_sale": False,
            "purchasable": p.status == "publish",
            "total_sales": sum(
                i.quantity for o in self._orders.values() for i in o.items if p.id in (i.product_id, i.variation_id)
            ),
            "virtual": True,
            "downloadable": False,
            "downloads": [],
            "download_limit": -1,
            "download_expiry": -1,
            "external_url": "",
            "button_text": "",
            "tax_status": "taxable",
            "tax_class": "",
            "manage_stock": False,
            "stock_quantity": None,
            "stock_status": "instock",
            "backorders": "no",
            "backorders_allowed": False,
            "backordered": False,
            "sold_individually": False,
            "weight": "",
            "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_required": False,
            "shipping_taxable": True,
            "shipping_class": "",
            "shipping_class_id": 0,
            "reviews_allowed": True,
            "average_rating": "0.00",
            "rating_count": 0,
            "related_ids": [],
            "upsell_ids": [],
            "cross_sell_ids": [],
            "parent_id": p.parent_id,
            "purchase_note": "",
            "categories": [],
            "tags": [],
            "images": [],
            "attributes": [],
            "default_attributes": [],
            "variations": variations,
            "grouped_products": [],
            "menu_order": 0,
            "meta_data": [],
            "_links": self._links("products", p.id),
        }

    def _render_plan(self, p: _Plan) -> dict:
        return {
            "id": p.id,
            "name": p.name,
            "slug": p.slug,
            "status": p.status,
            "access_method": "purchase" if p.product_ids else "manual-only",
            "has_subscription": p.has_subscription,
            "has_subscription_installment": p.has_subscription and p.subscription_access_length_type != "subscription",
            "access_product_ids": list(p.product_ids),
            "access_length_type": p.access_length_type,
            "subscription_access_length_type": p.subscription_access_length_type,
            "access_length": p.access_length,
            "access_start_date": None,
            "access_start_date_gmt": None,
            "access_end_date": None,
            "access_end_date_gmt": None,
            "subscription_access_start_date": None,
            "subscription_access_start_date_gmt": None,
            "subscription_access_end_date": None,
            "subscription_access_end_date_gmt": None,
            "date_created": self._local(p.created),
            "date_created_gmt": self._gmt(p.created),
            "date_modified": self._local(p.modified),
            "date_modified_gmt": self._gmt(p.modified),
            "meta_data": [],
            "_links": self._links("memberships/plans", p.id, products=[f"products/{i}" for i in p.product_ids]),
        }

    def _line(self, item: _Item, *, subscription: bool) -> dict:
        total = _money(item.price * item.quantity)
        line = {
            "id": item.id,
            "name": item.name,
            "product_id": item.product_id,
            "variation_id": item.variation_id,
            "quantity": item.quantity,
            "tax_class": "",
            "subtotal": total,
            "subtotal_tax": "0.00",
            "total": total,
            "total_tax": "0.00",
            "taxes": [],
            "meta_data": [],
            "sku": "",
            "price": _number(item.price),
        }
        if subscription:
            line["parent_name"] = None
        return line

    @staticmethod
    def _order_total(order) -> float:
        return round(sum(item.price * item.quantity for item in order.items), 2)

    def _meta(self, meta: list[tuple[int, str, str]]) -> list[dict]:
        return [{"id": meta_id, "key": key, "value": value} for meta_id, key, value in meta]

    def _render_order(self, o: _Order) -> dict:
        total = _money(self._order_total(o))
        return {
            "id": o.id,
            "parent_id": o.parent_id,
            "number": str(o.id),
            "order_key": o.order_key,
            "created_via": o.created_via,
            "version": WC_VERSION,
            "status": o.status,
            "currency": "USD",
            "date_created": self._local(o.created),
            "date_created_gmt": self._gmt(o.created),
            "date_modified": self._local(o.modified),
            "date_modified_gmt": self._gmt(o.modified),
            "discount_total": "0.00",
            "discount_tax": "0.00",
            "shipping_total": "0.00",
            "shipping_tax": "0.00",
            "cart_tax": "0.00",
            "total": total,
            "total_tax": "0.00",
            "prices_include_tax": False,
            "customer_id": o.customer_id,
            "customer_ip_address": "",
            "customer_user_agent": "",
            "customer_note": "",
            "billing": self._address(o.customer_id, o.email, billing=True),
            "shipping": self._address(o.customer_id, o.email, billing=False),
            "payment_method": "bacs",
            "payment_method_title": "Direct Bank Transfer",
            "transaction_id": "",
            "date_paid": self._local(o.paid),
            "date_paid_gmt": self._gmt(o.paid),
            "date_completed": self._local(o.completed),
            "date_completed_gmt": self._gmt(o.completed),
            "cart_hash": "",
            "meta_data": self._meta(o.meta),
            "line_items": [self._line(item, subscription=False) for item in o.items],
            "tax_lines": [],
            "shipping_lines": [],
            "fee_lines": [],
            "coupon_lines": [],
            "refunds": [
                {"id": r, "reason": self._refunds[r].reason, "total": "-" + _money(self._refunds[r].amount)}
                for r in o.refund_ids
            ],
            "_links": self._links(
                "orders",
                o.id,
                customer=f"customers/{o.customer_id}" if o.customer_id else None,
                up=f"orders/{o.parent_id}" if o.parent_id else None,
            ),
        }

    def _render_refund(self, r: _Refund) -> dict:
        base = self._link_base() + "/wp-json/wc/v3/"
        return {
            "id": r.id,
            "date_created": self._local(r.created),
            "date_created_gmt": self._gmt(r.created),
            "amount": _money(r.amount),
            "reason": r.reason,
            "refunded_by": 1,
            "refunded_payment": False,
            "meta_data": [],
            "line_items": [
                {
                    "id": item.id + 100000,
                    "name": item.name,
                    "product_id": item.product_id,
                    "variation_id": item.variation_id,
                    "quantity": -qty,
                    "tax_class": "",
                    "subtotal": "-" + _money(amount),
                    "subtotal_tax": "0.00",
                    "total": "-" + _money(amount),
                    "total_tax": "0.00",
                    "taxes": [],
                    "meta_data": [{"id": meta_id, "key": "_refunded_item_id", "value": str(item.id)}],
                    "sku": "",
                    "price": -_number(item.price),
                }
                for item, qty, amount, meta_id in r.lines
            ],
            "_links": {
                "self": [{"href": f"{base}orders/{r.order_id}/refunds/{r.id}"}],
                "collection": [{"href": f"{base}orders/{r.order_id}/refunds"}],
                "up": [{"href": f"{base}orders/{r.order_id}"}],
            },
        }

    def _render_subscription(self, s: _Subscription) -> dict:
        total = _money(self._order_total(s))
        return {
            "id": s.id,
            "parent_id": s.parent_id,
            "status": s.status,
            "currency": "USD",
            "version": WC_VERSION,
            "prices_include_tax": False,
            "date_created": self._local(s.created),
            "date_modified": self._local(s.modified),
            "discount_total": "0.00",
            "discount_tax": "0.00",
            "shipping_total": "0.00",
            "shipping_tax": "0.00",
            "cart_tax": "0.00",
            "total": total,
            "total_tax": "0.00",
            "customer_id": s.customer_id,
            "order_key": s.order_key,
            "billing": self._address(s.customer_id, "", billing=True),
            "shipping": self._address(s.customer_id, "", billing=False),
            "payment_method": "stripe",
            "payment_method_title": "Credit Card (Stripe)",
            "customer_ip_address": "",
            "customer_user_agent": "",
            "created_via": "checkout",
            "customer_note": "",
            "date_completed": None,
            "date_paid": self._local(s.paid),
            "number": str(s.id),
            "meta_data": self._meta(s.meta),
            "line_items": [self._line(item, subscription=True) for item in s.items],
            "tax_lines": [],
            "shipping_lines": [],
            "fee_lines": [],
            "coupon_lines": [],
            "date_created_gmt": self._gmt(s.created),
            "date_modified_gmt": self._gmt(s.modified),
            "date_completed_gmt": None,
            "date_paid_gmt": self._gmt(s.paid),
            "billing_period": s.billing_period,
            "billing_interval": str(s.billing_interval),
            "start_date_gmt": self._gmt_or_empty(s.start),
            "trial_end_date_gmt": self._gmt_or_empty(s.trial_end),
            "next_payment_date_gmt": self._gmt_or_empty(s.next_payment),
            "last_payment_date_gmt": self._gmt_or_empty(s.last_payment),
            "cancelled_date_gmt": self._gmt_or_empty(s.cancelled),
            "end_date_gmt": self._gmt_or_empty(s.end),
            "resubscribed_from": "",
            "resubscribed_subscription": "",
            "removed_line_items": [],
            "_links": self._links(
                "subscriptions",
                s.id,
                customer=f"customers/{s.customer_id}" if s.customer_id else None,
                up=f"orders/{s.parent_id}" if s.parent_id else None,
            ),
        }

    def _render_subscription_v1(self, s: _Subscription) -> dict:
        """The v1 shape (a webhook of API version v1/v2): dates without _gmt; schedule dates in UTC, order dates
        site-local, unset ones "" (the v1 docs' table and example); line items with `meta` and a string price."""
        base = self._link_base() + "/wp-json/wc/v1/"
        total = _money(self._order_total(s))
        links = {
            "self": [{"href": f"{base}subscriptions/{s.id}"}],
            "collection": [{"href": f"{base}subscriptions"}],
        }
        if s.customer_id:
            links["customer"] = [{"href": f"{base}customers/{s.customer_id}"}]
        if s.parent_id:
            links["up"] = [{"href": f"{base}orders/{s.parent_id}"}]
        return {
            "id": s.id,
            "parent_id": s.parent_id,
            "status": s.status,
            "order_key": s.order_key,
            "currency": "USD",
            "version": WC_VERSION,
            "prices_include_tax": False,
            "date_created": self._local(s.created),
            "date_modified": self._local(s.modified),
            "customer_id": s.customer_id,
            "discount_total": "0.00",
            "discount_tax": "0.00",
            "shipping_total": "0.00",
            "shipping_tax": "0.00",
            "cart_tax": "0.00",
            "total": total,
            "total_tax": "0.00",
            "billing": self._address(s.customer_id, "", billing=True),
            "shipping": self._address(s.customer_id, "", billing=False),
            "payment_method": "stripe",
            "payment_method_title": "Credit Card (Stripe)",
            "transaction_id": "",
            "customer_ip_address": "",
            "customer_user_agent": "",
            "created_via": "checkout",
            "customer_note": "",
            "date_completed": "",
            "date_paid": self._local(s.paid) or "",
            "cart_hash": "",
            "line_items": [
                {
                    "id": item.id,
                    "name": item.name,
                    "sku": "",
                    "product_id": item.product_id,
                    "variation_id": item.variation_id,
                    "quantity": item.quantity,
                    "tax_class": "",
                    "price": _money(item.price),
                    "subtotal": _money(item.price * item.quantity),
                    "subtotal_tax": "0.00",
                    "total": _money(item.price * item.quantity),
                    "total_tax": "0.00",
                    "taxes": [],
                    "meta": [],
                }
                for item in s.items
            ],
            "tax_lines": [],
            "shipping_lines": [],
            "fee_lines": [],
            "coupon_lines": [],
            "refunds": [],
            "billing_period": s.billing_period,
            "billing_interval": str(s.billing_interval),
            "start_date": self._gmt_or_empty(s.start),
            "trial_end_date": self._gmt_or_empty(s.trial_end),
            "next_payment_date": self._gmt_or_empty(s.next_payment),
            "end_date": self._gmt_or_empty(s.end),
            "_links": links,
        }

    def _render_membership(self, m: _Membership) -> dict:
        return {
            "id": m.id,
            "customer_id": m.customer_id,
            "plan_id": m.plan_id,
            "status": m.status,
            "order_id": m.order_id,
            "product_id": m.product_id,
            "subscription_id": m.subscription_id,
            "date_created": self._local(m.created),
            "date_created_gmt": self._gmt(m.created),
            "start_date": self._local(m.start),
            "start_date_gmt": self._gmt(m.start),
            "end_date": self._local(m.end),
            "end_date_gmt": self._gmt(m.end),
            "paused_date": self._local(m.paused),
            "paused_date_gmt": self._gmt(m.paused),
            "cancelled_date": self._local(m.cancelled),
            "cancelled_date_gmt": self._gmt(m.cancelled),
            "view_url": f"{self._link_base()}/my-account/members-area/{m.plan_id}/my-membership-content/",
            "profile_fields": [],
            "meta_data": [],
            "_links": self._links("memberships/members", m.id, customer=f"customers/{m.customer_id}"),
        }

    # -- webhooks ----------------------------------------------------------------------------------------------

    def webhook(
        self,
        topic: str,
        delivery_url: str,
        secret: str,
        api_version: str = "v3",
        *,
        name: str | None = None,
        ping: bool = True,
    ) -> Webhook:
        """Register an active webhook and POST its creation ping (`webhook_id=N`, no X-WC- headers)."""
        resource, _, event = topic.partition(".")
        if event not in EVENTS.get(resource, ()):
            raise ValueError(f"unknown topic {topic!r}")
        if api_version not in ("v1", "v2", "v3"):
            raise ValueError("api_version is v1, v2 or v3")
        with self._lock:
            hook = Webhook(self._seq("webhook"), name or f"Webhook {topic}", topic, delivery_url, secret, api_version)
            self.webhooks.append(hook)
        if ping:
            self._ping(hook)
        return hook

    def set_webhook_status(self, hook: Webhook, status: str) -> None:
        """What the store's admin does: active (failure count reset), paused or disabled."""
        if status not in ("active", "paused", "disabled"):
            raise ValueError("status is active, paused or disabled")
        with self._lock:
            hook.status = status
            if status == "active":
                hook.failure_count = 0
                hook.disabled_at = None

    def _client(self) -> httpx.Client:
        if self._http is None:
            # TCP_NODELAY: httpx writes a POST's headers and body apart, and Nagle would hold the body ~40 ms.
            nodelay = [(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)]
            transport = self._delivery_transport or httpx.HTTPTransport(socket_options=nodelay)
            self._http = httpx.Client(transport=transport, timeout=self.delivery_timeout, follow_redirects=False)
        return self._http

    def _ping(self, hook: Webhook) -> None:
        headers = {"User-Agent": HOOKSHOT_USER_AGENT, "Content-Type": "application/x-www-form-urlencoded"}
        try:
            response = self._client().post(hook.delivery_url, content=f"webhook_id={hook.id}".encode(), headers=headers)
        except httpx.HTTPError as exc:
            hook.ping_status, hook.ping_error = 0, f"Error: Delivery URL cannot be reached: {exc}"
            return
        hook.ping_status = response.status_code
        if response.status_code != 200:
            hook.ping_error = f"Error: Delivery URL returned response code: {response.status_code}"

    def _emit(self, resource: str, id: int, event: str, *, lanes: tuple[str, ...] = ("save",)) -> None:
        """WC_Webhook::process() for every webhook of the topic, then wc_webhook_execute_queue()'s merge: a job
        is queued unless one for the same (webhook, resource) is still waiting."""
        for hook in self.webhooks:
            if hook.status != "active" or hook.resource != resource or hook.event != event:
                continue
            for lane in lanes:
                key = (hook.id, id, lane)
                if key in self._waiting:
                    self.merged += 1
                    continue
                delivery = Delivery(self._seq("delivery"), hook, id, lane, self._now)
                self._queue[delivery.id] = delivery
                self._waiting[key] = delivery

    @property
    def pending(self) -> list[Delivery]:
        """The queued jobs, oldest first (held ones included)."""
        with self._lock:
            return list(self._queue.values())

    def pending_for(self, topic: str | None = None, resource_id: int | None = None) -> list[Delivery]:
        return [
            d
            for d in self.pending
            if (topic is None or d.topic == topic) and (resource_id is None or d.resource_id == resource_id)
        ]

    def hold(self, delivery: Delivery) -> None:
        """Keep a queued job back (late delivery): send_pending() skips it; it still absorbs later changes."""
        delivery.held = True

    def release(self, delivery: Delivery) -> None:
        delivery.held = False

    def prepare(self, delivery: Delivery) -> Delivery:
        """Build the job's payload now, as a queue runner that has started it: later changes queue a new job,
        and this one, sent later, arrives with the older state."""
        with self._lock:
            self._build(delivery)
        return delivery

    def _payload(self, hook: Webhook, id: int) -> Any:
        """WC_Webhook::build_payload() at this moment."""
        if hook.event == "deleted":
            return {"id": id}
        route = {v: k for k, v in ROUTES.items()}[hook.resource]
        record = self._table(route).get(id)
        if record is None:
            if hook.resource in ("order", "customer", "product"):  # RestApiUtil::get_endpoint_data: the error
                code = {
                    "order": "woocommerce_rest_shop_order_invalid_id",
                    "customer": "woocommerce_rest_invalid_id",
                    "product": "woocommerce_rest_product_invalid_id",
                }[hook.resource]
                message = "Invalid resource ID." if hook.resource == "customer" else "Invalid ID."
                return {"code": code, "message": message, "data": {"status": 404}}
            return []
        if hook.resource == "subscription" and hook.api_version in ("v1", "v2"):
            return self._render_subscription_v1(record)
        return self._render(route, record)

    def _build(self, delivery: Delivery) -> None:
        if delivery.body is not None:
            return
        hook = delivery.webhook
        key = (hook.id, delivery.resource_id, delivery.lane)
        if self._waiting.get(key) is delivery:
            del self._waiting[key]
        body = wp_json(self._payload(hook, delivery.resource_id)).strip()
        delivery_id = hmac.new(self._salt.encode(), f"{hook.id}{int(self._now.timestamp())}".encode(), "md5")
        delivery.body = body
        delivery.built_at = self._now
        delivery.headers = {
            "Content-Type": "application/json",
            "X-WC-Webhook-Source": self.source_url if self._server is not None else "https://example.com/",
            "X-WC-Webhook-Topic": hook.topic,
            "X-WC-Webhook-Resource": hook.resource,
            "X-WC-Webhook-Event": hook.event,
            "X-WC-Webhook-Signature": signature(body, hook.secret),
            "X-WC-Webhook-ID": str(hook.id),
            "X-WC-Webhook-Delivery-ID": delivery_id.hexdigest(),
        }

    def send(self, delivery: Delivery) -> int:
        """Build (if not yet) and POST one job; returns the answer's status (0: no answer)."""
        with self._lock:
            self._build(delivery)
            self._queue.pop(delivery.id, None)
        return self._post(delivery)

    def send_pending(self, order: str = "queue", seed: int | None = None) -> list[int]:
        """Send every queued job that is not held: in queue order, "reverse" or "shuffle" (with `seed`). Each
        payload is built as it is sent. Returns each attempt's status (0 when nothing answered)."""
        with self._lock:
            batch = [d for d in self._queue.values() if not d.held]
        if order == "reverse":
            batch.reverse()
        elif order == "shuffle":
            random.Random(seed).shuffle(batch)
        elif order != "queue":
            raise ValueError("order is queue, reverse or shuffle")
        return [self.send(d) for d in batch]

    flush = send_pending

    def redeliver(self, delivery: Delivery) -> int:
        """POST the very same request again (same body, signature and Delivery-ID): a duplicate."""
        if delivery.body is None:
            raise ValueError("this delivery was never built: send it first")
        return self._post(delivery)

    def _post(self, delivery: Delivery) -> int:
        hook = delivery.webhook
        headers = {"User-Agent": HOOKSHOT_USER_AGENT, **delivery.headers}
        status, error, answer = 0, None, b""
        try:
            response = self._client().post(hook.delivery_url, content=delivery.body, headers=headers)
            status, answer = response.status_code, response.content[:2000]
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        with self._lock:
            attempt = Attempt(delivery, self._now, delivery.body, headers, status, error, answer)
            delivery.attempts.append(attempt)
            self.attempts.append(attempt)
            if attempt.ok:
                hook.failure_count = 0
            elif hook.failure_count > self.max_failures:  # WC_Webhook::failed_delivery()
                if hook.status != "disabled":
                    hook.status = "disabled"
                    hook.disabled_at = self._now
            else:
                hook.failure_count += 1
        return status

    # -- the REST server ---------------------------------------------------------------------------------------

    def _handle(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        if length:
            handler.rfile.read(length)
        split = urlsplit(handler.path)
        query = parse_qs(split.query, keep_blank_values=True)
        with self._lock:
            injection = self._injections.popleft() if self._injections else None
            delay = self._slow_seconds
            if self._slow_times is not None:
                self._slow_times -= 1
                if self._slow_times <= 0:
                    self._slow_seconds, self._slow_times = 0.0, None
        if delay:
            self._stopping.wait(delay)
        public_query = {k: v for k, v in query.items() if k not in ("consumer_key", "consumer_secret")}
        route = (
            split.path.removeprefix("/wp-json/wc/v3/").strip("/")
            if split.path.startswith("/wp-json/wc/v3")
            else split.path
        )
        auth_mode, auth_error = self._authenticate(handler.headers.get("Authorization", ""), query)
        if injection and injection[0] == "drop":
            self._record(handler.command, route, public_query, auth_mode, None)
            handler.close_connection = True
            return
        if injection:
            status, headers, body = self._injected(injection[1], injection[2])
        else:
            status, headers, body = self._answer(handler.command, split.path, query, auth_mode, auth_error)
        self._record(handler.command, route, public_query, auth_mode, status)
        try:
            handler.send_response(status)
            for name, value in headers:
                handler.send_header(name, value)
            handler.send_header("Content-Length", str(len(body)))
            handler.end_headers()
            if handler.command != "HEAD":
                handler.wfile.write(body)
            handler.wfile.flush()
        except OSError:  # the client gave up (a timeout test)
            handler.close_connection = True

    def _record(self, method, route, params, auth, status) -> None:
        with self._lock:
            self.requests.append(RequestRecord(method, route, params, auth, status))

    def _authenticate(self, authorization: str, query: dict) -> tuple[str | None, tuple | None]:
        """WC_REST_Authentication over HTTPS: query parameters first, then Basic. Returns (mode, error)."""
        if not self.https:
            return None, None
        key = secret = ""
        mode = None
        if query.get("consumer_key", [""])[0] and query.get("consumer_secret", [""])[0]:
            key, secret, mode = query["consumer_key"][0], query["consumer_secret"][0], "query"
        elif authorization.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                key = secret = ""
            mode = "basic"
        if not key or not secret or not hmac.compare_digest(key.encode(), self.consumer_key.encode()):
            return None, None  # unknown key: WooCommerce tries OAuth, finds nothing, the request stays anonymous
        if not hmac.compare_digest(secret.encode(), self.consumer_secret.encode()):
            return mode, (401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
        if self.key_permissions not in ("read", "read_write"):
            return mode, (
                401,
                "woocommerce_rest_authentication_error",
                "The API key provided does not have read permissions.",
            )
        return mode, None

    @staticmethod
    def _json_answer(status: int, value: Any, extra: Iterable[tuple[str, str]] = ()) -> tuple:
        headers = [("Content-Type", "application/json; charset=UTF-8"), *extra]
        return status, headers, wp_json(value)

    def _error(self, status: int, code: str, message: str, **data: Any) -> tuple:
        return self._json_answer(status, {"code": code, "message": message, "data": {"status": status, **data}})

    def _injected(self, status: int, retry_after: int | None) -> tuple:
        extra = [("Retry-After", str(retry_after))] if retry_after is not None else []
        if status == 503:
            extra = extra or [("Retry-After", "600")]
            page = b"<!DOCTYPE html><html><head><title>Maintenance</title></head><body><h1>Briefly unavailable for "
            page += b"scheduled maintenance. Check back in a minute.</h1></body></html>"
            return 503, [("Content-Type", "text/html; charset=utf-8"), *extra], page
        if status in (401, 403):
            code = "woocommerce_rest_authentication_error" if status == 401 else "woocommerce_rest_cannot_view"
            message = "Consumer secret is invalid." if status == 401 else "Sorry, you cannot list resources."
            return self._json_answer(status, {"code": code, "message": message, "data": {"status": status}}, extra)
        if status == 500:
            message = "<p>There has been a critical error on this website.</p>"
            body = {
                "code": "internal_server_error",
                "message": message,
                "data": {"status": 500},
                "additional_errors": [],
            }
            return self._json_answer(500, body, extra)
        if status >= 500 or status == 429:
            reason = {429: "Too Many Requests", 502: "Bad Gateway", 504: "Gateway Time-out"}.get(status, "Error")
            page = f"<html><head><title>{status} {reason}</title></head><body><h1>{reason}</h1></body></html>"
            return status, [("Content-Type", "text/html"), *extra], page.encode()
        return self._json_answer(
            status, {"code": "injected_failure", "message": "Injected by the test.", "data": {"status": status}}, extra
        )

    def _answer(self, method: str, path: str, query: dict, auth_mode, auth_error) -> tuple:
        if not path.startswith("/wp-json/"):
            return 404, [("Content-Type", "text/html; charset=UTF-8")], b"<html><body>Page not found</body></html>"
        if auth_error:
            status, code, message = auth_error
            realm = (
                "WooCommerce API. Use a consumer key in the username field and a consumer secret in the password field."
            )
            answer = self._error(status, code, message)
            return answer[0], [*answer[1], ("WWW-Authenticate", f'Basic realm="{realm}"')], answer[2]
        no_route = self._error(404, "rest_no_route", "No route was found matching the URL and request method.")
        if not path.startswith("/wp-json/wc/v3/") or method not in ("GET", "HEAD"):
            return no_route
        route = path[len("/wp-json/wc/v3/") :].strip("/")
        with self._lock:
            match = self._match(route)
            if match is None:
                return no_route
            kind, name, ids = match
            invalid = self._validate(query) if kind == "list" else None
            if invalid:
                return invalid
            if auth_mode is None:
                message = (
                    "Sorry, you cannot list resources." if kind == "list" else "Sorry, you cannot view this resource."
                )
                return self._error(401, "woocommerce_rest_cannot_view", message)
            if kind == "statuses":
                return self._json_answer(200, SUBSCRIPTION_STATUSES)
            if kind == "item":
                return self._item(name, ids)
            return self._list(name, ids, query)

    def _match(self, route: str) -> tuple[str, str, tuple[int, ...]] | None:
        routes = ["customers", "orders", "products"]
        if self.subscriptions_active:
            routes.append("subscriptions")
            if route == "subscriptions/statuses":
                return "statuses", "subscriptions", ()
        if self.memberships_active:
            routes += ["memberships/members", "memberships/plans"]
        if route in routes:
            return "list", route, ()
        refunds = re.fullmatch(r"orders/(\d+)/refunds(?:/(\d+))?", route)
        if refunds:
            order_id, refund_id = refunds.groups()
            if refund_id:
                return "item", "refunds", (int(order_id), int(refund_id))
            return "list", "refunds", (int(order_id),)
        head, _, tail = route.rpartition("/")
        if head in routes and tail.isdigit():
            return "item", head, (int(tail),)
        return None

    def _validate(self, query: dict) -> tuple | None:
        for name, low, high in (("page", 1, None), ("per_page", 1, 100), ("offset", 0, None)):
            if name not in query:
                continue
            value = query[name][-1]
            if not re.fullmatch(r"-?\d+", value):
                return self._error(
                    400,
                    "rest_invalid_param",
                    f"Invalid parameter(s): {name}",
                    params={name: f"{name} is not of type integer."},
                )
            number = int(value)
            if number < low or (high is not None and number > high):
                text = (
                    f"{name} must be between {low} (inclusive) and {high} (inclusive)"
                    if high is not None
                    else f"{name} must be greater than or equal to {low}"
                )
                return self._error(400, "rest_invalid_param", f"Invalid parameter(s): {name}", params={name: text})
        return None

    def _item(self, route: str, ids: tuple[int, ...]) -> tuple:
        if route == "refunds":
            order_id, refund_id = ids
            refund = self._refunds.get(refund_id)
            if refund is None or refund.order_id != order_id or order_id not in self._orders:
                return self._error(404, "woocommerce_rest_invalid_order_refund_id", "Invalid order refund ID.")
            return self._json_answer(200, self._render_refund(refund))
        record = self._table(route).get(ids[0])
        if record is None:
            code, message = {
                "customers": ("woocommerce_rest_invalid_id", "Invalid resource ID."),
                "orders": ("woocommerce_rest_shop_order_invalid_id", "Invalid ID."),
                "products": ("woocommerce_rest_product_invalid_id", "Invalid ID."),
                "subscriptions": ("woocommerce_rest_shop_subscription_invalid_id", "Invalid ID."),
                "memberships/members": ("woocommerce_rest_wc_user_membership_invalid_id", "Invalid ID."),
                "memberships/plans": ("woocommerce_rest_wc_membership_plan_invalid_id", "Invalid ID."),
            }[route]
            return self._error(404, code, message)
        return self._json_answer(200, self._render(route, record))

    def _list(self, route: str, ids: tuple[int, ...], query: dict) -> tuple:
        def values(name: str) -> list[str]:
            raw = query.get(name, []) + query.get(f"{name}[]", [])
            return [part for value in raw for part in value.split(",") if part != ""]

        def one(name: str) -> str | None:
            found = values(name)
            return found[-1] if found else None

        if route == "refunds":
            if ids[0] not in self._orders:
                return self._error(404, "woocommerce_rest_invalid_order_id", "Invalid order ID.")
            records = [self._refunds[r] for r in self._orders[ids[0]].refund_ids]
        else:
            records = list(self._table(route).values())
        tests = self._filters(route, values, one)
        records = [r for r in records if all(test(r) for test in tests)]

        include = {int(v) for v in values("include") if v.isdigit()}
        if include:
            records = [r for r in records if r.id in include]
        exclude = {int(v) for v in values("exclude") if v.isdigit()}
        records = [r for r in records if r.id not in exclude]

        default_orderby = "name" if route == "customers" else "date"
        orderby = one("orderby") or default_orderby
        descending = (one("order") or ("asc" if route == "customers" else "desc")).lower() == "desc"
        sort_key: Callable = {
            "date": lambda r: (r.created, r.id),
            "registered_date": lambda r: (r.created, r.id),
            "modified": lambda r: (getattr(r, "modified", r.created), r.id),
            "id": lambda r: r.id,
            "include": lambda r: r.id,
            "name": lambda r: (getattr(r, "username", getattr(r, "name", "")).lower(), r.id),
            "title": lambda r: (getattr(r, "name", "").lower(), r.id),
            "slug": lambda r: (getattr(r, "name", "").lower(), r.id),
        }.get(orderby, lambda r: (r.created, r.id))
        records.sort(key=sort_key, reverse=descending)

        total = len(records)
        per_page = int(one("per_page") or 10)
        page = int(one("page") or 1)
        offset = int(one("offset") or 0)
        start = offset + (page - 1) * per_page
        chosen = records[start : start + per_page]
        total_pages = math.ceil(total / per_page) if total else 0
        render = self._render_refund if route == "refunds" else (lambda r: self._render(route, r))
        base = f"{self._link_base()}/wp-json/wc/v3/" + (f"orders/{ids[0]}/refunds" if route == "refunds" else route)
        extra = [("X-WP-Total", str(total)), ("X-WP-TotalPages", str(total_pages))]
        links = []
        plain = {k: v[-1] for k, v in query.items() if k not in ("page", "consumer_key", "consumer_secret")}
        if page > 1:
            links.append(f'<{base}?{urlencode({**plain, "page": page - 1})}>; rel="prev"')
        if page < total_pages:
            links.append(f'<{base}?{urlencode({**plain, "page": page + 1})}>; rel="next"')
        if links:
            extra.append(("Link", ", ".join(links)))
        return self._json_answer(200, [render(r) for r in chosen], extra)

    def _filters(self, route: str, values: Callable, one: Callable) -> list[Callable[[Any], bool]]:
        """The route's query filters as tests on a record, read from the query once per request."""
        tests: list[Callable[[Any], bool]] = []

        def among(attr: str, wanted: list[str]) -> None:
            if wanted:
                allowed = set(wanted)
                tests.append(lambda r: str(getattr(r, attr)) in allowed)

        statuses = values("status")
        if route in ("orders", "subscriptions", "products", "memberships/plans"):
            if statuses and "any" not in statuses:
                allowed_status = {status.removeprefix("wc-") for status in statuses}
                tests.append(lambda r: r.status in allowed_status)
            else:
                tests.append(lambda r: r.status != "trash")
        if route in ("orders", "subscriptions"):
            among("customer_id", values("customer"))
            among("parent_id", values("parent"))
            for name, attr, later in (
                ("after", "created", True),
                ("before", "created", False),
                ("modified_after", "modified", True),
                ("modified_before", "modified", False),
            ):
                bound = one(name)
                if bound:
                    moment = _utc(bound)
                    if later:
                        tests.append(lambda r, a=attr, m=moment: getattr(r, a) > m)
                    else:
                        tests.append(lambda r, a=attr, m=moment: getattr(r, a) < m)
        if route == "customers":
            email = (one("email") or "").lower()
            if email:
                tests.append(lambda r: r.email.lower() == email)
            role = one("role") or "customer"
            if role != "all":
                tests.append(lambda r: r.role == role)
        if route == "products":
            among("type", values("type"))
            among("parent_id", values("parent"))
        if route == "memberships/members":
            if statuses and "any" not in statuses:
                allowed_membership = {status.removeprefix("wcm-") for status in statuses}
                tests.append(lambda r: r.status in allowed_membership)
            customer = one("customer")
            if customer is not None:
                owners = {
                    c.id
                    for c in self._customers.values()
                    if customer.lower() in (str(c.id), c.email.lower(), c.username.lower())
                }
                if customer.isdigit():
                    owners.add(int(customer))
                tests.append(lambda r: r.customer_id in owners)
            plans = values("plan")
            if plans:
                plan_ids = {p.id for p in self._plans.values() if p.slug in plans} | {
                    int(p) for p in plans if p.isdigit()
                }
                tests.append(lambda r: r.plan_id in plan_ids)
            for name, attr in (("order", "order_id"), ("product", "product_id"), ("subscription", "subscription_id")):
                wanted = one(name)
                if wanted is not None:
                    tests.append(lambda r, a=attr, w=wanted: str(getattr(r, a)) == w)
        return tests


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # headers and body leave in one write (flushed after each request): no Nagle stall
    store: FakeStore

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.store._handle(self)

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


# -- a receiver that records what it is sent, for the fixture's own tests and for any sender's -----------------


@dataclass(frozen=True)
class Received:
    """One request a RecordingReceiver got: its exact body and its headers (names as sent)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers.items() if k.lower() == lowered), None)

    def json(self) -> Any:
        return json.loads(self.body)


class RecordingReceiver:
    """A loopback endpoint that records every request and answers the next queued status (200 when none is
    queued; 0 closes the connection without answering)."""

    def __init__(self, host: str = "127.0.0.1"):
        self.received: list[Received] = []
        self._answers: deque[int] = deque()
        self._host = host
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def answer(self, *statuses: int) -> None:
        with self._lock:
            self._answers.extend(statuses)

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._server.server_address[1]}/webhooks/woocommerce/test"

    def start(self) -> RecordingReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.received.append(Received(self.command, self.path, dict(self.headers.items()), body))
                    status = receiver._answers.popleft() if receiver._answers else 200
                if status == 0:
                    self.close_connection = True
                    return
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_PUT = do_POST

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer((self._host, 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="recording-receiver", daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> RecordingReceiver:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()
