"""The finished portal in a real browser (JavaScript off): a 390 px phone, the import's preview, resending."""

from __future__ import annotations

import pytest

from membersync.actors import Actor
from membersync.orgs.models import Invitation
from membersync.orgs.services import invitation_create, org_member_set
from tests.browser.orgdata import FAST_HASHERS, PASSWORD, org_with_people

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


def log_in(page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/portal/login/")
    page.get_by_label("Email or username").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_on_a_390_px_phone_the_page_never_scrolls_sideways_and_tables_scroll_in_their_box(
    browser, live_server, screenshots
):
    acme = org_with_people("acme")
    for n in range(5):
        org_member_set(
            org_id="acme", member_id=f"someone-with-a-long-id-{n}", role="member", actor=Actor.operator("admin")
        )
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, is_mobile=True)
    page = context.new_page()
    try:
        log_in(page, live_server, acme.manager.email)
        for path in ("", "people/", "seats/", "licenses/", "people/import/"):
            page.goto(f"{live_server.url}/portal/orgs/acme/{path}")
            for selector in ("header.top", "nav.orgnav", "main"):
                box = page.locator(selector).bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, (path, selector)
            for box in (b.bounding_box() for b in page.locator(".table-scroll").all()):
                assert box["x"] + box["width"] <= PHONE["width"] + 0.5, path
        page.goto(f"{live_server.url}/portal/orgs/acme/people/")
        table = page.locator("table.people").bounding_box()
        holder = page.locator(".table-scroll", has=page.locator("table.people")).bounding_box()
        assert table["width"] > holder["width"]  # wider than the phone: it scrolls inside its box
        page.screenshot(path=str(screenshots / "people-390px.png"), full_page=True)
    finally:
        context.close()


def test_the_import_shows_a_preview_first_and_imports_only_when_confirmed(page, live_server, tmp_path, mailoutbox):
    acme = org_with_people("acme", seats=1)
    people_csv = tmp_path / "people.csv"
    people_csv.write_text(
        "email,first_name,last_name,role,seat_type\n"
        "ada@example.com,Ada,Lovelace,member,standard\n"
        "grace@example.com,Grace,Hopper,manager,standard\n"
    )
    log_in(page, live_server, acme.manager.email)
    page.goto(f"{live_server.url}/portal/orgs/acme/people/import/")
    page.get_by_label("CSV file").set_input_files(str(people_csv))
    page.get_by_role("button", name="Preview the import").click()
    assert page.get_by_role("heading", name="Preview: nothing is done yet").is_visible()
    rows = page.locator("#import-report tbody tr")
    assert "a Standard seat is held for them" in rows.nth(0).inner_text()
    assert "no free Standard seat left" in rows.nth(1).inner_text()
    assert not Invitation.objects.exists() and mailoutbox == []
    page.get_by_role("button", name="Import these rows").click()
    assert page.get_by_role("heading", name="Import report").is_visible()
    assert list(Invitation.objects.values_list("email", flat=True)) == ["ada@example.com"]
    assert [m.to for m in mailoutbox] == [["ada@example.com"]]


def test_a_manager_resends_an_invitation_and_the_new_link_works(page, live_server, mailoutbox):
    acme = org_with_people("acme")
    invitation_create(
        org_id="acme", email="new@example.com", role="member", actor=Actor.member(acme.manager.external_id)
    )
    log_in(page, live_server, acme.manager.email)
    page.goto(f"{live_server.url}/portal/orgs/acme/people/")
    page.get_by_role("button", name="Resend the invitation of new@example.com").click()
    assert page.get_by_text("sent again to new@example.com").is_visible()
    (mail,) = mailoutbox
    link = next(line for line in mail.body.splitlines() if "/portal/invitations/" in line)
    page.goto(link.replace("http://testserver", live_server.url))
    assert "invited" in page.content().lower() and page.get_by_role("button").count() >= 1
