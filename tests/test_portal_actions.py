"""The portal's actions on people, invitations, licenses and ownership, through Django's test client: each is
offered only to the roles that may run it, works for them, and when refused says why and changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from membersync.actors import Actor
from membersync.catalog.services import license_type_create
from membersync.orgs.models import Invitation, License, OrgRole, Seat
from membersync.orgs.selectors import license_statuses_now
from membersync.orgs.services import invitation_create, license_assign, license_issue, seat_assign
from membersync.sync.models import GrantRecord
from tests.browser.orgdata import COURSE, FAST_HASHERS, PASSWORD, SEAT_TYPE, org_with_people

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def acme():
    return org_with_people("acme", seats=2)


@pytest.fixture
def globex():
    return org_with_people("globex", name="Globex Learning", seats=1)


def logged_in(member) -> Client:
    client = Client()
    assert client.login(username=member.email, password=PASSWORD)
    return client


def org_url(name: str, org_id: str = "acme", **kwargs) -> str:
    return reverse(f"portal:{name}", kwargs={"org_id": org_id, **kwargs})


def roles(org_id: str = "acme") -> dict[str, str]:
    return dict(OrgRole.objects.filter(organization__external_id=org_id).values_list("member__external_id", "role"))


def page_text(response) -> str:
    return response.content.decode()


def license_status(license_id: str) -> str:
    lic = License.objects.select_related("license_type").get(external_id=license_id)
    return license_statuses_now([lic])[lic.pk][0]


@pytest.fixture
def licenses(acme):
    """LIC-1 assigned to the member (it gives them the course), LIC-2 available; both belong to acme."""
    license_type_create(external_id="pro", name="Pro library", length="1 year", grants=[{"course": COURSE}])
    license_issue(license_id="LIC", type_id="pro", owner_org_id="acme", quantity=2, actor=Actor.operator("admin"))
    license_assign(license_id="LIC-1", member_id=acme.member.external_id, actor=Actor.operator("admin"))
    return ["LIC-1", "LIC-2"]


# ---- what the people page offers ----


def test_a_manager_is_offered_remove_and_role_change_for_people_below_the_owner_only(acme):
    page = page_text(logged_in(acme.manager).get(org_url("org_people")))
    assert 'aria-label="Remove Mia Member from Acme Training"' in page
    assert 'aria-label="Change the role of Mia Member"' in page
    assert 'aria-label="Remove Olive Owner' not in page
    assert 'aria-label="Change the role of Olive Owner' not in page
    assert 'aria-label="Remove Max Manager' not in page  # not themselves
    assert "Transfer the ownership" not in page


def test_the_owner_is_offered_every_person_and_the_ownership_transfer(acme):
    page = page_text(logged_in(acme.owner).get(org_url("org_people")))
    assert 'aria-label="Remove Mia Member from Acme Training"' in page
    assert 'aria-label="Remove Max Manager from Acme Training"' in page
    assert 'aria-label="Remove Olive Owner' not in page
    assert "Transfer the ownership" in page
    assert '<label for="id_to_member">New owner</label>' in page
    assert '<label for="id_confirm">I understand' in page


# ---- removing a person ----


def test_a_manager_removes_a_member_and_frees_their_seat(acme):
    seat_assign(org_id="acme", member_id=acme.member.external_id, seat_type_id=SEAT_TYPE, actor=Actor.operator("admin"))
    assert GrantRecord.objects.filter(member=acme.member, state="open").exists()
    response = logged_in(acme.manager).post(
        org_url("org_person_remove"), {"member": acme.member.external_id}, follow=True
    )
    page = page_text(response)
    assert "Mia Member &lt;member@acme.test&gt; was removed from Acme Training" in page
    assert acme.member.external_id not in roles()
    assert not Seat.objects.filter(holder__isnull=False).exists()
    assert not GrantRecord.objects.filter(member=acme.member, state="open").exists()
    assert 'aria-label="Remove Mia Member' not in page


def test_a_manager_removes_another_manager(acme):
    from membersync.orgs.services import org_member_set

    org_member_set(org_id="acme", member_id=acme.member.external_id, role="manager", actor=Actor.operator("admin"))
    logged_in(acme.manager).post(org_url("org_person_remove"), {"member": acme.member.external_id})
    assert acme.member.external_id not in roles()


def test_a_manager_cannot_remove_the_owner_and_nothing_changes(acme):
    seat_assign(org_id="acme", member_id=acme.owner.external_id, seat_type_id=SEAT_TYPE, actor=Actor.operator("admin"))
    before = roles()
    response = logged_in(acme.manager).post(
        org_url("org_person_remove"), {"member": acme.owner.external_id}, follow=True
    )
    assert "Olive Owner &lt;owner@acme.test&gt; was not removed" in page_text(response)
    assert "a manager cannot act on an owner" in page_text(response)
    assert roles() == before
    assert Seat.objects.filter(holder=acme.owner).exists()


def test_the_only_owner_cannot_remove_themselves(acme):
    response = logged_in(acme.owner).post(org_url("org_person_remove"), {"member": acme.owner.external_id}, follow=True)
    assert "was not removed" in page_text(response) and "transfer the ownership first" in page_text(response)
    assert roles()[acme.owner.external_id] == "owner"


def test_removing_someone_outside_the_organization_is_404(acme, globex):
    response = logged_in(acme.manager).post(org_url("org_person_remove"), {"member": globex.member.external_id})
    assert response.status_code == 404
    assert globex.member.external_id in roles("globex")


@pytest.mark.parametrize(
    "action",
    [
        "org_person_remove",
        "org_person_role",
        "org_invitation_cancel",
        "org_ownership_transfer",
        "org_license_take_back",
    ],
)
def test_a_plain_member_gets_403_and_another_organizations_manager_404(acme, globex, licenses, action):
    invitation = invitation_create(org_id="acme", email="new@example.com", actor=Actor.operator("admin")).value
    data = {
        "member": acme.manager.external_id,
        "role": "member",
        "invitation": invitation.pk,
        "to_member": acme.manager.external_id,
        "confirm": "on",
        "license": "LIC-1",
    }
    before = roles()
    assert logged_in(acme.member).post(org_url(action), data).status_code == 403
    assert logged_in(globex.manager).post(org_url(action), data).status_code == 404
    assert roles() == before
    assert Invitation.objects.get(pk=invitation.pk).status == Invitation.PENDING
    assert license_status("LIC-1") == "active"


def test_actions_are_posts_with_a_csrf_token(acme):
    client = Client(enforce_csrf_checks=True)
    client.login(username=acme.manager.email, password=PASSWORD)
    assert client.get(org_url("org_person_remove")).status_code == 405
    assert client.post(org_url("org_person_remove"), {"member": acme.member.external_id}).status_code == 403
    assert acme.member.external_id in roles()


# ---- changing a role ----


def test_a_manager_makes_a_member_manager_and_back(acme):
    client = logged_in(acme.manager)
    response = client.post(
        org_url("org_person_role"), {"member": acme.member.external_id, "role": "manager"}, follow=True
    )
    assert "Mia Member &lt;member@acme.test&gt; is now manager" in page_text(response)
    assert roles()[acme.member.external_id] == "manager"
    client.post(org_url("org_person_role"), {"member": acme.member.external_id, "role": "member"})
    assert roles()[acme.member.external_id] == "member"


def test_a_manager_cannot_change_the_owners_role(acme):
    response = logged_in(acme.manager).post(
        org_url("org_person_role"), {"member": acme.owner.external_id, "role": "member"}, follow=True
    )
    assert "The role of Olive Owner &lt;owner@acme.test&gt; was not changed" in page_text(response)
    assert roles()[acme.owner.external_id] == "owner"


def test_ownership_is_not_a_role_the_role_form_gives(acme):
    response = logged_in(acme.owner).post(
        org_url("org_person_role"), {"member": acme.member.external_id, "role": "owner"}, follow=True
    )
    assert "was not changed: choose member or manager" in page_text(response)
    assert roles()[acme.member.external_id] == "member"


# ---- cancelling an invitation ----


def test_a_manager_cancels_an_invitation_and_the_seat_it_held_is_free(acme):
    invitation = invitation_create(
        org_id="acme",
        email="held@example.com",
        hold_seat_type_id=SEAT_TYPE,
        actor=Actor.member(acme.manager.external_id),
    ).value
    assert Seat.objects.filter(invitation=invitation).exists()
    response = logged_in(acme.manager).post(
        org_url("org_invitation_cancel"), {"invitation": invitation.pk}, follow=True
    )
    page = page_text(response)
    assert "The invitation of held@example.com is cancelled" in page
    assert "No pending invitations." in page
    assert Invitation.objects.get(pk=invitation.pk).status == Invitation.CANCELLED
    assert not Seat.objects.filter(invitation__isnull=False).exists()


def test_cancelling_another_organizations_invitation_from_here_is_404(acme, globex):
    from membersync.orgs.services import org_member_set

    org_member_set(org_id="globex", member_id=acme.manager.external_id, role="manager", actor=Actor.operator("admin"))
    theirs = invitation_create(org_id="globex", email="g@example.com", actor=Actor.operator("admin")).value
    client = logged_in(acme.manager)
    assert client.post(org_url("org_invitation_cancel"), {"invitation": theirs.pk}).status_code == 404
    assert client.post(org_url("org_invitation_cancel"), {"invitation": "nope"}).status_code == 404
    assert Invitation.objects.get(pk=theirs.pk).status == Invitation.PENDING


# ---- licenses ----


def test_a_manager_takes_a_license_back_and_may_not_revoke(acme, licenses):
    client = logged_in(acme.manager)
    page = page_text(client.get(org_url("org_licenses")))
    assert 'aria-label="Take back license LIC-1"' in page
    assert 'aria-label="Take back license LIC-2"' not in page  # nobody has it
    assert "Revoke license" not in page
    response = client.post(org_url("org_license_take_back"), {"license": "LIC-1"}, follow=True)
    assert "License LIC-1 was taken back" in page_text(response)
    assert License.objects.get(external_id="LIC-1").member is None
    assert license_status("LIC-1") == "available"


def test_taking_back_an_unassigned_license_is_refused_in_words(acme, licenses):
    response = logged_in(acme.manager).post(org_url("org_license_take_back"), {"license": "LIC-2"}, follow=True)
    assert "License LIC-2 was not taken back: license LIC-2 is not assigned" in page_text(response)


def test_a_manager_who_forces_a_revoke_is_refused_and_nothing_changes(acme, licenses):
    client = logged_in(acme.manager)
    confirm = page_text(client.get(org_url("org_license_revoke", license_id="LIC-1")))
    assert "Only the owner of Acme Training can revoke licenses" in confirm
    assert "<button" not in confirm.split("<main", 1)[1]
    response = client.post(org_url("org_license_revoke", license_id="LIC-1"), follow=True)
    assert "License LIC-1 was not revoked" in page_text(response)
    assert "only an owner may" in page_text(response)
    assert license_status("LIC-1") == "active"


def test_the_owner_revokes_a_license_after_a_confirmation_page(acme, licenses):
    client = logged_in(acme.owner)
    assert 'aria-label="Revoke license LIC-1"' in page_text(client.get(org_url("org_licenses")))
    assert GrantRecord.objects.filter(member=acme.member, state="open", target_id=COURSE).exists()
    confirm = client.get(org_url("org_license_revoke", license_id="LIC-1"))
    assert "Revoking cannot be undone" in page_text(confirm)
    assert license_status("LIC-1") == "active"  # opening the confirmation changes nothing
    response = client.post(org_url("org_license_revoke", license_id="LIC-1"), follow=True)
    assert "License LIC-1 is revoked" in page_text(response)
    assert license_status("LIC-1") == "revoked"
    assert not GrantRecord.objects.filter(member=acme.member, state="open", target_id=COURSE).exists()


def test_another_organizations_license_is_404(acme, globex, licenses):
    client = logged_in(globex.owner)
    assert client.post(org_url("org_license_take_back", "globex"), {"license": "LIC-1"}).status_code == 404
    assert client.post(org_url("org_license_revoke", "globex", license_id="LIC-1")).status_code == 404
    assert license_status("LIC-1") == "active"


# ---- transferring the ownership ----


def test_the_owner_transfers_the_ownership_and_stays_as_manager(acme):
    response = logged_in(acme.owner).post(
        org_url("org_ownership_transfer"), {"to_member": acme.manager.external_id, "confirm": "on"}, follow=True
    )
    assert "Max Manager &lt;manager@acme.test&gt; is now the owner of Acme Training" in page_text(response)
    assert roles() == {
        acme.owner.external_id: "manager",
        acme.manager.external_id: "owner",
        acme.member.external_id: "member",
    }


def test_the_transfer_needs_the_confirmation_box_ticked(acme):
    before = roles()
    response = logged_in(acme.owner).post(org_url("org_ownership_transfer"), {"to_member": acme.manager.external_id})
    assert response.status_code == 400
    page = page_text(response)
    assert 'id="id_confirm-errors"' in page and "Tick this box" in page
    assert 'aria-invalid="true"' in page
    assert roles() == before


def test_the_transfer_only_goes_to_someone_in_the_organization(acme, globex):
    before = roles()
    response = logged_in(acme.owner).post(
        org_url("org_ownership_transfer"), {"to_member": globex.member.external_id, "confirm": "on"}
    )
    assert response.status_code == 400
    assert 'id="id_to_member-errors"' in page_text(response)
    assert roles() == before
    assert roles("globex")[globex.member.external_id] == "member"


def test_a_manager_cannot_transfer_the_ownership(acme):
    before = roles()
    response = logged_in(acme.manager).post(
        org_url("org_ownership_transfer"), {"to_member": acme.manager.external_id, "confirm": "on"}
    )
    assert response.status_code == 400
    assert "only an owner may" in page_text(response)
    assert 'id="id_to_member-errors"' in page_text(response)
    assert roles() == before
