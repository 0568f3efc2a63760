"""A LearnDash site's admin pages in a real browser (no JavaScript): the adoption dry run and its adopt button,
shadow mode's would-send list then going live, and the brake's held removals confirmed by an operator."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from membersync import clock
from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.connectors.learndash.catalog_import import learndash_import
from membersync.connectors.learndash.connect import learndash_shadow_set
from membersync.lms.models import LmsEnrollment
from membersync.members import services as members
from membersync.people.models import Connection
from membersync.sync.models import Operation
from membersync.sync.worker import worker_tick
from tests.browser.orgdata import FAST_HASHERS, PASSWORD
from tests.contract.fixtures import learndash_site_factory  # noqa: F401  (fixture)
from tests.learndash_academy import NOW, academy, connect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def school(learndash_site_factory):  # noqa: F811
    clock.set_time(NOW)
    school = academy(learndash_site_factory())
    connection = connect(school.site)
    learndash_import(connection)
    catalog.plan_create(external_id="gold", grants=[{"course": str(school.intro)}])
    for name in ("ada", "bob"):
        members.member_get_or_create(external_id=name, email=f"{name}@example.com")
    members.order_complete(order_id="o-ada", member_id="ada", plan_id="gold", actor=Actor.system("test"))
    learndash_import(connection)
    yield school, connection
    clock.set_time(None)


def sign_in(page, live_server) -> None:
    get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def cells(page, table: str, text: str) -> list[str]:
    row = page.locator(f"table#{table} tr", has_text=text)
    return [c.strip() for c in row.locator("td").all_inner_texts()]


def test_the_adoption_dry_run_and_adopting_a_course(page, live_server, school, screenshots):
    site, connection = school
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/admin/learndash/learndashsite/{connection.pk}/change/")
    page.get_by_role("link", name="Adoption dry run").click()
    assert cells(page, "ld-adoption", "Intro to Pottery")[2:] == ["1", "0", "1", "0", "1"]  # Ada kept, Bob removed
    assert cells(page, "ld-adoption", "Advanced Glazes")[2:] == ["0", "0", "1", "0", "0"]
    page.screenshot(path=str(screenshots / "learndash-adoption.png"), full_page=True)

    page.get_by_label("adopt course Advanced Glazes").check()
    page.get_by_role("button", name="Adopt the students going live would remove").click()
    assert page.get_by_text("Adopted 1 enrollments as lms sources").is_visible()
    assert cells(page, "ld-adoption", "Advanced Glazes")[2:] == ["1", "0", "0", "0", "0"]
    assert LmsEnrollment.objects.get().target_id == str(site.advanced)


def test_shadow_mode_shows_what_it_would_send_then_goes_live(page, live_server, school, screenshots):
    site, connection = school
    members.member_get_or_create(external_id="dan", email="dan@example.com")
    members.order_complete(order_id="o-dan", member_id="dan", plan_id="gold", actor=Actor.system("test"))
    worker_tick(now=NOW)  # shadow: nothing is sent
    assert site.site.user_by_email("dan@example.com") is None

    sign_in(page, live_server)
    page.goto(f"{live_server.url}/admin/learndash/learndashsite/{connection.pk}/change/")
    assert "Shadow" in page.locator("#ld-mode").inner_text()
    assert f"enroll course {site.intro}" in " ".join(cells(page, "ld-would-send", "dan"))
    page.screenshot(path=str(screenshots / "learndash-shadow.png"), full_page=True)

    page.get_by_role("button", name="Go live (turn shadow mode off)").click()
    assert page.get_by_text("Live: the worker now sends each member's latest.").is_visible()
    assert "Live" in page.locator("#ld-mode").inner_text()
    assert Connection.objects.get(pk=connection.pk).settings["shadow"] is False
    worker_tick(now=NOW)
    dan = site.site.user_by_email("dan@example.com")
    assert dan is not None and site.intro in site.site.enrolled(dan)
    page.reload()
    assert page.get_by_text("Nothing to send.").is_visible()


def test_the_brake_holds_a_mass_removal_until_an_operator_confirms_it(page, live_server, school, screenshots):
    site, connection = school
    members.member_get_or_create(external_id="dan", email="dan@example.com")
    for name in ("bob", "dan"):
        members.order_complete(order_id=f"o-{name}", member_id=name, plan_id="gold", actor=Actor.system("test"))
    connection.settings = {**connection.settings, "brake_students": 1, "brake_percent": 1}
    connection.save()
    learndash_shadow_set(connection=connection, shadow=False, actor=Actor.system("test"))
    worker_tick(now=NOW)
    dan = site.site.user_by_email("dan@example.com")
    students = (site.ada, site.bob, dan)
    assert all(site.intro in site.site.enrolled(user) for user in students)
    for name in ("ada", "bob", "dan"):  # all refunded at once: the first is within the brake, the others past it
        members.order_refund(order_id=f"o-{name}", actor=Actor.system("test"))
    worker_tick(now=NOW)
    assert Operation.objects.filter(sink="learndash:academy", status="held").count() == 2
    assert site.intro not in site.site.enrolled(site.ada)
    assert site.intro in site.site.enrolled(site.bob) and site.intro in site.site.enrolled(dan)

    sign_in(page, live_server)
    page.goto(f"{live_server.url}/admin/learndash/learndashsite/{connection.pk}/change/")
    assert page.get_by_role("heading", name="Held by the brake (2)").is_visible()
    assert f"unenroll course {site.intro}" in " ".join(cells(page, "ld-held", "bob"))
    page.screenshot(path=str(screenshots / "learndash-brake.png"), full_page=True)
    page.get_by_role("button", name="Confirm and send all held").click()
    assert page.get_by_text("Confirmed 2 held operations").is_visible()
    assert page.get_by_role("heading", name="Held by the brake (0)").is_visible()
    worker_tick(now=NOW)
    assert not any(site.intro in site.site.enrolled(user) for user in students)
