"""FluentCRM tag changes reported by the companion plugin (`tag.applied` / `tag.removed` on the LearnDash site it
shares): they reach the CRM tag services, so the linked tag enrolls her WordPress user and its removal unenrolls
her, and a contact with no WordPress user nor FluentCRM connection is kept, recorded as ignored with the reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.connectors.learndash.inbound import companion_signature
from membersync.connectors.models import Delivery
from membersync.people.models import LEARNDASH, WP_USER, Identity
from membersync.people.services import connection_create
from membersync.sync.selectors import member_courses
from membersync.sync.worker import worker_tick
from membersync.tags import services as tags
from membersync.tags.models import MemberTag

SECRET = "companion-secret-0123456789"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def academy(db, set_clock):
    set_clock(NOW)
    catalog.course_create(external_id="101", title="Watercolour")
    tags.tag_settings_set(target_kind="course", target_id="101", link_tag="vip", actor=Actor.system("test"))
    return connection_create(kind=LEARNDASH, name="academy", url="https://academy.example", webhook_secret=SECRET)


def _deliver(client, topic: str, delivery: str, user: dict) -> Delivery:
    raw = json.dumps(
        {"id": delivery, "topic": topic, "user": user, "tag": {"id": 7, "title": "VIP", "slug": "vip"}}
    ).encode()
    headers = {"X-MemberSync-Signature": companion_signature(SECRET, raw), "X-MemberSync-Topic": topic}
    response = client.post("/webhooks/learndash/academy", data=raw, content_type="application/json", headers=headers)
    assert response.status_code == 200, response.content
    for _ in range(3):
        worker_tick(now=NOW)
    return Delivery.objects.get(pk=response.json()["delivery"])


def test_a_linked_tag_applied_in_fluentcrm_enrolls_her_wordpress_user_and_its_removal_unenrolls_her(client, academy):
    user = {"id": 7, "email": "dana@example.test"}
    delivery = _deliver(client, "tag.applied", "d-1", user)
    assert delivery.status == Delivery.APPLIED
    dana = Identity.objects.get(connection=academy, kind=WP_USER, external_id="7").member
    assert member_courses(dana) == {"101"}
    assert MemberTag.objects.get(member=dana).origin == "crm"

    assert _deliver(client, "tag.removed", "d-2", user).status == Delivery.APPLIED
    assert member_courses(dana) == set()


def test_a_tag_change_of_a_contact_without_a_wordpress_user_or_a_fluentcrm_connection_is_kept_as_ignored(
    client, academy
):
    delivery = _deliver(client, "tag.applied", "d-9", {"id": None, "email": "x@example.test"})
    assert delivery.status == Delivery.IGNORED and "no WordPress user" in delivery.outcome
    assert not MemberTag.objects.exists()
