"""A one-off order that buys licenses: for the buyer, or as an organization's stock; refunding it revokes them."""

import pytest
from django.urls import reverse

from membersync import clock
from membersync.actors import Actor
from membersync.catalog.services import course_create, license_type_create, plan_create, seat_type_create
from membersync.errors import ServiceError
from membersync.members.models import Membership, Order
from membersync.members.services import order_complete, order_refund
from membersync.orgs import services
from membersync.orgs.models import License, LicenseAssignment, Organization
from membersync.orgs.selectors import member_license_statuses, org_licenses
from membersync.people.models import Member
from membersync.sync.models import Event, LedgerEntry
from membersync.sync.selectors import member_courses
from membersync.sync.worker import worker_tick

from .conftest import at


def courses(member_id: str) -> set[str]:
    """What the person can open once the worker has carried out the pending operations."""
    worker_tick(now=clock.now())
    return member_courses(Member.objects.get(external_id=member_id))


def database_state() -> tuple:
    return (
        list(Order.objects.values_list("external_id", "status", "license_quantity")),
        list(License.objects.order_by("pk").values_list("external_id", "status", "revoked_at")),
        LicenseAssignment.objects.count(),
        Membership.objects.count(),
        sorted(Member.objects.values_list("external_id", flat=True)),
    )


@pytest.fixture
def shop(db, set_clock):
    set_clock(at("2026-01-01"))
    course_create(external_id="gdpr")
    course_create(external_id="safety")
    course_create(external_id="intro")
    license_type_create(external_id="compliance", name="Compliance", grants=[{"course": "gdpr"}], length="12 months")
    seat_type_create(external_id="standard", name="Standard", grants=[{"course": "safety"}])
    plan_create(external_id="basics", grants=[{"course": "intro"}, {"course": "gdpr"}])
    services.org_create(org_id="acme", name="Acme Ltd", owner_id="olivia", actor=Actor.operator("admin"))
    services.org_member_set(org_id="acme", member_id="mia", role="manager", actor=Actor.operator("admin"))
    services.seats_add(org_id="acme", seat_type_id="standard", quantity=5, actor=Actor.operator("admin"))


def test_an_order_for_the_buyer_issues_active_licenses_that_give_access_at_once(shop):
    services.order_complete_licenses(
        order_id="O-1", member_id="bob", type_id="compliance", quantity=3, actor=Actor.connection("store")
    )

    licenses = list(License.objects.filter(order__external_id="O-1"))
    assert len(licenses) == 3
    assert {(lic.assigned_to, lic.member.external_id, lic.status) for lic in licenses} == {("member", "bob", "active")}
    assert set(member_license_statuses(Member.objects.get(external_id="bob")).values()) == {"active"}
    assert courses("bob") == {"gdpr"}
    order = Order.objects.get(external_id="O-1")
    assert (order.plan, order.license_type.external_id, order.license_quantity) == (None, "compliance", 3)


def test_an_order_for_an_organization_is_stock_its_manager_assigns(shop, set_clock):
    services.order_complete_licenses(
        order_id="O-2",
        member_id="olivia",
        type_id="compliance",
        quantity=2,
        org_id="acme",
        actor=Actor.connection("store"),
    )
    org = Organization.objects.get(external_id="acme")
    assert [(lic.order.external_id, status) for lic, status in org_licenses(org)] == [
        ("O-2", "available"),
        ("O-2", "available"),
    ]
    assert courses("olivia") == set()  # the buyer bought stock, not access for herself

    set_clock(at("2026-01-05"))
    services.org_member_set(org_id="acme", member_id="nina", role="member", actor=Actor.operator("admin"))
    first = License.objects.filter(order__external_id="O-2").order_by("pk").first()
    services.license_assign(license_id=first.external_id, member_id="nina", actor=Actor.member("mia"))

    assert courses("nina") == {"gdpr"}
    assert sorted(status for _, status in org_licenses(org)) == ["active", "available"]


def test_an_order_can_buy_a_plan_and_licenses_together(shop):
    services.order_complete_licenses(
        order_id="O-3",
        member_id="bob",
        plan_id="basics",
        type_id="compliance",
        quantity=1,
        actor=Actor.connection("store"),
    )

    assert Membership.objects.get(order__external_id="O-3").plan.external_id == "basics"
    assert License.objects.filter(order__external_id="O-3").count() == 1
    assert courses("bob") == {"intro", "gdpr"}


def test_an_order_delivered_twice_issues_its_licenses_once(shop, set_clock):
    services.order_complete_licenses(
        order_id="O-4", member_id="bob", type_id="compliance", quantity=2, actor=Actor.connection("store")
    )
    before = database_state()

    set_clock(at("2026-01-02"))
    services.order_complete_licenses(
        order_id="O-4", member_id="bob", type_id="compliance", quantity=2, actor=Actor.connection("store")
    )

    assert database_state() == before
    assert Event.objects.filter(kind="order.complete").count() == 2  # both deliveries are on record


def test_refunding_the_order_revokes_its_licenses_and_other_sources_keep_their_access(shop, set_clock):
    # bob also has a membership of his own that grants gdpr, and a seat in acme
    order_complete(order_id="M-1", member_id="bob", plan_id="basics", actor=Actor.connection("store"))
    services.seat_assign(org_id="acme", member_id="bob", actor=Actor.operator("admin"))
    services.order_complete_licenses(
        order_id="O-5", member_id="bob", type_id="compliance", quantity=2, actor=Actor.connection("store")
    )
    # the organization's stock, handed to nina and to the whole organization
    services.order_complete_licenses(
        order_id="O-6",
        member_id="olivia",
        type_id="compliance",
        quantity=2,
        org_id="acme",
        actor=Actor.connection("store"),
    )
    services.seat_assign(org_id="acme", member_id="nina", actor=Actor.operator("admin"))
    stock = list(License.objects.filter(order__external_id="O-6").order_by("pk"))
    services.license_assign(license_id=stock[0].external_id, member_id="nina", actor=Actor.member("mia"))
    services.license_assign(license_id=stock[1].external_id, org_id="acme", actor=Actor.operator("admin"))
    services.order_complete_licenses(
        order_id="O-7", member_id="carl", type_id="compliance", quantity=1, actor=Actor.connection("store")
    )
    assert courses("nina") == {"safety", "gdpr"}
    assert courses("carl") == {"gdpr"}

    set_clock(at("2026-02-01"))
    order_refund(order_id="O-6", actor=Actor.connection("store"))

    assert set(License.objects.filter(order__external_id="O-6").values_list("status", flat=True)) == {"revoked"}
    assert courses("nina") == {"safety"}  # her seat stays; the licenses from the refunded order are gone
    assert courses("bob") == {"intro", "gdpr", "safety"}  # his membership and his own licenses still grant gdpr
    assert courses("carl") == {"gdpr"}
    closed = LedgerEntry.objects.filter(member__external_id="nina", action=LedgerEntry.CLOSED, target_id="gdpr")
    assert closed.count() == 2  # one grant through her own license, one through the organization's
    assert {(entry.at, entry.actor) for entry in closed} == {(at("2026-02-01"), "connection:store")}
    assert all("order O-6 was refunded" in entry.reason for entry in closed)

    order_refund(order_id="O-5", actor=Actor.connection("store"))
    assert set(License.objects.filter(order__external_id="O-5").values_list("status", flat=True)) == {"revoked"}
    assert courses("bob") == {"intro", "gdpr", "safety"}  # still through his membership
    assert Membership.objects.get(order__external_id="M-1").ended_at is None

    order_refund(order_id="M-1", actor=Actor.connection("store"))
    assert courses("bob") == {"safety"}
    assert Order.objects.get(external_id="O-7").status == Order.COMPLETED


def test_a_refunded_license_order_cannot_be_completed_again(shop):
    services.order_complete_licenses(
        order_id="O-8", member_id="bob", type_id="compliance", quantity=1, actor=Actor.connection("store")
    )
    order_refund(order_id="O-8", actor=Actor.connection("store"))
    order_refund(order_id="O-8", actor=Actor.connection("store"))  # refunded twice: nothing more happens
    before = database_state()

    with pytest.raises(ServiceError) as refused:
        services.order_complete_licenses(
            order_id="O-8", member_id="bob", type_id="compliance", quantity=1, actor=Actor.connection("store")
        )
    assert (refused.value.code, refused.value.field) == ("order_refunded", "order.id")
    assert database_state() == before
    assert courses("bob") == set()


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        (dict(type_id="nosuch"), "not_found", "order.license_type"),
        (dict(quantity=0), "invalid_value", "order.quantity"),
        (dict(quantity=-2), "invalid_value", "order.quantity"),
        (dict(quantity="3"), "invalid_value", "order.quantity"),
        (dict(org_id="nosuch"), "not_found", "order.org"),
        (dict(plan_id="nosuch"), "not_found", "order.plan"),
        (dict(order_id="O-1", quantity=2), "order_reused", "order.id"),
        (dict(order_id="O-1", member_id="carl"), "order_reused", "order.id"),
        (dict(order_id="O-1", org_id="acme"), "order_reused", "order.id"),
        (dict(order_id="O-1", plan_id="basics"), "order_reused", "order.id"),
        (dict(order_id="M-1"), "order_reused", "order.id"),
        (dict(actor=Actor.member("olivia")), "forbidden", "actor"),
    ],
)
def test_bad_license_orders_are_refused_naming_the_field_and_change_nothing(shop, fields, code, field):
    services.order_complete_licenses(
        order_id="O-1", member_id="bob", type_id="compliance", quantity=1, actor=Actor.connection("store")
    )
    order_complete(order_id="M-1", member_id="bob", plan_id="basics", actor=Actor.connection("store"))
    before = database_state()
    request = (
        dict(order_id="O-9", member_id="bob", type_id="compliance", quantity=1, actor=Actor.connection("store"))
        | fields
    )

    with pytest.raises(ServiceError) as refused:
        services.order_complete_licenses(**request)

    assert (refused.value.code, refused.value.field) == (code, field)
    assert database_state() == before


def test_a_plan_order_cannot_reuse_the_id_of_a_license_order(shop):
    services.order_complete_licenses(
        order_id="O-1", member_id="bob", type_id="compliance", quantity=1, actor=Actor.connection("store")
    )
    before = database_state()

    with pytest.raises(ServiceError) as refused:
        order_complete(order_id="O-1", member_id="bob", plan_id="basics", actor=Actor.connection("store"))

    assert (refused.value.code, refused.value.field) == ("order_reused", "order.id")
    assert database_state() == before


def test_the_admin_shows_an_orders_licenses_and_each_licenses_order(shop, admin_client):
    services.order_complete_licenses(
        order_id="O-10", member_id="bob", type_id="compliance", quantity=2, actor=Actor.connection("store")
    )
    order = Order.objects.get(external_id="O-10")
    lic = License.objects.filter(order=order).order_by("pk").first()

    order_page = admin_client.get(reverse("admin:members_order_change", args=[order.pk]))
    license_page = admin_client.get(reverse("admin:orgs_license_change", args=[lic.pk]))
    license_list = admin_client.get(reverse("admin:orgs_license_changelist"), {"q": "O-10"})

    assert order_page.status_code == license_page.status_code == license_list.status_code == 200
    assert "order-O-10-1" in order_page.text and "order-O-10-2" in order_page.text
    assert "order O-10" in license_page.text
    assert license_list.context["cl"].result_count == 2
