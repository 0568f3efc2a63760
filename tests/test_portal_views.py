"""The portal through Django's test client: who may open which page, and what each form does."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from membersync import clock
from membersync.actors import Actor
from membersync.catalog.services import license_type_create
from membersync.orgs.models import Invitation, OrgRole, Seat
from membersync.orgs.services import license_issue, seat_assign
from tests.browser.orgdata import FAST_HASHERS, PASSWORD, SEAT_TYPE, org_with_people

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


def org_url(name: str, org_id: str) -> str:
    return reverse(f"portal:{name}", kwargs={"org_id": org_id})


ORG_PAGES = ["org_dashboard", "org_people", "org_seats", "org_licenses", "org_import", "org_export"]
ORG_POSTS = ["org_invite", "org_seat_assign", "org_seat_release", "org_seat_move", "org_license_assign", "org_import"]


def test_login_page_has_labelled_fields_and_csrf_token(client):
    page = client.get(reverse("portal:login")).content.decode()
    assert '<label for="id_username">Email or username' in page
    assert '<label for="id_password">Password' in page
    assert "csrfmiddlewaretoken" in page


def test_manager_logs_in_with_password_and_lands_on_their_dashboard(client, acme):
    response = client.post(
        reverse("portal:login"), {"username": "manager@acme.test", "password": PASSWORD}, follow=True
    )
    assert response.redirect_chain[-1][0] == org_url("org_dashboard", "acme")
    assert "Acme Training" in response.content.decode()


def test_wrong_password_is_refused_with_a_message(client, acme):
    response = client.post(reverse("portal:login"), {"username": "manager@acme.test", "password": "nope"})
    assert response.status_code == 200
    assert "enter a correct" in response.content.decode().lower()
    assert "_auth_user_id" not in client.session


def test_anonymous_visitors_are_sent_to_login(client, acme):
    response = client.get(org_url("org_dashboard", "acme"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:login"))


@pytest.mark.parametrize("page", ORG_PAGES)
def test_owner_and_manager_open_every_page_of_their_organization(acme, page):
    for person in (acme.owner, acme.manager):
        assert logged_in(person).get(org_url(page, "acme")).status_code == 200


@pytest.mark.parametrize("page", ORG_PAGES)
def test_a_manager_of_another_organization_gets_404(acme, globex, page):
    assert logged_in(globex.manager).get(org_url(page, "acme")).status_code == 404


@pytest.mark.parametrize("page", ORG_POSTS)
def test_a_manager_of_another_organization_cannot_post_either(acme, globex, page):
    client = logged_in(globex.manager)
    response = client.post(org_url(page, "acme"), {"member": acme.member.external_id, "seat_type": SEAT_TYPE})
    assert response.status_code == 404
    assert not Seat.objects.filter(holder__isnull=False).exists()


@pytest.mark.parametrize("page", ORG_PAGES)
def test_a_plain_member_gets_403(acme, page):
    assert logged_in(acme.member).get(org_url(page, "acme")).status_code == 403


def test_an_unknown_organization_is_404(acme):
    assert logged_in(acme.manager).get(org_url("org_dashboard", "nope")).status_code == 404


def test_posts_without_csrf_token_are_refused(acme):
    client = Client(enforce_csrf_checks=True)
    client.login(username=acme.manager.email, password=PASSWORD)
    response = client.post(
        org_url("org_seat_assign", "acme"), {"member": acme.member.external_id, "seat_type": SEAT_TYPE}
    )
    assert response.status_code == 403
    assert not Seat.objects.filter(holder__isnull=False).exists()


def test_dashboard_shows_seats_used_and_free_and_draws_a_chart(acme):
    seat_assign(org_id="acme", member_id=acme.member.external_id, seat_type_id=SEAT_TYPE, actor=Actor.operator("admin"))
    page = logged_in(acme.manager).get(org_url("org_dashboard", "acme")).content.decode()
    assert "<svg" in page and 'role="img"' in page
    assert "1 used, 0 held, 1 free" in page
    assert "Workplace Safety 101" in page  # the course the seat grants appears in the access chart
    assert "1 of 3 can open" in page


def test_manager_assigns_a_seat_and_the_person_gets_the_course(acme):
    client = logged_in(acme.manager)
    response = client.post(
        org_url("org_seat_assign", "acme"), {"member": acme.member.external_id, "seat_type": SEAT_TYPE}, follow=True
    )
    assert "Seat assigned to Mia Member" in response.content.decode()
    assert Seat.objects.get(holder=acme.member).seat_type.external_id == SEAT_TYPE
    people = client.get(org_url("org_people", "acme")).content.decode()
    assert "Workplace Safety 101" in people


def test_assigning_with_no_free_seat_says_so_beside_the_form(acme):
    client = logged_in(acme.manager)
    for who in (acme.member, acme.owner):
        seat_assign(org_id="acme", member_id=who.external_id, seat_type_id=SEAT_TYPE, actor=Actor.operator("admin"))
    response = client.post(
        org_url("org_seat_assign", "acme"), {"member": acme.manager.external_id, "seat_type": SEAT_TYPE}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "has no free" in page
    assert 'aria-invalid="true"' in page
    assert not Seat.objects.filter(holder=acme.manager).exists()


def test_a_manager_cannot_give_the_owner_a_seat(acme):
    response = logged_in(acme.manager).post(
        org_url("org_seat_assign", "acme"), {"member": acme.owner.external_id, "seat_type": SEAT_TYPE}
    )
    assert response.status_code == 400
    assert "a manager cannot act on an owner" in response.content.decode()
    assert not Seat.objects.filter(holder=acme.owner).exists()


def test_manager_releases_and_moves_seats(acme):
    client = logged_in(acme.manager)
    seat_assign(org_id="acme", member_id=acme.member.external_id, seat_type_id=SEAT_TYPE, actor=Actor.operator("admin"))
    client.post(
        org_url("org_seat_move", "acme"),
        {
            "move-from_member": acme.member.external_id,
            "move-to_member": acme.manager.external_id,
            "move-seat_type": SEAT_TYPE,
        },
    )
    assert list(Seat.objects.filter(holder__isnull=False).values_list("holder", flat=True)) == [acme.manager.pk]
    client.post(org_url("org_seat_release", "acme"), {"member": acme.manager.external_id, "seat_type": SEAT_TYPE})
    assert not Seat.objects.filter(holder__isnull=False).exists()


def test_a_manager_cannot_release_the_owners_seat(acme):
    seat_assign(org_id="acme", member_id=acme.owner.external_id, seat_type_id=SEAT_TYPE, actor=Actor.operator("admin"))
    response = logged_in(acme.manager).post(
        org_url("org_seat_release", "acme"), {"member": acme.owner.external_id, "seat_type": SEAT_TYPE}, follow=True
    )
    assert "was not released" in response.content.decode()
    assert Seat.objects.filter(holder=acme.owner).exists()


def test_moving_a_seat_to_the_same_person_is_refused_on_the_field(acme):
    seat_assign(org_id="acme", member_id=acme.member.external_id, seat_type_id=SEAT_TYPE, actor=Actor.operator("admin"))
    response = logged_in(acme.manager).post(
        org_url("org_seat_move", "acme"),
        {
            "move-from_member": acme.member.external_id,
            "move-to_member": acme.member.external_id,
            "move-seat_type": SEAT_TYPE,
        },
    )
    assert response.status_code == 400
    assert 'id="id_move-to_member-errors"' in response.content.decode()


def invite(client, email="newbie@example.com", **extra):
    return client.post(
        org_url("org_invite", "acme"),
        {"email": email, "first_name": "Nina", "last_name": "Newbie", "role": "member", **extra},
        follow=True,
    )


def accept_link(message) -> str:
    return re.search(r"https?://\S+/portal/invitations/\S+/", message.body).group(0)


def join(client, path, data, **kwargs):
    """Submit the invitation page's form: it POSTs the link's token in the body to a URL without it."""
    token = path.rstrip("/").rsplit("/", 1)[1]
    return client.post(reverse("portal:invitation_join"), {"token": token, **data}, **kwargs)


def test_invitation_email_lets_the_new_person_set_a_password_once(acme, mailoutbox):
    invite(logged_in(acme.manager), hold_seat_type=SEAT_TYPE)
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["newbie@example.com"]
    path = accept_link(mailoutbox[0]).split("testserver", 1)[1]
    visitor = Client()
    form = visitor.get(path).content.decode()
    assert "Join Acme Training" in form
    response = join(visitor, path, {"password1": "a-long-new-secret", "password2": "a-long-new-secret"}, follow=True)
    assert "You joined Acme Training" in response.content.decode()
    assert OrgRole.objects.get(member__email="newbie@example.com").role == "member"
    assert Seat.objects.get(holder__email="newbie@example.com").seat_type.external_id == SEAT_TYPE
    assert Client().login(username="newbie@example.com", password="a-long-new-secret")

    again = join(Client(), path, {"password1": "another-secret-1", "password2": "another-secret-1"})
    assert again.status_code == 410
    assert "already used" in again.content.decode()


def test_mismatched_or_weak_passwords_are_refused_beside_the_field(acme, mailoutbox):
    invite(logged_in(acme.manager))
    path = accept_link(mailoutbox[0]).split("testserver", 1)[1]
    response = join(Client(), path, {"password1": "password", "password2": "password"})
    assert response.status_code == 400
    assert "too common" in response.content.decode()
    response = join(Client(), path, {"password1": "a-long-new-secret", "password2": "different-secret"})
    assert "The two passwords differ" in response.content.decode()
    assert Invitation.objects.get().status == Invitation.PENDING


def test_an_expired_invitation_says_so(acme, mailoutbox, set_clock):
    invite(logged_in(acme.manager))
    path = accept_link(mailoutbox[0]).split("testserver", 1)[1]
    set_clock(clock.now() + timedelta(days=15))
    response = Client().get(path)
    assert response.status_code == 410
    assert "expired" in response.content.decode()
    response = join(Client(), path, {"password1": "a-long-new-secret", "password2": "a-long-new-secret"})
    assert response.status_code == 410
    assert not OrgRole.objects.filter(member__email="newbie@example.com").exists()


def test_an_unknown_invitation_token_is_a_clear_404():
    response = Client().get(reverse("portal:invitation_accept", args=["no-such-token"]))
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_inviting_someone_already_in_the_organization_is_refused_on_the_email_field(acme, mailoutbox):
    response = invite(logged_in(acme.manager), email="member@acme.test")
    assert response.status_code == 400
    assert 'id="id_email-errors"' in response.content.decode()
    assert "already in organization" in response.content.decode()
    assert mailoutbox == []


def test_inviting_a_bad_email_is_refused_by_the_form(acme):
    response = invite(logged_in(acme.manager), email="not-an-email")
    assert response.status_code == 400
    assert "Enter a valid email address" in response.content.decode()
    assert not Invitation.objects.exists()


def test_licenses_page_shows_status_and_manager_assigns_one(acme):
    license_type_create(external_id="pro", name="Pro library", length="1 year")
    license_issue(license_id="LIC", type_id="pro", owner_org_id="acme", quantity=2, actor=Actor.operator("admin"))
    client = logged_in(acme.manager)
    page = client.get(org_url("org_licenses", "acme")).content.decode()
    assert "LIC-1" in page and "available" in page
    client.post(org_url("org_license_assign", "acme"), {"license": "LIC-1", "to": acme.member.external_id})
    page = client.get(org_url("org_licenses", "acme")).content.decode()
    assert re.search(r"LIC-1</th>.*?active.*?Mia Member", page, re.S)


def test_home_lists_organizations_for_someone_in_several(acme, globex):
    from membersync.orgs.services import org_member_set

    org_member_set(org_id="globex", member_id=acme.manager.external_id, role="member", actor=Actor.operator("admin"))
    page = logged_in(acme.manager).get(reverse("portal:home")).content.decode()
    assert "Acme Training" in page and "Globex Learning" in page


def test_logout_is_a_post_and_ends_the_session(acme):
    client = logged_in(acme.manager)
    response = client.post(reverse("portal:logout"))
    assert response.status_code == 302 and response["Location"] == reverse("portal:login")
    assert client.get(org_url("org_dashboard", "acme")).status_code == 302
