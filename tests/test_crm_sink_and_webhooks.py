"""A connected ActiveCampaign account end to end, over HTTP against its contract fixture: enrollments are mirrored
as tags (only the differences are sent), a tag a person applies there arrives by its webhook at the secret address,
is re-read from the API and enrolls her; a wrong secret is refused and stores nothing; the generic signed endpoint."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

import pytest

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.connectors.learndash.inbound import companion_signature
from membersync.connectors.models import Delivery
from membersync.members import services as members
from membersync.people.models import ACTIVECAMPAIGN
from membersync.people.services import connection_create
from membersync.sync.selectors import member_courses
from membersync.sync.worker import worker_tick
from membersync.tags import services as tags
from membersync.tags.selectors import crm_tags_held
from tests.contract.activecampaign import ActiveCampaignAccount

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ACTOR = Actor.system("test")


@pytest.fixture
def account(set_clock):
    set_clock(NOW)
    with ActiveCampaignAccount() as account:
        catalog.course_create(external_id="c101")
        catalog.plan_create(external_id="gold", grants=[{"course": "c101"}])
        tags.tag_settings_set(
            target_kind="course", target_id="c101", link_tag="c101-linked", tags_on_enrollment=["student"], actor=ACTOR
        )
        account.connection = connection_create(
            kind=ACTIVECAMPAIGN,
            name="ac",
            url=account.url,
            credentials={"api_token": account.token},
            webhook_secret="s3cret-path",
        )
        yield account


def _post(client, path: str, form: dict):
    """As ActiveCampaign sends its webhooks: form-encoded."""
    return client.post(path, urlencode(form), content_type="application/x-www-form-urlencoded")


def _work():
    for _ in range(5):
        worker_tick(now=NOW, worker="w")


@pytest.mark.django_db(transaction=True)
def test_an_enrollment_is_mirrored_in_activecampaign_and_a_person_s_tag_there_enrolls_through_its_webhook(
    account, client
):
    members.member_get_or_create(external_id="ada", email="ada@example.com")
    members.order_complete(order_id="o1", member_id="ada", plan_id="gold", actor=ACTOR)
    _work()
    ada_contact = next(c for c in account.contacts.values() if c["email"] == "ada@example.com")["id"]
    assert account.tags_of(ada_contact) == {"c101-linked", "student"}
    calls = len(account.requests)
    _work()  # nothing changed: nothing sent
    assert len(account.requests) == calls

    bea_contact = account.contact("bea@example.com")
    account.tag_apply(bea_contact, "c101-linked")  # a person applies the linked tag in ActiveCampaign
    form = {
        "type": "contact_tag_added",
        "contact[id]": bea_contact,
        "contact[email]": "bea@example.com",
        "contact[tags]": "c101-linked",
    }
    assert _post(client, "/webhooks/activecampaign/ac/wrong", form).status_code == 401
    assert Delivery.objects.count() == 0
    answer = _post(client, "/webhooks/activecampaign/ac/s3cret-path", form)
    assert answer.status_code == 200
    _work()
    bea = members.member_get_or_create(external_id="bea", email="bea@example.com")
    assert member_courses(bea) == {"c101"}
    assert account.tags_of(bea_contact) == {"c101-linked", "student"}
    # the echo of the tag MemberSync applied for her changes nothing
    _post(client, "/webhooks/activecampaign/ac/s3cret-path", {**form, "contact[tags]": "student"})
    _work()
    assert crm_tags_held(member=bea, connection=account.connection) == {"c101-linked", "student"}


@pytest.mark.django_db(transaction=True)
def test_the_generic_endpoint_takes_a_signed_whole_set_of_tags(account, client):
    body = json.dumps(
        {"id": "d1", "contact": {"id": "77", "email": "cy@example.com"}, "tags": ["c101-linked"]}
    ).encode()
    refused = client.post("/webhooks/crm/ac", body, content_type="application/json", HTTP_X_MEMBERSYNC_SIGNATURE="x")
    assert refused.status_code == 401
    signed = companion_signature("s3cret-path", body)
    answer = client.post("/webhooks/crm/ac", body, content_type="application/json", HTTP_X_MEMBERSYNC_SIGNATURE=signed)
    assert answer.status_code == 200
    _work()
    cy = members.member_get_or_create(external_id="cy", email="cy@example.com")
    assert member_courses(cy) == {"c101"}
