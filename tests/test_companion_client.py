"""The companion client (membersync/clients/companion.py) against a real WordPress running the plugin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from membersync.clients.companion import AccessItem, CompanionClient, StepDecision
from membersync.clients.learndash import SiteAuthError, SiteRefused
from tests.wordpress import wordpress_site  # noqa: F401  (the fixture)


@pytest.fixture
def site(wordpress_site):  # noqa: F811
    with CompanionClient(wordpress_site.url, wordpress_site.user, wordpress_site.app_password, timeout=20) as client:
        yield wordpress_site, client


def test_status_says_the_plugin_version_and_its_queue(site):
    _, client = site
    status = client.status()
    assert status.version == "1.0.0" and status.queue_length >= 0


def test_a_suspension_then_a_resumption_keeps_enrollment_and_sets_the_drip_clock_exactly(site):
    wp, client = site
    student = wp.user_create("client_student")
    course = wp.post_create("sfwd-courses", "Client course")
    wp.php(f"ld_update_course_access({student}, {course}); return true;")

    [suspended] = client.access_set(student, [AccessItem("course", course, "suspended")])
    assert suspended.ok and suspended.code == "membersync_access_updated"
    assert wp.php(f"return sfwd_lms_has_access({course}, {student});") is False
    assert wp.php(f"return get_user_meta({student}, 'course_{course}_access_from', true) !== '';") is True

    later = (datetime.now(UTC) + timedelta(days=9)).replace(microsecond=0)
    [resumed] = client.access_set(student, [AccessItem("course", course, "active", access_from=later)])
    assert resumed.ok
    assert int(wp.php(f"return get_user_meta({student}, 'course_{course}_access_from', true);")) == int(
        later.timestamp()
    )
    assert wp.php(f"return sfwd_lms_has_access({course}, {student});") is True


def test_per_item_results_say_not_enrolled_and_invalid_id(site):
    wp, client = site
    student = wp.user_create("client_stranger")
    course = wp.post_create("sfwd-courses", "Not hers")
    results = client.access_set(
        student, [AccessItem("course", course, "suspended"), AccessItem("group", 999999, "active")]
    )
    assert [(r.ok, r.code) for r in results] == [
        (False, "membersync_not_enrolled"),
        (False, "membersync_invalid_id"),
    ]
    assert results[0].not_enrolled


def test_step_decisions_are_stored(site):
    wp, client = site
    student = wp.user_create("client_steps")
    course = wp.post_create("sfwd-courses", "Stepped")
    stored = client.steps_set(student, course, {11: StepDecision("locked", "Soon"), 12: StepDecision("hidden")})
    assert stored == 2
    assert wp.php(f"return get_user_meta({student}, 'membersync_steps_{course}', true)[11]['text'];") == "Soon"


def test_a_course_that_is_not_one_is_refused_naming_the_field(site):
    _, client = site
    with pytest.raises(SiteRefused, match="course"):
        client.steps_set(1, 999999, {})


def test_a_wrong_application_password_is_an_auth_error_that_never_shows_it(wordpress_site):  # noqa: F811
    client = CompanionClient(wordpress_site.url, wordpress_site.user, "wrong pass word here", timeout=20)
    with pytest.raises(SiteAuthError) as raised:
        client.status()
    assert "wrong pass word here" not in str(raised.value) and "wrong pass word here" not in repr(client)


def test_items_are_checked_before_anything_is_sent():
    with pytest.raises(ValueError, match="access_from"):
        AccessItem("course", 1, "suspended", access_from=datetime.now(UTC))
    with pytest.raises(ValueError, match="kind"):
        AccessItem("lesson", 1, "active")
    with pytest.raises(ValueError, match="state"):
        StepDecision("gone")
