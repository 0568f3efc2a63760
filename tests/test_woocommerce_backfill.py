"""Backfill and drift (issue 10): `membersync import woocommerce` reads a store's history page by page over real
HTTP (the contract store on loopback) and applies it through the webhook handlers, resumably and idempotently;
`membersync verify woocommerce` finds where MemberSync and the store differ and repairs it."""

from __future__ import annotations

import io
import os
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from membersync.catalog import services as catalog
from membersync.connectors.models import ImportProgress, StoreResource
from membersync.connectors.woocommerce.backfill import woocommerce_import
from membersync.connectors.woocommerce.connect import woocommerce_connect
from membersync.members.models import Membership, Order, Subscription
from membersync.people.models import Connection, Identity, Member
from membersync.sync.models import Enrollment, Event
from membersync.sync.worker import worker_tick

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def connect(store, name: str = "shop", *, memberships: bool = False) -> Connection:
    return woocommerce_connect(
        name=name,
        url=store.url,
        consumer_key=store.consumer_key,
        consumer_secret=store.consumer_secret,
        memberships=memberships,
        check=False,
    ).connection


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def courses_of(member: Member) -> set[str]:
    return set(
        Enrollment.objects.filter(member=member, status=Enrollment.ACTIVE, target_kind="course").values_list(
            "target_id", flat=True
        )
    )


def member_of(connection: Connection, customer_id: int) -> Member:
    return Identity.objects.get(connection=connection, kind="customer", external_id=str(customer_id)).member


def summary_row(out: str, label: str) -> list[str]:
    """The numbers of one resource's row of the import's summary (read, applied, duplicates, ...)."""
    line = next(line for line in out.splitlines() if line.startswith(f"  {label} "))
    return line.split()[len(label.split()) :]


def counts(report, resource: str) -> dict[str, int]:
    return report.summary(resource).counts()


@pytest.fixture
def small_store(db, set_clock, woocommerce_store_factory):
    """A store with Subscriptions and Memberships: two plans (a subscription's and a one-off product's), five
    customers, subscriptions active and cancelled, orders paid, refunded, and one refunded on one line only."""
    set_clock(NOW)
    store = woocommerce_store_factory(start=NOW - timedelta(days=20))
    catalog.course_create(external_id="intro")
    catalog.course_create(external_id="advanced")
    catalog.course_create(external_id="extra")
    monthly = store.product(name="Monthly", type="subscription", price=9)
    lifetime = store.product(name="Lifetime", type="simple", price=99)
    addon = store.product(name="Add-on", type="simple", price=5)
    store.product(name="Mug", type="simple", price=12)
    plan_monthly = store.plan(
        name="Monthly",
        access_product_ids=[monthly["id"]],
        has_subscription=True,
        subscription_access_length_type="subscription",
    )
    plan_lifetime = store.plan(name="Lifetime", access_product_ids=[lifetime["id"]])
    plan_addon = store.plan(name="Add-on", access_product_ids=[addon["id"]])
    # MemberSync's plans of the store's: the import gives them their products, their grants are MemberSync's own.
    catalog.plan_create(external_id=f"shop-{plan_monthly['id']}", length="subscription", grants=[{"course": "intro"}])
    catalog.plan_create(external_id=f"shop-{plan_lifetime['id']}", grants=[{"course": "advanced"}])
    catalog.plan_create(external_id=f"shop-{plan_addon['id']}", grants=[{"course": "extra"}])

    ada = store.customer(email="ada@example.com", first_name="Ada")
    bob = store.customer(email="bob@example.com", first_name="Bob")
    cy = store.customer(email="cy@example.com", first_name="Cy")
    dee = store.customer(email="dee@example.com", first_name="Dee")
    eve = store.customer(email="eve@example.com", first_name="Eve")
    parent = store.order(customer=ada["id"], status="completed", product_id=monthly["id"])
    sub_ada = store.subscription(customer=ada["id"], status="active", product_id=monthly["id"], parent_id=parent["id"])
    sub_bob = store.subscription(customer=bob["id"], status="active", product_id=monthly["id"])
    store.subscription(sub_bob["id"], status="cancelled")
    store.order(customer=cy["id"], status="completed", product_id=lifetime["id"])
    refunded = store.order(customer=dee["id"], status="completed", product_id=lifetime["id"])
    store.refund(refunded["id"], line_items=[refunded["line_items"][0]["id"]])
    both = store.order(
        customer=eve["id"],
        status="completed",
        line_items=[{"product_id": lifetime["id"]}, {"product_id": addon["id"]}],
    )
    store.refund(both["id"], line_items=[both["line_items"][1]["id"]])  # the add-on only
    store.order(customer=eve["id"], status="pending", product_id=addon["id"])
    return {
        "store": store,
        "connection": connect(store),
        "customers": {"ada": ada["id"], "bob": bob["id"], "cy": cy["id"], "dee": dee["id"], "eve": eve["id"]},
        "subscriptions": {"ada": sub_ada["id"], "bob": sub_bob["id"]},
        "plans": {"monthly": plan_monthly["id"], "lifetime": plan_lifetime["id"], "addon": plan_addon["id"]},
        "products": {"monthly": monthly["id"], "lifetime": lifetime["id"], "addon": addon["id"]},
    }


def test_a_small_store_is_imported_with_its_members_subscriptions_memberships_and_orders(small_store):
    connection, customers = small_store["connection"], small_store["customers"]
    out, err = run("import", "woocommerce", "shop")

    assert "Import of WooCommerce store 'shop' finished." in out
    assert "customers" in err and "100%" in err  # the progress bar, on stderr
    # Plans know their products; the subscription product is known as one (its order line grants nothing).
    plans = small_store["plans"]
    products = small_store["products"]
    assert (
        Subscription.objects.get(external_id=f"shop/subscription/{small_store['subscriptions']['ada']}").status
        == "active"
    )
    assert (
        Subscription.objects.get(external_id=f"shop/subscription/{small_store['subscriptions']['bob']}").status
        == "cancelled"
    )
    connection.refresh_from_db()
    assert str(products["monthly"]) in connection.settings["subscription_product_ids"]
    ada, bob, cy, dee, eve = (member_of(connection, customers[n]) for n in ("ada", "bob", "cy", "dee", "eve"))
    assert {m.plan.external_id for m in Membership.objects.filter(member=ada)} == {f"shop-{plans['monthly']}"}
    assert not Order.objects.filter(member=ada).exists()  # the subscription's parent order: its subscription grants
    assert Order.objects.get(member=cy).status == Order.COMPLETED
    assert not Order.objects.filter(member=dee).exists()  # refunded before the import: it never granted
    eve_orders = {o.plan.external_id: o.status for o in Order.objects.filter(member=eve)}
    assert eve_orders == {f"shop-{plans['lifetime']}": Order.COMPLETED}  # the refunded add-on line never granted
    worker_tick(now=NOW)
    assert courses_of(ada) == {"intro"}
    assert courses_of(bob) == set()
    assert courses_of(cy) == {"advanced"}
    assert courses_of(dee) == set()
    assert courses_of(eve) == {"advanced"}
    assert ada.email == "ada@example.com" and ada.name.startswith("Ada")
    assert not ImportProgress.objects.exists()  # finished: the next import is a whole new pass


def test_a_second_import_changes_nothing(small_store):
    run("import", "woocommerce", "shop", "--no-progress")
    events = Event.objects.count()
    out, err = run("import", "woocommerce", "shop", "--no-progress")

    assert err == ""
    assert "Nothing changed: MemberSync was already in step with the store." in out
    report = woocommerce_import(small_store["connection"])
    for summary in report.resources:
        assert summary.applied == 0 and summary.failed == 0, summary
    assert counts(report, "subscription") == {**counts(report, "subscription"), "read": 2, "duplicate": 2}
    assert counts(report, "customer")["duplicate"] == 5
    assert counts(report, "membership_plan")["duplicate"] == 3
    assert Event.objects.count() == events  # not even a no-op event


def test_a_dry_run_reads_everything_and_writes_nothing(small_store):
    connection = small_store["connection"]
    settings_before = dict(connection.settings)
    out, _ = run("import", "woocommerce", "shop", "--dry-run", "--no-progress")

    assert "finished (dry run: nothing was written)" in out and "would apply" in out
    assert "subscriptions" in out and "orders" in out
    assert not Subscription.objects.exists() and not Order.objects.exists() and not Membership.objects.exists()
    assert not Event.objects.exists() and not StoreResource.objects.exists() and not ImportProgress.objects.exists()
    assert not Identity.objects.exists() and not Member.objects.exists()
    connection.refresh_from_db()
    assert connection.settings == settings_before
    report = woocommerce_import(connection, dry_run=True)
    assert counts(report, "subscription")["applied"] == 2 and counts(report, "order")["applied"] >= 4
    assert not Subscription.objects.exists()


@pytest.fixture
def paged_store(db, set_clock, woocommerce_store_factory):
    """250 customers (3 pages of 100), each with an order of a one-off plan's product."""
    set_clock(NOW)
    store = woocommerce_store_factory(start=NOW - timedelta(days=5), memberships=False)
    catalog.course_create(external_id="intro")
    product = store.product(name="Course", type="simple")
    catalog.plan_create(external_id="course", grants=[{"course": "intro"}])
    from membersync.catalog.models import Plan

    Plan.objects.filter(external_id="course").update(product_ids=[str(product["id"])])
    for _ in range(250):
        customer = store.customer()
        store.order(customer=customer["id"], status="completed", product_id=product["id"])
    return store, connect(store)


def _pages_read(store, route: str) -> list[int]:
    return [int(r.params["page"][0]) for r in store.requests if r.route == route and "orderby" in r.params]


def test_an_interrupted_import_resumes_without_redoing_finished_pages(paged_store):
    store, connection = paged_store
    waits = []

    def fail_after_first_page(resource, done, total):
        if resource == "customer" and done == 100:
            store.fail_next(4, status=500)  # page 2 of customers fails on each of the 4 tries

    report = woocommerce_import(connection, progress=fail_after_first_page, sleep=waits.append)

    assert report.stopped and "at page 2 of customers" in report.stopped
    assert "stopped after 4 tries" in report.stopped and "it resumes at page 2 of customers" in report.stopped
    assert waits == [2.0, 4.0, 8.0]  # backoff, doubling
    progress = {p.resource: p for p in ImportProgress.objects.filter(connection=connection)}
    assert progress["customer"].next_page == 2 and not progress["customer"].done
    assert progress["product"].done
    assert Identity.objects.filter(connection=connection).count() == 100
    assert not Order.objects.exists()

    store.requests.clear()
    out, _ = run("import", "woocommerce", "shop", "--no-progress")

    assert "Resumed an interrupted import at page 2 of customers" in out and "finished." in out
    assert _pages_read(store, "customers") == [2, 3]  # page 1 is not read again
    assert _pages_read(store, "products") == [] and _pages_read(store, "orders") == [1, 2, 3]
    assert Identity.objects.filter(connection=connection).count() == 250
    assert Order.objects.filter(status=Order.COMPLETED).count() == 250
    assert summary_row(out, "customers")[0] == "250"  # the summary counts the pages done before
    assert not ImportProgress.objects.exists()

    store.requests.clear()
    again = woocommerce_import(connection)  # a whole new pass, changing nothing
    assert _pages_read(store, "customers") == [1, 2, 3]
    assert again.applied == 0 and counts(again, "order")["duplicate"] == 250


def test_restart_starts_over(paged_store):
    store, connection = paged_store

    def stop_on_orders(resource, done, total):
        if resource == "customer" and done == total:
            store.fail_next(1, status=401)

    report = woocommerce_import(connection, progress=stop_on_orders)
    assert "refused the API key at subscriptions" in report.stopped and "it resumes at subscriptions" in report.stopped
    store.requests.clear()
    out, _ = run("import", "woocommerce", "shop", "--no-progress", "--restart")
    assert "Resumed" not in out
    assert _pages_read(store, "customers") == [1, 2, 3]
    assert summary_row(out, "customers")[:3] == ["250", "0", "250"]  # read again: duplicates


def test_an_unavailable_store_is_waited_for_as_it_asks_or_the_import_stops(paged_store):
    store, connection = paged_store
    waits = []
    store.fail_next(2, status=429, retry_after=1)
    report = woocommerce_import(connection, sleep=waits.append)
    assert report.finished and waits == [1.0, 1.0]

    store.fail_next(1, status=503)  # WordPress's maintenance page: Retry-After 600, longer than an import waits
    report = woocommerce_import(connection, restart=True, sleep=waits.append)
    assert "it asks to wait 600 s" in report.stopped and waits == [1.0, 1.0]

    store.fail_next(1, status=401)
    with pytest.raises(CommandError, match="the store refused the API key"):
        run("import", "woocommerce", "shop", "--no-progress")


def test_a_failure_is_listed_and_the_import_goes_on(small_store, monkeypatch):
    from membersync.connectors.woocommerce import apply

    real = apply.order_apply
    broken = small_store["customers"]["cy"]

    def failing(connection, payload, **kw):
        if payload.get("customer_id") == broken:
            raise RuntimeError("the disk is full")
        return real(connection, payload, **kw)

    from membersync.connectors import deliveries

    monkeypatch.setitem(deliveries.WOOCOMMERCE_HANDLERS, "order", deliveries.Handler(failing, apply.order_fetch))
    out, _ = run("import", "woocommerce", "shop", "--no-progress")
    assert "finished." in out
    assert "Failures (1, each left as it was; the import went on):" in out
    assert "RuntimeError: the disk is full" in out
    assert Order.objects.filter(member=member_of(small_store["connection"], small_store["customers"]["eve"])).exists()


def test_an_unknown_connection_is_refused(db):
    with pytest.raises(CommandError, match=r"^no WooCommerce connection named .nope. \(connections: none yet\)"):
        run("import", "woocommerce", "nope")


# ---- verify -------------------------------------------------------------------------------------------------


def test_verify_finds_what_changed_in_the_store_without_a_webhook_and_repair_fixes_it(small_store):
    store, connection = small_store["store"], small_store["connection"]
    run("import", "woocommerce", "shop", "--no-progress")
    out, _ = run("verify", "woocommerce", "shop")
    assert "No difference: MemberSync is in step with the store." in out

    ada_sub = small_store["subscriptions"]["ada"]
    store.subscription(ada_sub, status="on-hold")  # no webhook: MemberSync is not told
    cy_order = next(o for o in store.all("orders") if o["customer_id"] == small_store["customers"]["cy"])
    store.refund(cy_order["id"], line_items=[cy_order["line_items"][0]["id"]])
    out, _ = run("verify", "woocommerce", "shop")

    assert "2 differences (store / MemberSync):" in out
    assert f"subscription {ada_sub}: is on-hold in the store, active in MemberSync" in out
    assert f"order {cy_order['id']}: is refunded in the store; line " in out and "is still open in MemberSync" in out
    assert (
        Subscription.objects.get(external_id=f"shop/subscription/{ada_sub}").status == "active"
    )  # reported, not changed

    out, _ = run("verify", "woocommerce", "shop", "--repair")
    assert "2 of 2 repaired" in out
    assert Subscription.objects.get(external_id=f"shop/subscription/{ada_sub}").status == "on-hold"
    cy = member_of(connection, small_store["customers"]["cy"])
    assert Order.objects.get(member=cy).status == Order.REFUNDED
    out, _ = run("verify", "woocommerce", "shop")
    assert "No difference" in out
    worker_tick(now=NOW + timedelta(days=2))  # past any on-hold grace
    assert courses_of(cy) == set()


def test_verify_finds_a_subscription_deleted_in_the_store_and_an_order_never_applied(small_store):
    store, connection = small_store["store"], small_store["connection"]
    run("import", "woocommerce", "shop", "--no-progress")
    ada_sub = small_store["subscriptions"]["ada"]
    store.delete("subscriptions", ada_sub, permanently=True)
    late = store.order(
        customer=small_store["customers"]["bob"], status="processing", product_id=small_store["products"]["lifetime"]
    )

    out, _ = run("verify", "woocommerce", "shop", "--repair")

    assert f"subscription {ada_sub}: is no longer in the store, active in MemberSync" in out
    assert f"order {late['id']}: is processing in the store: line " in out and "which MemberSync never granted" in out
    assert "2 of 2 repaired" in out
    assert Subscription.objects.get(external_id=f"shop/subscription/{ada_sub}").status == "trash"
    bob = member_of(connection, small_store["customers"]["bob"])
    assert Order.objects.get(member=bob).status == Order.COMPLETED


def test_verify_stops_with_a_clear_message_when_the_store_refuses_the_key(small_store):
    small_store["store"].fail_next(1, status=401)
    with pytest.raises(CommandError, match="^verify stopped before the end: the store refused the API key"):
        run("verify", "woocommerce", "shop")


def test_the_worker_verifies_nightly_when_configured(small_store):
    from membersync.connectors.models import DriftCheck
    from membersync.connectors.woocommerce.drift import drift_checks_run, verify_due

    store, connection = small_store["store"], small_store["connection"]
    run("import", "woocommerce", "shop", "--no-progress")
    night = datetime(2026, 6, 2, 3, 30, tzinfo=UTC)
    assert not verify_due(connection, night)  # not configured
    connection.settings.update(verify="repair", verify_hour=3)
    connection.save()
    assert not verify_due(connection, datetime(2026, 6, 2, 2, 59, tzinfo=UTC)) or DriftCheck.objects.exists() is False
    store.subscription(small_store["subscriptions"]["ada"], status="pending-cancel")

    assert verify_due(connection, night)
    assert drift_checks_run(now=night) == 1
    check = DriftCheck.objects.get(nightly=True)
    assert check.differences == 1 and check.repaired == 1 and check.finished_at and not check.error
    assert "pending-cancel in the store, active in MemberSync" in check.report
    assert (
        Subscription.objects.get(external_id=f"shop/subscription/{small_store['subscriptions']['ada']}").status
        == "pending-cancel"
    )
    assert not verify_due(connection, night + timedelta(hours=20))  # once a night
    assert drift_checks_run(now=night + timedelta(hours=20)) == 0
    assert verify_due(connection, night + timedelta(days=1))


def test_a_memberships_store_imports_its_user_memberships_and_verify_repairs_them(
    db, set_clock, woocommerce_store_factory
):
    set_clock(NOW)
    store = woocommerce_store_factory(start=NOW - timedelta(days=20))
    catalog.course_create(external_id="intro")
    product = store.product(name="Gold", type="simple")
    gold = store.plan(name="Gold", access_product_ids=[product["id"]])
    catalog.plan_create(external_id=f"club-{gold['id']}", grants=[{"course": "intro"}])
    ada, bob, cy = store.customer(), store.customer(), store.customer()
    order = store.order(customer=ada["id"], status="completed", product_id=product["id"])
    um_ada = store.user_membership(customer=ada["id"], plan=gold["id"], order=order["id"], product=product["id"])
    store.user_membership(customer=bob["id"], plan=gold["id"], status="cancelled")
    um_cy = store.user_membership(customer=cy["id"], plan=gold["id"], status="complimentary")
    connection = connect(store, "club", memberships=True)

    report = woocommerce_import(connection)

    assert report.finished and report.failed == 0
    assert counts(report, "user_membership")["applied"] == 3 and counts(report, "membership_plan")["applied"] == 1
    assert not Order.objects.exists()  # on a Memberships store, the user membership is the truth
    worker_tick(now=NOW)
    assert courses_of(member_of(connection, ada["id"])) == {"intro"}
    assert courses_of(member_of(connection, bob["id"])) == set()
    assert courses_of(member_of(connection, cy["id"])) == {"intro"}
    assert woocommerce_import(connection).applied == 0

    store.user_membership(um_ada["id"], status="paused")  # no webhook
    store.delete("memberships/members", um_cy["id"])
    out, _ = run("verify", "woocommerce", "club")
    assert "user memberships" in out.splitlines()[0]
    assert f"user_membership {um_ada['id']}: is paused in the store, not paused in MemberSync" in out
    assert f"user_membership {um_cy['id']}: is no longer in the store; MemberSync still has it" in out

    out, _ = run("verify", "woocommerce", "club", "--repair")
    assert "2 of 2 repaired" in out
    out, _ = run("verify", "woocommerce", "club")
    assert "No difference" in out
    worker_tick(now=NOW + timedelta(days=2))  # past the plan's on-hold grace
    assert courses_of(member_of(connection, ada["id"])) == set()
    assert courses_of(member_of(connection, cy["id"])) == set()


# ---- a large store ------------------------------------------------------------------------------------------

# The done-when asks for 10,000 customers: MEMBERSYNC_BACKFILL_CUSTOMERS=10000 runs that (about 6 minutes per
# database on a 2-core machine: each object is one event, applied and reconciled in its own transaction). The
# suite's default keeps the test near 30 s per database.
LARGE_STORE_CUSTOMERS = int(os.environ.get("MEMBERSYNC_BACKFILL_CUSTOMERS", "1000"))
SUBSCRIPTION_STATES = ("active", "on-hold", "cancelled", "pending-cancel")
ORDER_STATES = ("completed", "processing", "refunded", "pending")


def test_a_large_store_converges_and_a_second_import_changes_nothing(db, set_clock, woocommerce_store_factory):
    set_clock(NOW)
    store = woocommerce_store_factory(start=NOW - timedelta(days=5), memberships=False)
    catalog.course_create(external_id="intro")
    catalog.course_create(external_id="advanced")
    monthly = store.product(name="Monthly", type="subscription", price=9)
    lifetime = store.product(name="Lifetime", type="simple", price=99)
    catalog.plan_create(external_id="monthly", length="subscription", grants=[{"course": "intro"}])
    catalog.plan_create(external_id="lifetime", grants=[{"course": "advanced"}])
    from membersync.catalog.models import Plan

    Plan.objects.filter(external_id="monthly").update(product_ids=[str(monthly["id"])])
    Plan.objects.filter(external_id="lifetime").update(product_ids=[str(lifetime["id"])])
    for i in range(LARGE_STORE_CUSTOMERS):  # each customer has a subscription or an order, in one of 8 states
        customer = store.customer()
        kind, state = divmod(i % 8, 4)
        if kind == 0:
            sub = store.subscription(customer=customer["id"], status="active", product_id=monthly["id"])
            if state:  # changed later, as Subscriptions does it (pending-cancel ends at the next payment date)
                store.subscription(sub["id"], status=SUBSCRIPTION_STATES[state])
        else:
            store.order(customer=customer["id"], status=ORDER_STATES[state], product_id=lifetime["id"])
    connection = connect(store)

    started = time.perf_counter()
    report = woocommerce_import(connection)
    first = time.perf_counter() - started
    assert report.finished and report.failed == 0
    assert counts(report, "customer")["applied"] == LARGE_STORE_CUSTOMERS
    worker_tick(now=NOW)

    # Every member's access is what the store's states give.
    wanted: dict[str, set[str]] = {str(c["id"]): set() for c in store.all("customers")}
    for sub in store.all("subscriptions"):
        in_force = sub["status"] == "pending-cancel" and datetime.fromisoformat(sub["end_date_gmt"] + "+00:00") > NOW
        if sub["status"] == "active" or in_force:
            wanted[str(sub["customer_id"])].add("intro")
    for order in store.all("orders"):
        if order["status"] in ("completed", "processing"):
            wanted[str(order["customer_id"])].add("advanced")
    member_of_customer = dict(
        Identity.objects.filter(connection=connection, kind="customer").values_list("external_id", "member_id")
    )
    has: dict[int, set[str]] = {}
    for member_id, course in Enrollment.objects.filter(status=Enrollment.ACTIVE, target_kind="course").values_list(
        "member_id", "target_id"
    ):
        has.setdefault(member_id, set()).add(course)
    assert {c: has.get(member_of_customer[c], set()) for c in wanted} == wanted
    with_access = sum(1 for courses in wanted.values() if courses)
    assert with_access == LARGE_STORE_CUSTOMERS // 2  # two of the four states of each kind give access

    events, enrollments = Event.objects.count(), Enrollment.objects.count()
    started = time.perf_counter()
    again = woocommerce_import(connection)
    second = time.perf_counter() - started
    assert again.finished and again.applied == 0 and again.failed == 0
    assert sum(r.duplicate for r in again.resources) == sum(r.read for r in again.resources) - 1  # the simple product
    assert Event.objects.count() == events and Enrollment.objects.count() == enrollments
    print(f"\n{LARGE_STORE_CUSTOMERS} customers: import {first:.1f} s, second import {second:.1f} s")
