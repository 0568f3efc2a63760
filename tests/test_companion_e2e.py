"""End to end: a real WordPress running the companion sends a hand enrollment to a live MemberSync, signed; the
worker makes it an lms source of the member the WordPress user is."""

from __future__ import annotations

import time

import pytest

from membersync import clock
from membersync.catalog import services as catalog
from membersync.connectors.models import Delivery
from membersync.lms.models import LmsEnrollment
from membersync.people.models import LEARNDASH, WP_USER, Identity
from membersync.people.services import connection_create
from membersync.sync.worker import worker_tick
from tests.wordpress import wordpress_site  # noqa: F401  (the fixture)

SECRET = "e2e-companion-secret-0123456789"


def _wait_for_delivery(topic: str, seconds: float = 20) -> Delivery:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = Delivery.objects.filter(topic=topic).first()
        if found is not None:
            return found
        time.sleep(0.2)
    raise AssertionError(f"no {topic} delivery arrived within {seconds:g} s")


@pytest.mark.django_db(transaction=True)
def test_a_hand_enrollment_on_the_site_becomes_an_lms_source_in_membersync(wordpress_site, live_server):  # noqa: F811
    wp = wordpress_site
    student = wp.user_create("e2e_student")
    course = wp.post_create("sfwd-courses", "E2E course")
    catalog.course_create(external_id=str(course), title="E2E course")
    connection = connection_create(
        kind=LEARNDASH,
        name="e2e-academy",
        url=wp.url,
        credentials={"user": wp.user, "app_password": wp.app_password},
        webhook_secret=SECRET,
        settings={"has_companion": True, "shadow": True},
    )
    wp.php(
        "MemberSync_Companion_Settings::save(['url' => "
        f"'{live_server.url}', 'connection' => 'e2e-academy', 'secret' => '{SECRET}']); return true;"
    )

    # An admin enrolls her by hand (no MemberSync application password in play): the request that did it sends
    # the delivery when it ends.
    wp.php(f"ld_update_course_access({student}, {course}); return true;")
    delivery = _wait_for_delivery("enrollment.added")
    assert delivery.connection == connection and delivery.status == Delivery.RECEIVED
    assert wp.php("return MemberSync_Companion_Queue::length();") == 0

    worker_tick(now=clock.now())
    delivery.refresh_from_db()
    assert delivery.status == Delivery.APPLIED, (delivery.error, delivery.outcome)
    member = Identity.objects.get(connection=connection, kind=WP_USER, external_id=str(student)).member
    assert member.email == "e2e_student@example.test"
    enrollment = LmsEnrollment.objects.get(member=member)
    assert (enrollment.target_kind, enrollment.target_id, enrollment.origin) == ("course", str(course), "hand")
    assert enrollment.ended_at is None


@pytest.mark.django_db(transaction=True)
def test_a_delivery_signed_with_another_secret_stays_queued_on_the_site_with_the_reason(wordpress_site, live_server):  # noqa: F811
    wp = wordpress_site
    connection_create(kind=LEARNDASH, name="e2e-other", url=wp.url, webhook_secret=SECRET, settings={"shadow": True})
    wp.php(
        "MemberSync_Companion_Settings::save(['url' => "
        f"'{live_server.url}', 'connection' => 'e2e-other', 'secret' => 'not-the-secret']); "
        "global $wpdb; $wpdb->query('DELETE FROM ' . MemberSync_Companion_Queue::table()); return true;"
    )
    student = wp.user_create("e2e_refused")
    course = wp.post_create("sfwd-courses", "Refused course")
    wp.php(f"ld_update_course_access({student}, {course}); return true;")
    assert wp.php("return MemberSync_Companion_Queue::length();") == 1
    error = wp.php("return MemberSync_Companion_Settings::state()['last_error'];")
    assert "HTTP 401" in error and "X-MemberSync-Signature" in error
    assert not Delivery.objects.exists()
