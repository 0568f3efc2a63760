"""In Chromium: a new person opens an invitation link, chooses a password and joins (JavaScript off), the used link
then opens nothing; and neither the portal nor the admin (JavaScript on) trips the Content-Security-Policy."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from membersync.actors import Actor
from membersync.orgs.models import Invitation
from membersync.orgs.services import invitation_create
from tests.browser.orgdata import FAST_HASHERS, PASSWORD, org_with_people

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


def _csp_violations(page) -> list[str]:
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text) if "Content Security Policy" in message.text else None)
    return seen


def test_a_new_person_joins_from_the_link_and_the_used_link_then_opens_nothing(page, live_server, screenshots):
    org_with_people("acme", seats=2)
    invitation = invitation_create(org_id="acme", email="ada@example.com", actor=Actor.system("test"), source="admin")
    link = f"{live_server.url}/portal/invitations/{invitation.value.token}/"
    violations = _csp_violations(page)

    page.goto(link)
    assert page.get_by_role("heading", name="Join Acme Training").is_visible()
    page.get_by_label("Password", exact=True).fill("a-long-new-secret")
    page.get_by_label("Password again").fill("a-long-new-secret")
    page.get_by_role("button", name="Accept and join").click()
    assert page.get_by_text("You joined Acme Training").is_visible()
    assert invitation.value.token not in page.url
    page.screenshot(path=str(screenshots / "invitation-joined.png"))
    assert Invitation.objects.get(pk=invitation.value.pk).status == Invitation.ACCEPTED

    page.goto(link)
    assert page.get_by_role("heading", name="This invitation cannot be used").is_visible()
    assert page.get_by_text("already used").is_visible()
    assert page.get_by_role("button", name="Accept and join").count() == 0
    assert violations == []


def test_the_admin_works_with_javascript_under_its_policy(browser, live_server):
    get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)
    context = browser.new_context(java_script_enabled=True)
    page = context.new_page()
    violations = _csp_violations(page)
    try:
        page.goto(f"{live_server.url}/admin/login/")
        page.get_by_label("Username").fill("boss")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        assert page.get_by_role("heading", name="Is everything in step?", level=1).is_visible()
        page.goto(f"{live_server.url}/admin/members/membership/add/")
        page.goto(f"{live_server.url}/admin/people/member/")
        page.goto(f"{live_server.url}/admin/sync/event/")
        assert page.locator("#changelist").is_visible()
    finally:
        context.close()
    assert violations == []
