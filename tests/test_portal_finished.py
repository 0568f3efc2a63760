"""The portal, finished: people search and pages, resending an invitation, the import's preview, seats given on
import, the report as CSV, the template, the export's seats, licenses and courses, sensible form defaults, branded
error pages and a clean licenses tab title."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from membersync.actors import Actor
from membersync.errors import ServiceError
from membersync.orgs.models import Invitation, Organization, Seat
from membersync.orgs.services import invitation_create, seat_assign
from membersync.portal.csv_people import people_csv_parse
from membersync.portal.services import invitation_resend, people_import
from tests.browser.orgdata import FAST_HASHERS, PASSWORD, org_with_people

HEADER = "email,first_name,last_name,role,seat_type\n"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def acme(db):
    return org_with_people("acme", seats=2)


@pytest.fixture
def manager(acme):
    client = Client()
    client.login(username=acme.manager.email, password=PASSWORD)
    return client


def url(name, **kwargs):
    return reverse(f"portal:{name}", kwargs={"org_id": "acme", **kwargs})


def preview(client, text):
    file = SimpleUploadedFile("people.csv", text.encode(), content_type="text/csv")
    return client.post(url("org_import"), {"file": file}, follow=True)


# ---- people: search, pages ----


def test_people_search_finds_by_name_or_email_and_says_when_nobody_matches(manager):
    page = manager.get(url("org_people"), {"q": "mia"}).content.decode()
    assert "1 of 3 people match" in page and "member@acme.test" in page and "owner@acme.test" not in page
    assert "Nobody matches" in manager.get(url("org_people"), {"q": "zzz"}).content.decode()


def test_people_are_shown_fifty_to_a_page(manager, acme):
    from membersync.orgs.services import org_member_set

    for n in range(60):
        org_member_set(org_id="acme", member_id=f"p{n:02d}", role="member", actor=Actor.operator("admin"))
    first = manager.get(url("org_people")).content.decode()
    assert "page 1 of 2" in first and "Next →" in first
    assert "page 2 of 2" in manager.get(url("org_people"), {"page": 2}).content.decode()


# ---- resending an invitation ----


def invite(email="new@example.com"):
    return invitation_create(
        org_id="acme", email=email, role="member", actor=Actor.member("acme-manager"), source="portal"
    ).value


def test_resend_gives_a_new_link_and_expiry_and_the_old_link_stops_working(manager, mailoutbox, set_clock):
    invitation = invite()
    old_hash = Invitation.objects.get(pk=invitation.pk).token_hash
    response = manager.post(url("org_invitation_resend"), {"invitation": invitation.pk}, follow=True)
    assert "sent again to new@example.com" in response.content.decode()
    (mail,) = mailoutbox
    assert mail.to == ["new@example.com"] and "/portal/invitations/" in mail.body
    assert Invitation.objects.get(pk=invitation.pk).token_hash != old_hash
    assert manager.get(f"/portal/invitations/{invitation.token}/").status_code == 404


def test_resend_refuses_an_invitation_of_another_organization_or_not_pending_and_changes_nothing(acme, db):
    invitation = invite()
    other = org_with_people("globex")
    before = Invitation.objects.get(pk=invitation.pk).token_hash
    with pytest.raises(ServiceError) as refused:
        invitation_resend(
            org=Organization.objects.get(external_id=other.org_id),
            invitation_id=invitation.pk,
            actor=Actor.member("globex-manager"),
        )
    assert (refused.value.code, refused.value.field) == ("not_found", "invitation")
    Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.CANCELLED)
    with pytest.raises(ServiceError) as refused:
        invitation_resend(
            org=Organization.objects.get(external_id="acme"),
            invitation_id=invitation.pk,
            actor=Actor.member("acme-manager"),
        )
    assert (refused.value.code, refused.value.field) == ("invalid_value", "invitation")
    assert Invitation.objects.get(pk=invitation.pk).token_hash == before


def test_a_plain_member_cannot_resend(acme):
    invitation = invite()
    with pytest.raises(ServiceError) as refused:
        invitation_resend(
            org=Organization.objects.get(external_id="acme"),
            invitation_id=invitation.pk,
            actor=Actor.member("acme-member"),
        )
    assert refused.value.code == "forbidden"


# ---- the import: preview, seats, report ----


def test_the_preview_says_what_the_import_will_do_and_does_nothing(manager, mailoutbox):
    page = preview(manager, HEADER + "ada@example.com,Ada,L,member,\nbad,B,C,member,\n").content.decode()
    assert "Preview: nothing is done yet" in page and "<strong>1</strong> row done (1 invited)" in page
    assert not Invitation.objects.exists() and mailoutbox == []
    done = manager.post(url("org_import"), {"confirm": "1"}, follow=True).content.decode()
    assert "Import report" in done and Invitation.objects.get().email == "ada@example.com"
    assert [m.to for m in mailoutbox] == [["ada@example.com"]]


def test_confirming_without_a_previewed_file_imports_nothing(manager):
    page = manager.post(url("org_import"), {"confirm": "1"}, follow=True).content.decode()
    assert "Nothing to import" in page and not Invitation.objects.exists()


def test_seats_are_given_on_import_until_none_is_free_and_a_refused_row_changes_nothing(acme, manager):
    text = (
        HEADER + f"{acme.member.email},Mia,Member,member,standard\n"
        "ada@example.com,Ada,L,member,standard\n"
        "bob@example.com,Bob,B,member,standard\n"
        "cy@example.com,Cy,C,member,gold\n"
    )
    preview(manager, text)
    page = manager.post(url("org_import"), {"confirm": "1"}, follow=True).content.decode()
    assert "given a Standard seat" in page and "a Standard seat is held for them" in page
    assert "no free Standard seat left for this row" in page and "unknown seat type &#x27;gold&#x27;" in page
    assert Seat.objects.filter(holder=acme.member).count() == 1
    assert Invitation.objects.get().email == "ada@example.com"
    assert Seat.objects.get(invitation__isnull=False).invitation.email == "ada@example.com"


def test_the_service_gives_no_second_seat_of_a_type_already_held(acme):
    seat_assign(org_id="acme", member_id=acme.member.external_id, seat_type_id="standard", actor=Actor.operator("a"))
    parsed = people_csv_parse(HEADER + f"{acme.member.email},Mia,Member,member,standard\n")
    report = people_import(
        org=Organization.objects.get(external_id="acme"), parsed=parsed, actor=Actor.member("acme-manager")
    )
    assert report.rows[0].detail.endswith("already holds a Standard seat")
    assert Seat.objects.filter(holder=acme.member).count() == 1


def test_the_report_downloads_as_csv_and_the_template_imports_as_is(manager):
    template = manager.get(url("org_import_template"))
    assert template["Content-Disposition"] == 'attachment; filename="people-template.csv"'
    assert people_csv_parse(template.content).rows[0].email == "ada@example.com"
    assert manager.get(url("org_import_report")).status_code == 404
    preview(manager, template.content.decode())
    report = manager.get(url("org_import_report"))
    assert list(csv.reader(io.StringIO(report.content.decode()))) == [
        ["row", "email", "result", "why"],
        ["2", "ada@example.com", "invited", "invited as member"],
    ]


def test_a_long_report_is_paged(manager):
    rows = "".join(f"p{n}@example.com,P,{n},member,\n" for n in range(150))
    page = preview(manager, HEADER + rows).content.decode()
    assert "Rows 1–100 of 150" in page
    assert "Rows 101–150 of 150" in manager.get(url("org_import"), {"page": 2}).content.decode()


# ---- export, defaults, pages ----


def test_the_export_has_each_persons_seats_licenses_and_courses(acme, manager):
    seat_assign(org_id="acme", member_id=acme.member.external_id, seat_type_id="standard", actor=Actor.operator("a"))
    rows = list(csv.DictReader(io.StringIO(manager.get(url("org_export")).content.decode())))
    mia = next(r for r in rows if r["email"] == acme.member.email)
    assert (mia["seat_types"], mia["courses"]) == ("Standard", "Workplace Safety 101")
    assert "licenses" in mia


def test_the_seat_form_offers_a_free_seat_to_someone_without_one(acme, manager):
    seat_assign(org_id="acme", member_id=acme.owner.external_id, seat_type_id="standard", actor=Actor.operator("a"))
    form = manager.get(url("org_seats")).context["assign_form"]
    assert form.initial["member"] != acme.owner.external_id and form.initial["seat_type"] == "standard"


def test_the_licenses_tab_title_is_plain_text(manager):
    page = manager.get(url("org_licenses")).content.decode()
    title = page.split("<title>", 1)[1].split("</title>", 1)[0]
    assert title == "Acme Training licenses · MemberSync"


def test_missing_and_forbidden_pages_are_branded(acme, db):
    member = Client()
    member.login(username=acme.member.email, password=PASSWORD)
    missing = member.get("/portal/orgs/nowhere/")
    assert missing.status_code == 404 and b"This page does not exist" in missing.content
    forbidden = member.get(url("org_people"))
    assert forbidden.status_code == 403 and b"You cannot open this page" in forbidden.content
    assert b"owners and managers" in forbidden.content
