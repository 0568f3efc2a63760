"""`membersync demo --no-serve` loads a demo site through the services, and loading it again changes nothing."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from membersync import demo
from membersync.members.models import Membership, Order
from membersync.people.models import Member
from membersync.sync.models import Enrollment, Event, LedgerEntry, Operation
from tests.conftest import at


def _load() -> str:
    out = io.StringIO()
    call_command("demo", "--no-serve", stdout=out)
    return out.getvalue()


def _snapshot():
    return {
        "members": Member.objects.count(),
        "memberships": sorted(Membership.objects.values_list("pk", "status")),
        "orders": sorted(Order.objects.values_list("external_id", "status")),
        "events": Event.objects.count(),
        "ledger": LedgerEntry.objects.count(),
        "enrollments": sorted(Enrollment.objects.values_list("member_id", "target_kind", "target_id", "status")),
        "operations": Operation.objects.count(),
    }


@pytest.mark.django_db(transaction=True)
def test_demo_loads_members_in_every_status_and_a_second_load_changes_nothing(set_clock):
    set_clock(at("2026-05-10T15:00"))
    output = _load()
    assert "admin login: admin / membersync-demo" in output
    first = _snapshot()
    set_clock(at("2026-05-10T15:05"))
    again = _load()
    assert "nothing to add" in again
    assert _snapshot() == first
    statuses = set(Membership.objects.values_list("status", flat=True))
    assert {"active", "paused", "delayed", "cancelled", "expired", "complimentary"} <= statuses
    assert first["members"] >= 12


@pytest.mark.django_db(transaction=True)
def test_demo_goes_through_the_services_and_reconciles_everyone(set_clock, client):
    set_clock(at("2026-05-10T15:00"))
    _load()
    kinds = set(Event.objects.values_list("kind", flat=True))
    assert {
        "order.complete",
        "order.refund",
        "membership.create",
        "membership.pause",
        "membership.resume",
        "membership.cancel",
    } <= kinds
    assert not Event.objects.filter(outcome=Event.REFUSED).exists()
    assert not Operation.objects.filter(status__in=(Operation.PENDING, Operation.DEAD)).exists()
    grace = Member.objects.get(external_id="grace")
    # Paused for ten days and resumed: her 14-day drip opened ten days late, in the real enrollment table.
    assert Enrollment.objects.filter(member=grace, target_id="advanced", status="active").exists()
    assert LedgerEntry.objects.filter(member=grace, action="suspended").exists()
    dave = Member.objects.get(external_id="dave")
    assert set(Enrollment.objects.filter(member=dave).values_list("status", flat=True)) == {"suspended"}
    assert client.login(username="admin", password="membersync-demo")
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_demo_has_organization_acme_whose_manager_signs_in_to_the_portal(set_clock, client):
    set_clock(at("2026-05-10T15:00"))
    output = _load()
    assert "manager@acme.example / acme-demo-manager" in output
    peggy = Member.objects.get(external_id="peggy")  # holds an Acme seat that grants intro
    assert Enrollment.objects.filter(member=peggy, target_id="intro", status="active").exists()
    assert client.login(username="manager@acme.example", password="acme-demo-manager")
    page = client.get("/portal/", follow=True)
    assert page.status_code == 200 and "Acme" in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_other_apps_add_to_the_demo_through_its_loader_list(set_clock, monkeypatch):
    set_clock(at("2026-05-10T15:00"))
    seen = []

    def extra(context):
        seen.append(context.anchor)
        context.logins.append(("manager", "manager", "secret"))

    monkeypatch.setattr(demo, "EXTRA_LOADERS", [extra])
    assert "manager login: manager / secret" in _load()
    assert len(seen) == 1
