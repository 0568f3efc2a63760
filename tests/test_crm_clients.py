"""The CRM clients against their contract fixtures (tests/contract/activecampaign.py, fluentcrm.py), over HTTP."""

from __future__ import annotations

import pytest

from membersync.clients.activecampaign import ActiveCampaignClient
from membersync.clients.crm import CrmAuthError, CrmError, TagChange
from membersync.clients.fluentcrm import FluentCrmClient
from tests.contract.activecampaign import ActiveCampaignAccount
from tests.contract.fluentcrm import FluentCrmSite


@pytest.fixture
def account():
    with ActiveCampaignAccount() as account:
        yield account


@pytest.fixture
def fluent():
    with FluentCrmSite() as site:
        yield site


def test_activecampaign_finds_or_creates_a_contact_by_email_and_applies_and_removes_tags_by_name(account):
    client = ActiveCampaignClient(account.url, account.token, account="t1")
    contact = client.contact_upsert("Ada@Example.com", {"3": "2026-01-05"})
    assert client.contact_find("ada@example.com").id == contact.id
    client.tags_change([TagChange(contact.id, add=frozenset({"c101-linked", "student"}))])
    assert account.tags_of(contact.id) == {"c101-linked", "student"}
    client.tags_change([TagChange(contact.id, remove=frozenset({"student", "never-held"}))])
    assert client.contact_get(contact.id).tags == {"c101-linked"}
    assert account.contacts[contact.id]["fieldValues"] == {"3": "2026-01-05"}


def test_activecampaign_never_exceeds_five_requests_a_second_and_waits_out_a_429(account):
    client = ActiveCampaignClient(account.url, account.token, account="t2")
    ids = [account.contact(f"m{i}@example.com") for i in range(4)]
    client.tags_change([TagChange(i, add=frozenset({"a", "b"})) for i in ids])
    assert all(account.tags_of(i) == {"a", "b"} for i in ids)
    assert account.most_in_window(1.0) <= 5
    # Spaced at 4.5 a second, a 429 takes arrivals bunched by far more jitter than the network's (a machine so
    # loaded that the account's threads wait): at most one, and waited out like any other.
    assert sum(1 for *_rest, status in account.requests if status == 429) <= 1
    account.fail_next(1, 429, retry_after=1)
    client.tags_change([TagChange(ids[0], add=frozenset({"c"}))])
    assert "c" in account.tags_of(ids[0])


def test_activecampaign_says_a_refused_token_and_a_long_retry_after(account):
    with pytest.raises(CrmAuthError):
        ActiveCampaignClient(account.url, "wrong", account="t3").contact_find("x@example.com")
    client = ActiveCampaignClient(account.url, account.token, account="t4")
    account.fail_next(1, 429, retry_after=30)
    with pytest.raises(CrmError) as raised:
        client.contact_find("x@example.com")
    assert raised.value.retry_after == 30


def test_fluentcrm_changes_many_contacts_tags_in_one_request_by_slug(fluent):
    for slug in ("c101-linked", "student", "trial"):
        fluent.tag(slug)
    client = FluentCrmClient(fluent.url, fluent.user, fluent.app_password)
    ids = [client.contact_upsert(f"m{i}@example.com").id for i in range(5)]
    before = fluent.count("POST", "/wp-json/fluent-crm/v2/subscribers/sync-segments")
    after = client.tags_change([TagChange(i, add=frozenset({"c101-linked", "student"})) for i in ids])
    assert fluent.count("POST", "/wp-json/fluent-crm/v2/subscribers/sync-segments") == before + 1
    assert after[ids[0]] == {"c101-linked", "student"}
    client.tags_change([TagChange(ids[0], remove=frozenset({"student"}))])
    assert client.contact_find("m0@example.com").tags == {"c101-linked"}
    assert client.contact_upsert("m0@example.com").id == ids[0]  # __force_update: the same contact


def test_fluentcrm_says_a_refused_password_and_event_tracking_switched_off(fluent):
    with pytest.raises(CrmAuthError):
        FluentCrmClient(fluent.url, fluent.user, "wrong").contact_find("x@example.com")
    with pytest.raises(CrmError) as raised:
        FluentCrmClient(fluent.url, fluent.user, fluent.app_password).event_track("x@example.com", "course_started")
    assert raised.value.status == 422 and not raised.value.retry
