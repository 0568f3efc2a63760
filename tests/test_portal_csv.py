"""Importing and exporting people as CSV: every row is reported, refused rows change nothing."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from membersync.actors import Actor
from membersync.orgs.models import Invitation, OrgRole
from membersync.portal.csv_people import people_csv_parse
from membersync.portal.services import people_import
from tests.browser.orgdata import FAST_HASHERS, PASSWORD, org_with_people

HEADER = "email,first_name,last_name,role\n"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


def upload(client: Client, org_id: str, text: str | bytes, *, confirm: bool = True):
    """Upload the file (a preview), then import it as previewed: the page after the import, or the refusal."""
    data = text.encode() if isinstance(text, str) else text
    url = reverse("portal:org_import", kwargs={"org_id": org_id})
    preview = client.post(url, {"file": SimpleUploadedFile("people.csv", data, content_type="text/csv")})
    if preview.status_code != 302 or not confirm:
        return preview
    return client.post(url, {"confirm": "1"}, follow=True)


@pytest.fixture
def manager_client(db):
    acme = org_with_people("acme")
    client = Client()
    client.login(username=acme.manager.email, password=PASSWORD)
    client.acme = acme
    return client


# ---- reading the file ----


def test_a_missing_column_refuses_the_whole_file_and_names_it():
    parsed = people_csv_parse("email,first_name,role\na@example.com,Ann,member\n")
    assert parsed.file_error.startswith("Missing column last_name")
    assert parsed.rows == []


def test_headers_are_matched_whatever_their_case_order_spacing_or_byte_order_mark():
    parsed = people_csv_parse("\ufeff Role ,LAST_NAME,Email,First_Name,notes\nManager,Lee,Ann@Example.com,Ann,hi\n")
    assert parsed.file_error is None
    (row,) = parsed.rows
    assert (row.email, row.first_name, row.last_name, row.role, row.row) == (
        "ann@example.com",
        "Ann",
        "Lee",
        "manager",
        2,
    )


def test_bad_rows_are_refused_one_by_one_with_their_reason():
    parsed = people_csv_parse(
        HEADER
        + "good@example.com,Good,Person,member\n"
        + "not-an-email,Bad,Email,member\n"
        + "GOOD@example.com,Dup,Licate,manager\n"
        + "role@example.com,Odd,Role,admin\n"
        + "boss@example.com,Big,Boss,owner\n"
        + ",No,Email,member\n"
        + "\n"
        + "blank-role@example.com,Blank,Role,\n"
    )
    refused = {r.row: r.reason for r in parsed.refused}
    assert "not a valid email address" in refused[3]
    assert "duplicate row" in refused[4] and "row 2" in refused[4]
    assert "unknown role 'admin'" in refused[5]
    assert refused[7] == "email is empty"
    assert [(r.row, r.role) for r in parsed.rows] == [(2, "member"), (6, "owner"), (9, "member")]


def test_short_rows_read_missing_cells_as_empty():
    parsed = people_csv_parse(HEADER + "short@example.com,Sam\n")
    assert parsed.rows[0].last_name == "" and parsed.rows[0].role == "member"


def test_a_file_that_is_not_utf8_or_is_empty_is_refused():
    assert "not UTF-8" in people_csv_parse(b"email,first_name,last_name,role\n\xff\xfe\xfa,x,y,member\n").file_error
    assert "empty" in people_csv_parse(b"").file_error


@given(st.lists(st.sampled_from(["a@x.io", "b@x.io", "bad", "c@x.io", "A@X.IO"]), max_size=12))
def test_every_data_row_is_either_accepted_or_refused_and_each_email_is_accepted_at_most_once(emails):
    parsed = people_csv_parse(HEADER + "".join(f"{e},F,L,member\n" for e in emails))
    assert len(parsed.rows) + len(parsed.refused) == len(emails)
    accepted = [r.email for r in parsed.rows]
    assert len(accepted) == len(set(accepted))


# ---- importing ----


def test_import_invites_good_rows_and_reports_refused_ones_without_changing_anything_for_them(
    manager_client, mailoutbox
):
    response = upload(
        manager_client,
        "acme",
        HEADER + "new1@example.com,New,One,member\nbroken-email,Bad,Row,member\nnew2@example.com,New,Two,manager\n"
        "new1@example.com,Again,One,member\nnew3@example.com,Odd,Role,superuser\n",
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "<strong>2</strong> rows done (2 invited), <strong>3</strong> refused" in page
    assert "not a valid email address" in page and "duplicate row" in page and "unknown role" in page
    assert sorted(Invitation.objects.values_list("email", "role")) == [
        ("new1@example.com", "member"),
        ("new2@example.com", "manager"),
    ]
    assert sorted(m.to[0] for m in mailoutbox) == ["new1@example.com", "new2@example.com"]
    assert "/portal/invitations/" in mailoutbox[0].body


def test_a_file_with_a_missing_column_imports_nothing_and_says_so_on_the_field(manager_client, mailoutbox):
    response = upload(manager_client, "acme", "email,first_name\nx@example.com,X\n")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="id_file-errors"' in page and "Missing columns last_name, role" in page
    assert not Invitation.objects.exists() and mailoutbox == []


def test_import_changes_roles_of_people_already_in_and_never_touches_the_owner_or_the_importer(manager_client):
    acme = manager_client.acme
    response = upload(
        manager_client,
        "acme",
        HEADER + f"{acme.member.email},Mia,Member,manager\n{acme.owner.email},Olive,Owner,member\n"
        f"{acme.manager.email},Max,Manager,member\n",
    )
    page = response.content.decode()
    assert "role changed from member to manager" in page
    assert "is the owner" in page and "you cannot change your own role" in page
    roles = dict(OrgRole.objects.values_list("member__external_id", "role"))
    assert roles == {"acme-owner": "owner", "acme-manager": "manager", "acme-member": "manager"}


def test_importing_the_same_file_twice_invites_once(manager_client, mailoutbox):
    text = HEADER + "again@example.com,A,Gain,member\n"
    upload(manager_client, "acme", text)
    page = upload(manager_client, "acme", text).content.decode()
    assert "already invited" in page
    assert Invitation.objects.count() == 1 and len(mailoutbox) == 1


def test_a_member_cannot_import(db):
    acme = org_with_people("acme")
    client = Client()
    client.login(username=acme.member.email, password=PASSWORD)
    assert upload(client, "acme", HEADER + "x@example.com,X,Y,member\n").status_code == 403
    assert not Invitation.objects.exists()


def test_the_service_refuses_a_member_actor_as_a_whole(db):
    from membersync.errors import ServiceError
    from membersync.orgs.models import Organization

    org_with_people("acme")
    parsed = people_csv_parse(HEADER + "x@example.com,X,Y,member\n")
    with pytest.raises(ServiceError) as refused:
        people_import(org=Organization.objects.get(), parsed=parsed, actor=Actor.member("acme-member"))
    assert refused.value.code == "forbidden"
    assert not Invitation.objects.exists()


# ---- exporting ----


def test_export_lists_people_and_pending_invitations_and_imports_back_unchanged(manager_client, mailoutbox):
    upload(manager_client, "acme", HEADER + "=cmd@example.com,=SUM(A1),Lee,member\n")
    response = manager_client.get(reverse("portal:org_export", kwargs={"org_id": "acme"}))
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="acme-people.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert {(r["email"], r["role"], r["status"]) for r in rows} == {
        ("owner@acme.test", "owner", "joined"),
        ("manager@acme.test", "manager", "joined"),
        ("member@acme.test", "member", "joined"),
        ("'=cmd@example.com", "member", "invited"),  # a spreadsheet must not run it as a formula
    }
    assert next(r for r in rows if r["status"] == "invited")["first_name"] == "'=SUM(A1)"
    mailoutbox.clear()
    again = upload(manager_client, "acme", response.content).content.decode()
    assert "<strong>4</strong> rows done (0 invited), <strong>0</strong> refused" in again
    assert mailoutbox == [] and Invitation.objects.count() == 1


def test_owner_rows_are_never_imported(manager_client):
    page = upload(manager_client, "acme", HEADER + "boss@example.com,Big,Boss,owner\n").content.decode()
    assert "ownership is transferred by the owner, not imported" in page
    assert not Invitation.objects.exists()
