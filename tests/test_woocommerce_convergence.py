"""A store sending one history in order, or late, merged, doubled and out of order, ends in the same access.

Two customers of one store (the contract fixture, over real HTTP) live the same random subscription history.
The first's webhooks are delivered as they happen. The second's are what a busy store does: a job may be merged
with the next change (its payload is built when it is sent: an intermediate state is lost), or started at once
and then held back; at the end everything is sent in a random order, some of it twice. The last state always
arrives, since a merged job carries the state at sending time. Both are then read at the same moment.

What must agree is what the customer would notice: whether the subscription's plan gives her access, and the
subscription's status. (Which memberships exist may differ: a subscription first seen already cancelled makes
none, where the on-time delivery made one that was then cancelled; neither gives access.)
"""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membersync import clock
from membersync.catalog import services as catalog
from membersync.catalog.models import Plan
from membersync.connectors.woocommerce.connect import woocommerce_connect
from membersync.members.models import Membership, Subscription
from membersync.people.models import Identity
from membersync.sync.selectors import member_access_from
from membersync.sync.worker import worker_run_until
from tests.contract.django_transport import DjangoTestClientTransport
from tests.contract.woocommerce_store import FakeStore

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SECRET = "convergence-secret"
PRODUCT = 1027
TOPICS = ("subscription.created", "subscription.updated", "subscription.deleted")
# What may come next in a store (a cancelled subscription never comes back).
NEXT = {
    "active": ("active", "on-hold", "pending-cancel", "cancelled"),
    "on-hold": ("active", "cancelled"),
    "pending-cancel": ("active", "cancelled"),
    "cancelled": (),
}
ids = itertools.count(1)

steps = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=24 * 12),  # hours after the previous change
        st.integers(min_value=0, max_value=9),  # which next status: mostly one that goes on, now and then the end
        st.sampled_from(["merge", "start"]),  # the messy store: merge the job with the next change, or start it
    ),
    min_size=1,
    max_size=7,
)


@pytest.fixture(scope="module")
def store():
    with FakeStore(start=START, delivery_transport=DjangoTestClientTransport()) as fake:
        yield fake


@pytest.fixture
def shop(db, store, set_clock):
    set_clock(START)
    store.set_time(START)
    catalog.course_create(external_id="intro")
    catalog.plan_create(external_id="gold", length="subscription", grants=[{"course": "intro"}], on_hold_grace="1 day")
    Plan.objects.filter(external_id="gold").update(product_ids=[str(PRODUCT)])
    connection = woocommerce_connect(
        name="shop", url=store.url, consumer_key="ck", consumer_secret="cs", webhook_secret=SECRET, check=False
    ).connection
    store.webhooks.clear()
    for topic in TOPICS:
        store.webhook(topic, "http://testserver/webhooks/woocommerce/shop", SECRET, ping=False)
    return connection


def _at(store: FakeStore) -> datetime:
    clock.set_time(store.now)
    worker_run_until(store.now)
    return store.now


def _noticed(store: FakeStore, customer: int, subscription: int) -> tuple:
    member = Identity.objects.get(kind="customer", external_id=str(customer)).member
    granting = sorted(
        m.plan.external_id
        for m in Membership.objects.filter(member=member)
        if m.status in ("active", "free_trial", "pending_cancel", "complimentary")
    )
    status = Subscription.objects.get(external_id=f"shop/subscription/{subscription}").status
    return status, granting, member_access_from(member, "intro") is not None


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(history=steps, seed=st.integers(min_value=0, max_value=10_000))
def test_one_history_delivered_on_time_or_late_merged_doubled_and_shuffled_ends_in_the_same_access(
    store, shop, history, seed
):
    rng = random.Random(seed)
    on_time, busy = next(ids), next(ids)
    ann, bob = 100 + on_time, 100 + busy
    store.customer(ann, email=f"c{ann}@example.com")
    store.customer(bob, email=f"c{bob}@example.com")
    started: list = []  # the busy store's jobs started early and held back

    def change(**state) -> None:
        for customer, sub in ((ann, on_time), (bob, busy)):
            store.subscription(1000 + sub, customer=customer, product_id=PRODUCT, **state)

    def deliver_on_time() -> None:
        for job in store.pending_for(resource_id=1000 + on_time):
            store.send(job)
        _at(store)

    def busy_store(how: str) -> None:
        for job in store.pending_for(resource_id=1000 + busy):
            if how == "start" and job.body is None:
                store.prepare(job)
                store.hold(job)
                started.append(job)

    status = "active"
    change(status=status, start=store.now)
    deliver_on_time()
    busy_store("start")
    for hours, pick, how in history:
        if not NEXT[status]:
            break
        store.advance(hours=hours)
        _at(store)  # time passes for the on-time customer: prepaid ends, grace periods
        going_on = [s for s in NEXT[status] if s != "cancelled"]
        status = going_on[pick % len(going_on)] if pick < 8 and going_on else "cancelled"
        change(status=status)
        deliver_on_time()
        busy_store(how)

    # The busy store finally sends everything, in any order, some twice.
    store.advance(hours=1)
    clock.set_time(store.now)
    jobs = started + [job for job in store.pending_for(resource_id=1000 + busy) if job not in started]
    rng.shuffle(jobs)
    for job in jobs:
        store.send(job)
        if rng.random() < 0.3:
            store.redeliver(job)
    end = store.advance(days=3)
    clock.set_time(end)
    worker_run_until(end)

    assert _noticed(store, ann, 1000 + on_time) == _noticed(store, bob, 1000 + busy)
