"""Organizations run from the admin: created with an owner, people added with roles, seats added and removed (more
than are free is refused with seats_in_use), licenses issued in bulk and assigned, a manager invited by email; each
form calls orgs.services (one event by the operator), and a refusal is shown on its field and changes nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from membersync.catalog.services import course_create, license_type_create, seat_type_create
from membersync.orgs.models import Invitation, License, Organization, OrgRole, Seat
from membersync.sync.models import Event
from tests.conftest import at

NOW = at("2026-03-01T12:00")


@pytest.fixture
def catalog(db, set_clock):
    set_clock(NOW)
    course_create(external_id="safety", title="Safety")
    seat_type_create(external_id="standard", name="Standard", grants=[{"course": "safety"}])
    license_type_create(external_id="yearly", name="Yearly", grants=[{"course": "safety"}], length="1 year")


@pytest.fixture
def acme(catalog, admin_client):
    response = admin_client.post(
        reverse("admin:orgs_organization_add"), {"org_id": "acme", "name": "Acme", "owner": "olive"}
    )
    assert response.status_code == 302
    return Organization.objects.get(external_id="acme")


def _do(client, org, action, data):
    return client.post(reverse("admin:orgs_organization_action", args=[org.pk, action]), data)


def _roles(org) -> dict[str, str]:
    return dict(OrgRole.objects.filter(organization=org).values_list("member__external_id", "role"))


def test_an_organization_is_created_with_its_owner_and_a_taken_id_is_refused_on_its_field(acme, admin_client):
    assert _roles(acme) == {"olive": "owner"}
    assert Event.objects.get(kind="org.create").actor == "operator:admin"
    page = admin_client.post(reverse("admin:orgs_organization_add"), {"org_id": "acme", "owner": "x"})
    assert page.status_code == 200
    assert page.context["form"].errors == {"org_id": ["organization 'acme' already exists"]}
    assert Organization.objects.count() == 1
    assert (
        "Change this organization"
        in admin_client.get(reverse("admin:orgs_organization_change", args=[acme.pk])).content.decode()
    )


def test_people_get_roles_and_the_owner_changes_from_the_organization_page(acme, admin_client):
    _do(admin_client, acme, "person", {"member": "max", "role": "manager"})
    _do(admin_client, acme, "owner", {"to_member": "max"})
    assert _roles(acme) == {"olive": "manager", "max": "owner"}
    refused = _do(admin_client, acme, "person_remove", {"member": "nobody"})
    assert "member" in refused.context["form"].errors
    assert _roles(acme) == {"olive": "manager", "max": "owner"}


def test_seats_are_added_and_more_than_the_free_ones_cannot_be_removed(acme, admin_client):
    _do(admin_client, acme, "seats_add", {"seat_type": "standard", "quantity": 3})
    _do(admin_client, acme, "person", {"member": "mia", "role": "member"})
    _do(admin_client, acme, "seat_assign", {"member": "mia", "seat_type": "standard"})
    refused = _do(admin_client, acme, "seats_remove", {"seat_type": "standard", "quantity": 3})
    assert refused.context["form"].errors["quantity"] == ["only 2 standard seat(s) of acme are free; cannot remove 3"]
    assert Seat.objects.filter(organization=acme).count() == 3
    _do(admin_client, acme, "seats_remove", {"seat_type": "standard", "quantity": 2})
    assert list(Seat.objects.filter(organization=acme).values_list("holder__external_id", flat=True)) == ["mia"]


def test_licenses_are_issued_in_bulk_and_assigned(acme, admin_client):
    _do(admin_client, acme, "licenses_issue", {"license_type": "yearly", "quantity": 3, "to": "available"})
    issued = sorted(License.objects.filter(organization=acme).values_list("external_id", flat=True))
    assert len(issued) == 3 and issued[0].endswith("-1")
    assert Event.objects.get(kind="license.issue").actor == "operator:admin"
    _do(admin_client, acme, "person", {"member": "mia", "role": "member"})
    _do(admin_client, acme, "license_assign", {"license": issued[0], "member": "mia"})
    assert License.objects.get(external_id=issued[0]).member.external_id == "mia"

    refused = _do(admin_client, acme, "licenses_issue", {"license_type": "yearly", "quantity": 1, "to": "member"})
    assert "member" in refused.context["form"].errors
    taken = _do(
        admin_client,
        acme,
        "licenses_issue",
        {"license_type": "yearly", "quantity": 1, "to": "org", "license_id": issued[1]},
    )
    assert taken.context["form"].errors == {"license_id": [f"license {issued[1]!r} already exists"]}
    assert License.objects.count() == 3


def test_a_manager_is_invited_by_email_from_the_admin(acme, admin_client, mailoutbox):
    response = _do(admin_client, acme, "invite", {"email": "Max@Acme.test", "role": "manager", "first_name": "Max"})
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.role, invitation.invited_by) == ("max@acme.test", "manager", "operator:admin")
    assert mailoutbox[0].to == ["max@acme.test"] and "/portal/invitations/" in mailoutbox[0].body
    again = _do(admin_client, acme, "invite", {"email": "max@acme.test", "role": "manager"})
    assert again.context["form"].errors == {"email": ["max@acme.test already has a pending invitation"]}
    assert Invitation.objects.count() == 1
