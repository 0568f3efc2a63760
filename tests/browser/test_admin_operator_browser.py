"""The operator's admin in a real browser (no JavaScript), from an empty site: courses and a plan with two drip rules,
sold through an order made in the admin, the member's access explained; the plan's rules changed after a preview and
the members it touches re-reconciled by the worker's job; an organization created and a manager invited; and the
lists an operator reads fit a 1,400 px screen without scrolling sideways."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from membersync import clock
from membersync.actors import Actor
from membersync.demo import demo_load
from membersync.orgs.models import Invitation, OrgRole
from membersync.people.models import Member
from membersync.sync.models import Enrollment
from membersync.sync.resync import members_resync
from membersync.sync.worker import worker_tick
from tests.browser.orgdata import FAST_HASHERS, PASSWORD
from tests.conftest import at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NOW = at("2026-03-02T09:00")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def empty_site():
    clock.set_time(NOW)
    yield
    clock.set_time(None)


def sign_in(page, live_server) -> None:
    get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def saved(page) -> str:
    return page.locator("ul.messagelist li.success").first.inner_text()


def enrolled(member: Member) -> set[str]:
    """What the built-in LMS holds for her: what the reconciler and the worker carried out."""
    return set(Enrollment.objects.filter(member=member, status=Enrollment.ACTIVE).values_list("target_id", flat=True))


def test_an_operator_builds_sells_explains_and_changes_a_plan_from_an_empty_site(page, live_server, empty_site):
    sign_in(page, live_server)
    for course_id, title in (("intro", "Introduction"), ("advanced", "Advanced")):
        page.goto(f"{live_server.url}/admin/catalog/course/add/")
        page.locator("input[name=external_id]").fill(course_id)
        page.locator("input[name=title]").fill(title)
        page.get_by_role("button", name="Save", exact=True).click()

    page.goto(f"{live_server.url}/admin/catalog/plan/add/")
    page.locator("input[name=external_id]").fill("gold")
    page.locator("input[name=name]").fill("Gold")
    page.locator("select[name=length_kind]").select_option("unlimited")
    for row, (course_id, after) in enumerate((("intro", "3 days"), ("advanced", "14 days"))):
        page.locator(f"select[name=rules-{row}-course]").select_option(course_id)
        page.locator(f"select[name=rules-{row}-opens]").select_option("after")
        page.locator(f"input[name=rules-{row}-after]").fill(after)
    page.get_by_role("button", name="Save", exact=True).click()
    assert "Created plan Gold" in saved(page)

    page.goto(f"{live_server.url}/admin/members/order/add/")
    page.get_by_label("Order id").fill("inv-1")
    page.get_by_label("Member").fill("alice")
    page.get_by_label("Plan").select_option("gold")
    page.get_by_role("button", name="Complete the order").click()
    assert "Order inv-1 completed: alice holds Gold" in saved(page)

    clock.set_time(NOW + timedelta(days=4))
    worker_tick(now=clock.now())
    alice = Member.objects.get(external_id="alice")
    page.goto(f"{live_server.url}/admin/people/member/{alice.pk}/change/")
    assert page.get_by_text("grants course intro 3 days after the start").first.is_visible()
    assert page.get_by_text("grants course advanced 14 days after the start").first.is_visible()
    assert enrolled(alice) == {"intro"}

    # The advanced course's drip shortened to 2 days: a preview names her, saving queues the worker's job.
    page.goto(f"{live_server.url}/admin/catalog/plan/")
    page.get_by_role("link", name="Gold").click()
    page.locator("input[name=rules-1-after]").fill("2 days")
    page.get_by_role("button", name="Preview the change").click()
    preview = page.locator("#change-preview")
    assert "1 of 1 members change" in preview.locator("#preview-summary").inner_text()
    assert preview.locator("tr", has_text="alice").get_by_text("course advanced").is_visible()
    page.get_by_role("button", name="Save and re-reconcile these members").click()
    assert "The worker re-reconciles them now" in saved(page)
    assert enrolled(alice) == {"intro"}  # not yet: the worker's job does it

    worker_tick(now=clock.now())
    page.goto(f"{live_server.url}/admin/catalog/plan/")
    page.get_by_role("link", name="Gold").click()
    assert "1 of 1 (done)" in page.locator("#jobs").inner_text()
    assert enrolled(alice) == {"intro", "advanced"}
    page.goto(f"{live_server.url}/admin/people/member/{alice.pk}/change/")
    assert page.get_by_text("grants course advanced 2 days after the start").first.is_visible()


def test_an_organization_is_created_and_a_manager_invited_from_the_admin(page, live_server, empty_site, mailoutbox):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/admin/orgs/organization/add/")
    page.get_by_label("Organization id").fill("acme")
    page.get_by_label("Name").fill("Acme Training")
    page.get_by_label("Owner").fill("olive")
    page.get_by_role("button", name="Create").click()
    assert "Created organization Acme Training, owned by olive" in saved(page)

    page.get_by_role("link", name="Invite a person by email").click()
    page.get_by_label("Email").fill("max@acme.test")
    page.get_by_label("Role").select_option("manager")
    page.get_by_label("First name").fill("Max")
    page.get_by_role("button", name="Send the invitation").click()
    assert "Invitation sent to max@acme.test (as manager)" in saved(page)
    invitation = Invitation.objects.get()
    assert (invitation.organization.external_id, invitation.role) == ("acme", "manager")
    assert mailoutbox[-1].to == ["max@acme.test"]
    assert list(OrgRole.objects.values_list("member__external_id", "role")) == [("olive", "owner")]


LISTS = [
    "people/member",
    "members/membership",
    "members/order",
    "members/subscription",
    "catalog/plan",
    "catalog/course",
    "catalog/group",
    "orgs/organization",
    "orgs/seat",
    "orgs/license",
    "orgs/invitation",
    "manual/manualgrant",
    "operations/planchangejob",
]


def test_the_admin_lists_fit_a_1400_px_screen(browser, live_server, empty_site):
    demo_load()
    members_resync(dry_run=False, actor=Actor.system("test"))
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, live_server)
        wide = {}
        for path in LISTS:
            page.goto(f"{live_server.url}/admin/{path}/")
            scroll, width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            if scroll > width:
                wide[path] = scroll
        assert wide == {}
    finally:
        context.close()
