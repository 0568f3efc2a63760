"""The portal in a real browser, with JavaScript off: the pages must work without it."""

from __future__ import annotations

import re

import pytest

from membersync.orgs.models import Invitation, Seat
from tests.browser.orgdata import FAST_HASHERS, PASSWORD, org_with_people

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


def log_in(page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/portal/login/")
    page.get_by_label("Email or username").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_manager_assigns_a_seat_and_imports_a_csv_with_good_and_bad_rows(page, live_server, tmp_path, screenshots):
    acme = org_with_people("acme", seats=3)
    log_in(page, live_server, acme.manager.email)
    assert page.url == f"{live_server.url}/portal/orgs/acme/"
    assert page.get_by_role("heading", name="Acme Training").is_visible()

    page.get_by_role("link", name="Seats", exact=True).click()
    assign = page.get_by_role("form", name="Assign a seat")
    assign.get_by_label("Person").select_option(acme.member.external_id)
    assign.get_by_label("Seat type").select_option("standard")
    assign.get_by_role("button", name="Assign seat").click()
    assert page.get_by_text("Seat assigned to Mia Member").is_visible()
    holders = page.locator("table").last
    assert holders.get_by_role("rowheader", name="Mia Member").is_visible()
    assert Seat.objects.filter(holder=acme.member).count() == 1

    people_csv = tmp_path / "people.csv"
    people_csv.write_text(
        "email,first_name,last_name,role\n"
        "ada@example.com,Ada,Lovelace,member\n"
        "not-an-email,Bad,Address,member\n"
        "grace@example.com,Grace,Hopper,manager\n"
        "ada@example.com,Ada,Again,member\n"
        "linus@example.com,Linus,T,wizard\n"
    )
    page.get_by_role("link", name="Import CSV").click()
    page.get_by_label("CSV file").set_input_files(str(people_csv))
    page.get_by_role("button", name="Preview the import").click()
    assert "Preview: nothing is done yet" in page.content() and not Invitation.objects.exists()
    page.get_by_role("button", name="Import these rows").click()
    summary = page.locator("#import-summary")
    assert re.search(r"2\s+rows done \(2 invited\),\s+3\s+refused", summary.inner_text())
    report = page.locator("#import-report tbody tr")
    assert report.count() == 5
    assert report.nth(0).inner_text().split("\t")[:3] == ["2", "ada@example.com", "invited"]
    assert "not a valid email address" in report.nth(1).inner_text()
    assert "duplicate row" in report.nth(3).inner_text()
    assert "unknown role 'wizard'" in report.nth(4).inner_text()
    assert sorted(Invitation.objects.values_list("email", flat=True)) == ["ada@example.com", "grace@example.com"]

    page.get_by_role("link", name="Dashboard").click()
    assert page.locator("svg .chart-value", has_text="1 used, 0 held, 2 free").is_visible()
    seats_row = page.get_by_role("row", name=re.compile("^Standard"))
    assert seats_row.inner_text().split("\t") == ["Standard", "1", "0", "2", "3"]
    page.screenshot(path=str(screenshots / "dashboard.png"), full_page=True)


def test_a_manager_of_one_organization_cannot_open_anothers_pages(page, live_server):
    org_with_people("acme")
    globex = org_with_people("globex", name="Globex Learning")
    log_in(page, live_server, globex.manager.email)
    assert page.url == f"{live_server.url}/portal/orgs/globex/"
    for path in ("", "people/", "seats/", "licenses/", "people/import/", "people/export.csv"):
        response = page.goto(f"{live_server.url}/portal/orgs/acme/{path}")
        assert response.status in (403, 404), path
        assert "Acme Training" not in page.content()
