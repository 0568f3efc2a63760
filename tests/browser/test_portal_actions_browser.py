"""Running a team in a real browser with JavaScript off: a manager removes a person and cancels an invitation."""

from __future__ import annotations

import pytest

from membersync.actors import Actor
from membersync.orgs.models import Invitation, OrgRole, Seat
from membersync.orgs.services import invitation_create, seat_assign
from tests.browser.orgdata import FAST_HASHERS, SEAT_TYPE, org_with_people
from tests.browser.test_portal_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


def test_manager_removes_a_person_and_cancels_an_invitation(page, live_server, screenshots):
    acme = org_with_people("acme", seats=2)
    seat_assign(org_id="acme", member_id=acme.member.external_id, seat_type_id=SEAT_TYPE, actor=Actor.operator("admin"))
    invitation_create(
        org_id="acme",
        email="ada@example.com",
        first_name="Ada",
        hold_seat_type_id=SEAT_TYPE,
        actor=Actor.operator("admin"),
    )
    log_in(page, live_server, acme.manager.email)
    page.get_by_role("link", name="People", exact=True).click()
    page.screenshot(path=str(screenshots / "people-actions.png"), full_page=True)

    people = page.get_by_role("table", name="people in Acme Training")
    assert people.get_by_role("rowheader", name="Mia Member").is_visible()
    owner_row = people.get_by_role("row", name="Olive Owner")
    assert owner_row.get_by_role("button").count() == 0  # a manager is offered nothing on the owner

    people.get_by_role("button", name="Remove Mia Member from Acme Training").click()
    assert page.get_by_text("Mia Member <member@acme.test> was removed from Acme Training").is_visible()
    people = page.get_by_role("table", name="people in Acme Training")
    assert people.get_by_role("rowheader", name="Mia Member").count() == 0
    assert not OrgRole.objects.filter(member=acme.member).exists()
    assert not Seat.objects.filter(holder__isnull=False).exists()

    invitations = page.get_by_role("table", name="Pending invitations")
    assert invitations.get_by_role("rowheader", name="ada@example.com").is_visible()
    invitations.get_by_role("button", name="Cancel the invitation of ada@example.com").click()
    assert page.get_by_text("The invitation of ada@example.com is cancelled").is_visible()
    assert page.get_by_text("No pending invitations.").is_visible()
    assert Invitation.objects.get(email="ada@example.com").status == Invitation.CANCELLED
    assert not Seat.objects.filter(invitation__isnull=False).exists()
    page.screenshot(path=str(screenshots / "people-after-actions.png"), full_page=True)

    page.get_by_role("link", name="Seats", exact=True).click()
    assert "2 Standard seats free" in " ".join(page.locator(".stats").inner_text().split())


def test_owner_transfers_the_ownership_only_once_the_box_is_ticked(page, live_server, screenshots):
    acme = org_with_people("acme", seats=0)
    log_in(page, live_server, acme.owner.email)
    page.get_by_role("link", name="People", exact=True).click()
    transfer = page.get_by_role("form", name="Transfer the ownership")
    transfer.get_by_label("New owner", exact=True).select_option(acme.manager.external_id)
    transfer.get_by_role("button", name="Transfer the ownership").click()
    confirm = transfer.get_by_role("checkbox", name="I understand")
    assert confirm.get_attribute("aria-invalid") == "true"
    assert page.locator("#" + confirm.get_attribute("aria-describedby")).inner_text().startswith("Tick this box")
    assert OrgRole.objects.get(member=acme.owner).role == "owner"
    page.screenshot(path=str(screenshots / "people-owner.png"), full_page=True)

    assert transfer.get_by_label("New owner", exact=True).input_value() == acme.manager.external_id
    confirm.check()
    transfer.get_by_role("button", name="Transfer the ownership").click()
    assert page.get_by_text("Max Manager <manager@acme.test> is now the owner of Acme Training").is_visible()
    assert OrgRole.objects.get(member=acme.manager).role == "owner"
    assert OrgRole.objects.get(member=acme.owner).role == "manager"
    assert page.get_by_role("form", name="Transfer the ownership").count() == 0
