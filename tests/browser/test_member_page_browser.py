"""The member's admin page in a real browser: her access explained on another day, through the page's own form, with
a timeline that reaches the day asked about (what is to come drawn apart, a date axis, courses by title)."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from membersync import clock
from membersync.people.models import Member
from membersync.scenarios.parsing import load
from membersync.scenarios.runner import FileResult, _run
from membersync.sync.worker import worker_run_until
from tests.browser.orgdata import FAST_HASHERS, PASSWORD
from tests.test_explain_as_of import NOW, SITE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def alice():
    result = FileResult("site")
    _run(load(SITE), result)
    assert result.failures == []
    worker_run_until(NOW)
    yield Member.objects.get(external_id="alice")
    clock.set_time(None)


def test_the_member_page_explains_a_past_and_a_future_day(page, live_server, alice, screenshots):
    get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)
    page.goto(f"{live_server.url}/admin/login/")
    page.get_by_label("Username").fill("boss")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/admin/people/member/{alice.pk}/change/")
    assert page.get_by_role("heading", name="Access now (2026-04-01 00:00 UTC)").is_visible()

    page.get_by_label("Explain another day:").fill("2026-03-17")
    page.get_by_role("button", name="Explain").click()
    assert page.get_by_role("heading", name="Access on 2026-03-17 00:00 UTC (in the past: what was in force then)")
    correction = page.get_by_text("was active then; a later delivery (subscription.update, received 2026-03-20 00:00)")
    assert correction.is_visible()

    page.get_by_label("Explain another day:").fill("2026-07-01")
    page.get_by_role("button", name="Explain").click()
    assert page.get_by_role("heading", name="Access on 2026-07-01 00:00 UTC (what-if preview)").is_visible()
    timeline = page.locator("table.ms-timeline")
    axis = timeline.get_by_label("dates")
    for day in ("2026-01-01", "2026-04-01", "2026-07-01"):
        assert axis.get_by_text(day).is_visible()
    bonus = timeline.locator("tr", has=page.locator("strong", has_text="bonus"))
    assert bonus.locator(".ms-seg-open.ms-future").count() == 1
    assert bonus.get_by_text("opens 2026-06-29 00:00 (drip of plan Basic)").is_visible()
    intro = timeline.locator("tr", has=page.locator("strong", has_text="Introduction"))
    assert intro.get_by_text("enrollment start 2026-01-11 00:00, pushed back 10 days by suspension").is_visible()
    # The bar of what is to come ends at the day asked about, which is drawn near the right end of the axis.
    bar, line = bonus.locator(".ms-seg.ms-future").bounding_box(), bonus.locator(".ms-line-at").bounding_box()
    assert abs((bar["x"] + bar["width"]) - line["x"]) < 4
    timeline.screenshot(path=str(screenshots / "member-page-timeline.png"))
