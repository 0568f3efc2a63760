"""Upgrades keep data: a database made by the migrations main had before the people app (members, orgs, sync as
they were) upgrades with `migrate` and keeps every member's access, ledger, outbox, sources and identity.

The old site is built through the historical models of that state, then the database is migrated forward and
checked with today's models and services. Whatever happens, the test leaves the database fully migrated.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps as current_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from membersync.sync.reconciler import Cause, members_reconcile
from membersync.sync.worker import worker_tick

# The leaf migrations of the project's apps on main before the people app existed.
OLD_LEAVES = [
    ("catalog", "0001_initial"),
    ("members", "0004_order_buys_licenses"),
    ("orgs", "0002_license_order"),
    ("sync", "0003_operation_result_digest"),
]
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LATER = START + timedelta(days=20)


def _executor() -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor


def _migrate_to_latest() -> None:
    executor = _executor()
    executor.migrate(executor.loader.graph.leaf_nodes())


def _migrate_to_old() -> None:
    executor = _executor()
    old_apps = {app for app, _ in OLD_LEAVES}
    newer = sorted(
        label
        for label in executor.loader.migrated_apps
        if label not in old_apps and current_apps.get_app_config(label).name.startswith("membersync.")
    )
    executor.migrate([*OLD_LEAVES, *((label, None) for label in newer)])


def _old_site(apps) -> dict:
    """A small site as the old code stored it, written through the historical models."""
    Member = apps.get_model("members", "Member")
    Course = apps.get_model("catalog", "Course")
    Plan = apps.get_model("catalog", "Plan")
    AccessRule = apps.get_model("catalog", "AccessRule")
    SeatType = apps.get_model("catalog", "SeatType")
    Order = apps.get_model("members", "Order")
    Membership = apps.get_model("members", "Membership")
    Organization = apps.get_model("orgs", "Organization")
    OrgRole = apps.get_model("orgs", "OrgRole")
    SeatPool = apps.get_model("orgs", "SeatPool")
    Seat = apps.get_model("orgs", "Seat")
    SeatHolding = apps.get_model("orgs", "SeatHolding")
    Event = apps.get_model("sync", "Event")
    Enrollment = apps.get_model("sync", "Enrollment")
    LedgerEntry = apps.get_model("sync", "LedgerEntry")
    Operation = apps.get_model("sync", "Operation")
    MemberAccess = apps.get_model("sync", "MemberAccess")

    alice = Member.objects.create(external_id="17", email="Alice@Example.COM ", name="Alice", created_at=START)
    bob = Member.objects.create(external_id="18", email="", name="Bob", created_at=START)
    course = Course.objects.create(external_id="c101", title="Course 101")
    plan = Plan.objects.create(external_id="gold", name="Gold")
    AccessRule.objects.create(plan=plan, target_kind="course", course=course)
    order = Order.objects.create(
        external_id="o-1", member=alice, plan=plan, status="completed", completed_at=START, license_quantity=0
    )
    membership = Membership.objects.create(member=alice, plan=plan, start=START, order=order, created_at=START)
    # members 0007: a subscription that was in force had made its memberships (this one's was deleted since);
    # a pending one had not
    Subscription = apps.get_model("members", "Subscription")
    SubscriptionChange = apps.get_model("members", "SubscriptionChange")
    for external_id, status in (("s-1", "active"), ("s-2", "pending")):
        sub = Subscription.objects.create(
            external_id=external_id,
            member=alice,
            status=status,
            status_since=START,
            start=START,
            store_modified_at=START,
        )
        sub.plans.add(plan)
        SubscriptionChange.objects.create(subscription=sub, at=START, status=status)
    org = Organization.objects.create(external_id="acme", name="Acme", created_at=START)
    OrgRole.objects.create(organization=org, member=bob, role="owner", since=START)
    seat_type = SeatType.objects.create(external_id="standard", name="Standard")
    pool = SeatPool.objects.create(organization=org, seat_type=seat_type, created_at=START)
    seat = Seat.objects.create(
        pool=pool, organization=org, seat_type=seat_type, holder=bob, held_since=START, created_at=START
    )
    SeatHolding.objects.create(seat=seat, pool=pool, organization=org, seat_type=seat_type, member=bob, start=START)
    event = Event.objects.create(
        idempotency_key="admin:order.complete:1",
        kind="order.complete",
        source="admin",
        actor="admin",
        payload={"order": {"id": "o-1", "member": "17", "plan": "gold"}},
        content_hash="0" * 64,
        occurred_at=START,
        received_at=START,
    )
    Enrollment.objects.create(member=alice, target_kind="course", target_id="c101", access_from=START, updated_at=START)
    LedgerEntry.objects.create(
        member=alice,
        at=START,
        recorded_at=START,
        action="opened",
        grant_key=f"membership:{membership.pk}:course:c101",
        target_kind="course",
        target_id="c101",
        source_kind="membership",
        source_id=str(membership.pk),
        reason="Gold grants Course 101",
        cause="order.complete (event 1)",
        actor="admin",
        event=event,
    )
    Operation.objects.create(
        member=alice,
        changes=[{"action": "enroll", "target_kind": "course", "target_id": "c101", "access_from": START.isoformat()}],
        idempotency_key="op-1",
        status="done",
        next_attempt_at=START,
        created_at=START,
        done_at=START,
    )
    # An operation still in the outbox, made when operations held only their changes.
    Operation.objects.create(
        member=alice,
        changes=[{"action": "enroll", "target_kind": "course", "target_id": "c102", "access_from": START.isoformat()}],
        idempotency_key="op-2",
        status="pending",
        next_attempt_at=START,
        created_at=START,
    )
    MemberAccess.objects.create(member=alice, computed_at=START)
    return {"alice": alice.pk, "bob": bob.pk, "seat": seat.pk, "event": event.pk}


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_people_app_upgrades_and_keeps_access_ledger_outbox_sources_and_identity(
    set_clock,
):
    from membersync.actors import Actor
    from membersync.members.models import Membership, Order, Subscription
    from membersync.members.subscriptions import subscription_update
    from membersync.orgs.models import OrgRole, Seat, SeatHolding
    from membersync.people.models import Identity, Member
    from membersync.sync.models import Enrollment, LedgerEntry, MemberAccess, Operation

    try:
        _migrate_to_old()
        old = _old_site(_executor().loader.project_state(OLD_LEAVES).apps)

        _migrate_to_latest()

        alice = Member.objects.get(pk=old["alice"])
        bob = Member.objects.get(pk=old["bob"])
        assert (alice.external_id, alice.email, alice.name) == ("17", "Alice@Example.COM ", "Alice")
        assert alice.email_normalized == "alice@example.com" and bob.email_normalized == ""
        assert Member.objects.filter(email_normalized="alice@example.com").get() == alice
        # sources
        assert Order.objects.get(external_id="o-1").member == alice
        membership = Membership.objects.get(member=alice)
        assert membership.plan.external_id == "gold"
        # MemberSync's own, not a store's (members 0008), and the plan lists no store product yet (catalog 0002)
        assert (membership.managed_by, membership.store_end) == ("", None)
        assert membership.plan.product_ids == []
        assert OrgRole.objects.get(member=bob).role == "owner"
        assert Seat.objects.get(pk=old["seat"]).holder == bob
        assert SeatHolding.objects.get(member=bob).seat_id == old["seat"]
        # access, ledger, outbox
        assert list(Enrollment.objects.filter(member=alice).values_list("target_id", "access_from")) == [
            ("c101", START)
        ]
        entry = LedgerEntry.objects.get(member=alice)
        assert (entry.action, entry.target_id, entry.event_id) == ("opened", "c101", old["event"])
        assert Operation.objects.get(member=alice, idempotency_key="op-1").status == "done"
        # The unfinished operation states the whole state it was made to leave: her enrollment, plus its change.
        unfinished = Operation.objects.get(member=alice, idempotency_key="op-2")
        assert [(row["target_id"], row["status"]) for row in unfinished.wanted] == [
            ("c101", "active"),
            ("c102", "active"),
        ]
        assert MemberAccess.objects.get(member=alice).computed_at == START
        # identities: the table is there, empty, and a member's own id is what it was
        assert not Identity.objects.exists()

        # Today's reconciler, run on the upgraded data, keeps her access and its start; the old unfinished
        # operation is superseded by the one it makes, never applied after it.
        set_clock(LATER)
        members_reconcile(member_ids=[alice.pk, bob.pk], now=LATER, cause=Cause("upgrade check", "test"))
        worker_tick(now=LATER)
        assert list(Enrollment.objects.filter(member=alice).values_list("target_id", "access_from")) == [
            ("c101", START)
        ]
        assert LedgerEntry.objects.filter(member=alice).first() == entry
        assert Operation.objects.get(pk=unfinished.pk).status == "superseded"

        # members 0007: the subscription in force had granted, so a renewal makes no membership again
        assert Subscription.objects.get(external_id="s-1").memberships_granted_at == START
        assert Subscription.objects.get(external_id="s-2").memberships_granted_at is None
        renewal = {"id": "s-1", "member": "17", "plan": "gold", "status": "active"}
        subscription_update(subscription=renewal, actor=Actor.connection("store"))
        assert Membership.objects.filter(member=alice).count() == 1
    finally:
        _migrate_to_latest()


# ---- connectors 0004: store ids namespaced per connection ----

BEFORE_STORE_IDS = [
    ("connectors", "0003_woocommerce_store_admin"),
    ("members", "0008_membership_owned_by_a_store"),
    ("catalog", "0002_plan_products"),
]


def _store_site_before_namespaced_ids(apps) -> dict:
    """Two stores as the connector stored them before 0004: subscription and orders keyed by the store's ids alone
    (outlet also sent a subscription 1300, which had landed on shop's row), and a subscription of MemberSync's own."""
    Connection = apps.get_model("people", "Connection")
    Member = apps.get_model("people", "Member")
    Identity = apps.get_model("people", "Identity")
    Plan = apps.get_model("catalog", "Plan")
    Subscription = apps.get_model("members", "Subscription")
    Order = apps.get_model("members", "Order")
    StoreResource = apps.get_model("connectors", "StoreResource")

    shop = Connection.objects.create(kind="woocommerce", name="shop", settings={}, created_at=START)
    outlet = Connection.objects.create(kind="woocommerce", name="outlet", settings={}, created_at=START)
    ann = Member.objects.create(external_id="shop/customer/1", email="ann@example.com", created_at=START)
    bea = Member.objects.create(external_id="outlet/customer/1", email="bea@example.com", created_at=START)
    for store, member in ((shop, ann), (outlet, bea)):
        Identity.objects.create(connection=store, kind="customer", external_id="1", member=member, created_at=START)
    weekly = Plan.objects.create(external_id="weekly", name="Weekly", length_kind="subscription", product_ids=["1027"])
    single = Plan.objects.create(external_id="single", name="Single", product_ids=["93"])
    sub = Subscription.objects.create(
        external_id="1300", member=ann, status="active", status_since=START, start=START, store_modified_at=START
    )
    sub.plans.add(weekly)
    own = Subscription.objects.create(
        external_id="s-9", member=bea, status="active", status_since=START, start=START, store_modified_at=START
    )
    order = Order.objects.create(
        external_id="727/5/single", member=ann, plan=single, status="completed", completed_at=START
    )
    for store, resource, external_id in (
        (shop, "subscription", "1300"),
        (outlet, "subscription", "1300"),
        (shop, "order", "727"),
    ):
        StoreResource.objects.create(
            connection=store,
            resource=resource,
            external_id=external_id,
            state_hash="old",
            modified_at=START,
            customer_id="1",
            updated_at=START,
        )
    return {"sub": sub.pk, "own": own.pk, "order": order.pk}


@pytest.mark.django_db(transaction=True)
def test_store_subscriptions_and_orders_keyed_by_the_stores_ids_alone_are_namespaced_per_store_and_keep_working(
    set_clock,
):
    from membersync.connectors.woocommerce.apply import order_apply, subscription_apply
    from membersync.members.models import Order, Subscription
    from membersync.people.models import Connection

    try:
        executor = _executor()
        executor.migrate(BEFORE_STORE_IDS)
        old = _store_site_before_namespaced_ids(_executor().loader.project_state(BEFORE_STORE_IDS).apps)

        _migrate_to_latest()

        # shop's subscription and order take shop's namespace; MemberSync's own subscription keeps its id
        sub = Subscription.objects.get(pk=old["sub"])
        assert (sub.external_id, sub.member.external_id, sub.status) == (
            "shop/subscription/1300",
            "shop/customer/1",
            "active",
        )
        assert Subscription.objects.get(pk=old["own"]).external_id == "s-9"
        assert Order.objects.get(pk=old["order"]).external_id == "shop/order/727/5/single"

        # the stores' next deliveries find them: shop's 1300 updates the same row, outlet's is its own
        set_clock(LATER)
        shop, outlet = Connection.objects.get(name="shop"), Connection.objects.get(name="outlet")
        later = f"{LATER:%Y-%m-%dT%H:%M:%S}"
        state = {
            "customer_id": 1,
            "billing": {"email": "ann@example.com"},
            "line_items": [{"id": 1, "product_id": 1027}],
        }
        subscription_apply(shop, {"id": 1300, "status": "on-hold", "date_modified_gmt": later, **state})
        subscription_apply(outlet, {**state, "id": 1300, "status": "active", "date_modified_gmt": later})
        assert Subscription.objects.get(pk=old["sub"]).status == "on-hold"
        assert (
            Subscription.objects.get(external_id="outlet/subscription/1300").member.external_id == "outlet/customer/1"
        )
        order = {"id": 727, "customer_id": 1, "status": "refunded", "date_modified_gmt": later, "line_items": []}
        order_apply(shop, order)
        assert Order.objects.get(pk=old["order"]).status == Order.REFUNDED
        assert Subscription.objects.count() == 3 and Order.objects.count() == 1
    finally:
        _migrate_to_latest()


BEFORE_EXPLICIT_ENDS = [("members", "0008_membership_owned_by_a_store")]


@pytest.mark.django_db(transaction=True)
def test_memberships_made_before_operators_could_set_an_end_keep_their_plans_end_and_can_be_extended(set_clock):
    from membersync.actors import Actor
    from membersync.members.models import Membership
    from membersync.members.selectors import membership_states
    from membersync.members.services import membership_extend

    try:
        executor = _executor()
        executor.migrate(BEFORE_EXPLICIT_ENDS)
        leaves = [n for n in _executor().loader.graph.leaf_nodes() if n[0] != "members"] + BEFORE_EXPLICIT_ENDS
        old = _executor().loader.project_state(leaves).apps
        member = old.get_model("people", "Member").objects.create(
            external_id="ann", email_normalized="", created_at=START
        )
        plan = old.get_model("catalog", "Plan").objects.create(
            external_id="month", name="Month", length_kind="specific", length_duration="30 days"
        )
        kept = old.get_model("members", "Membership").objects.create(
            member=member, plan=plan, start=START, created_at=START
        )

        _migrate_to_latest()

        membership = Membership.objects.get(pk=kept.pk)
        assert (membership.member.external_id, membership.start, membership.ends_at) == ("ann", START, None)
        _, state = membership_states(membership.member, LATER)[membership.pk]
        assert (state.status, state.window.end) == ("active", START + timedelta(days=30))
        set_clock(LATER)
        membership_extend(membership_id=str(kept.pk), until=START + timedelta(days=60), actor=Actor.operator("olga"))
        _, state = membership_states(membership.member, LATER)[membership.pk]
        assert state.window.end == START + timedelta(days=60)
    finally:
        _migrate_to_latest()


# ---- tags 0001: the CRM tags app ----


@pytest.mark.django_db(transaction=True)
def test_a_database_from_before_the_tags_app_keeps_every_members_access_ledger_and_identities(set_clock):
    """The tags app only adds tables of its own: a site made before it is today's tables without those. Made here
    with today's services and no tag setting, its tags tables are then dropped (migrate tags zero) and migrated
    back; every member keeps her enrollments and their start, her ledger and her identities, a reconcile changes
    nothing, and tag settings then work on the upgraded site."""
    from membersync.actors import Actor
    from membersync.catalog import services as catalog
    from membersync.members import services as members
    from membersync.people.models import WOOCOMMERCE, Identity
    from membersync.people.services import connection_create, member_for_identity
    from membersync.sync.models import Enrollment, LedgerEntry, Operation
    from membersync.tags import services as tags
    from membersync.tags.batch import tags_batch_run
    from membersync.tags.selectors import crm_tags_held

    actor = Actor.system("test")
    set_clock(START)
    catalog.course_create(external_id="c101")
    catalog.plan_create(external_id="gold", grants=[{"course": "c101"}])
    store = connection_create(kind=WOOCOMMERCE, name="shop", url="https://shop.example")
    ann = member_for_identity(connection=store, kind="customer", external_id="42", email="ann@example.com").member
    members.order_complete(order_id="o1", member_id=ann.external_id, plan_id="gold", actor=actor)
    worker_tick(now=START)

    def kept():
        return (
            list(Enrollment.objects.order_by("pk").values_list("member_id", "target_id", "status", "access_from")),
            list(LedgerEntry.objects.order_by("pk").values_list("pk", "member_id", "action", "target_id", "at")),
            list(Identity.objects.order_by("pk").values_list("pk", "member_id", "kind", "external_id")),
        )

    before = kept()
    assert before[0] == [(ann.pk, "c101", "active", START)]
    try:
        executor = _executor()
        executor.migrate([("tags", None)])
        tables = connection.introspection.table_names()
        assert not [t for t in tables if t.startswith("tags_")]
        assert kept() == before

        _migrate_to_latest()

        assert kept() == before
        set_clock(LATER)
        operations = Operation.objects.count()
        members_reconcile(member_ids=[ann.pk], now=LATER, cause=Cause("upgrade check", "test"))
        worker_tick(now=LATER)
        assert kept() == before and Operation.objects.count() == operations
        # The upgraded site takes tag settings: the batch mirrors her enrollment in the built-in CRM.
        tags.tag_settings_set(target_kind="course", target_id="c101", link_tag="c101-linked", actor=actor)
        tags_batch_run(which="course-tags")
        assert crm_tags_held(member=ann) == {"c101-linked"}
    finally:
        _migrate_to_latest()
