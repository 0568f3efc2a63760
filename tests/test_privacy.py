"""A member's data exported and erased: the pseudonym replaces what names her, the structure stays."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.catalog.models import Plan
from membersync.connectors.models import Delivery
from membersync.connectors.signatures import woocommerce_signature
from membersync.connectors.woocommerce.connect import woocommerce_connect
from membersync.errors import ServiceError
from membersync.members.models import Membership
from membersync.ops.privacy import member_data_export, member_erase
from membersync.people.models import Identity, Member
from membersync.sync.models import Event, LedgerEntry
from membersync.sync.worker import worker_tick
from tests.conftest import PROTOCOLS

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SECRET = "whsec-test-0123456789"
EMAIL = "james.allan@automattic.com"


@pytest.fixture
def james(db, set_clock, client):
    """James bought the weekly plan through the store (the documented subscription), then it was deleted."""
    set_clock(NOW)
    catalog.course_create(external_id="intro")
    catalog.plan_create(external_id="weekly", length="subscription", grants=[{"course": "intro"}])
    Plan.objects.filter(external_id="weekly").update(product_ids=["1027"])
    woocommerce_connect(
        name="shop",
        url="https://shop.example.com",
        consumer_key="k",
        consumer_secret="s",
        webhook_secret=SECRET,
        check=False,
    )
    deliver(client, "subscription.created", (PROTOCOLS / "woocommerce-subscription-v3.json").read_bytes())
    return Identity.objects.get(external_id="1").member


def deliver(client, topic, body: bytes):
    headers = {"X-WC-Webhook-Topic": topic, "X-WC-Webhook-Signature": woocommerce_signature(SECRET, body)}
    response = client.post("/webhooks/woocommerce/shop", data=body, content_type="application/json", headers=headers)
    assert response.status_code == 200
    worker_tick(now=NOW)


def test_the_export_holds_her_sources_access_ledger_and_emails(james):
    data = member_data_export(member_id=james.external_id, now=NOW)
    assert data["member"]["email"] == EMAIL
    assert [m["status"] for m in data["sources"]["memberships"]] == ["active"]
    assert [(g["target_id"], g["state"]) for g in data["access"]["grants"]] == [("intro", "open")]
    assert [e["action"] for e in data["ledger"]] == ["opened"]
    assert data["identities"][0]["connection"] == "shop"
    assert "emails_sent" in data and json.dumps(data)


def test_a_member_with_access_is_refused_and_nothing_changes(james):
    with pytest.raises(ServiceError) as refused:
        member_erase(member_id=james.external_id, actor=Actor.operator("admin"), now=NOW)
    assert refused.value.code == "has_access" and refused.value.field == "member"
    assert Member.objects.get(pk=james.pk).email == EMAIL and Identity.objects.filter(member=james).exists()


@pytest.mark.parametrize("member_id", ["", "nobody"])
def test_an_unknown_member_is_refused_naming_the_field(db, member_id):
    with pytest.raises(ServiceError) as refused:
        member_erase(member_id=member_id, actor=Actor.operator("admin"), now=NOW)
    assert (refused.value.code, refused.value.field) == ("not_found", "member")


def test_erasure_replaces_what_names_her_and_keeps_the_structure(james, client):
    deliver(client, "subscription.deleted", b'{"id": 1300}')
    ledger_before = list(LedgerEntry.objects.filter(member=james).values_list("action", "target_id"))
    result = member_erase(member_id=james.external_id, actor=Actor.operator("admin"), now=NOW)
    erased = Member.objects.get(pk=james.pk)
    assert erased.external_id == result.pseudonym and erased.email == "" and erased.name == result.pseudonym
    assert not Identity.objects.filter(member=erased).exists()
    assert list(LedgerEntry.objects.filter(member=erased).values_list("action", "target_id")) == ledger_before
    assert Membership.objects.filter(member=erased).count() == 1
    for body in Delivery.objects.values_list("body", flat=True):
        text = bytes(body).decode()
        assert EMAIL not in text and "James" not in text and "Brisbane" not in text
    for payload in Event.objects.values_list("payload", flat=True):
        assert EMAIL not in json.dumps(payload) and "Allan" not in json.dumps(payload)
    assert result.deliveries >= 1 and result.events >= 1
    with pytest.raises(ServiceError, match="erased already"):
        member_erase(member_id=result.pseudonym, actor=Actor.operator("admin"), now=NOW)


def test_the_commands_export_and_erase_only_with_confirm(james, client, capsys):
    call_command("member", "export", james.external_id)
    assert json.loads(capsys.readouterr().out)["member"]["email"] == EMAIL
    deliver(client, "subscription.deleted", b'{"id": 1300}')
    with pytest.raises(CommandError, match="--confirm"):
        call_command("member", "erase", james.external_id)
    assert Member.objects.get(pk=james.pk).email == EMAIL
    call_command("member", "erase", james.external_id, "--confirm")
    assert "Erased:" in capsys.readouterr().out
    with pytest.raises(CommandError, match="no member"):
        call_command("member", "export", james.external_id)


def test_the_admin_exports_one_member_and_erases_after_confirmation(james, client, admin_client):
    url = "/admin/ops/memberprivacy/"
    export = admin_client.post(url, {"action": "export_data", "_selected_action": [james.pk]})
    assert export.status_code == 200 and json.loads(export.content)["member"]["email"] == EMAIL
    deliver(client, "subscription.deleted", b'{"id": 1300}')
    confirm = admin_client.post(url, {"action": "erase_data", "_selected_action": [james.pk]})
    assert b"cannot be undone" in confirm.content and Member.objects.get(pk=james.pk).email == EMAIL
    admin_client.post(url, {"action": "erase_data", "_selected_action": [james.pk], "confirm": "erase"})
    assert Member.objects.get(pk=james.pk).email == ""
