"""`membersync crm connect|pull` and `membersync batch course-tags|group-tags|crm-pull`, against the CRMs' contract
fixtures over HTTP: credentials checked before anything is stored, a pull that enrolls and unenrolls by the CRM's
tags and records nothing when nothing changed, batches that call the CRM only for the members whose tags differ."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.members import services as members
from membersync.people.models import ACTIVECAMPAIGN, CONTACT, FLUENTCRM, Connection, Identity
from membersync.people.services import connection_create
from membersync.sync.models import Event
from membersync.sync.selectors import member_courses, member_groups
from membersync.sync.worker import worker_tick
from membersync.tags import services as tags
from membersync.tags.selectors import crm_tags_held
from tests.contract.activecampaign import ActiveCampaignAccount
from tests.contract.fluentcrm import FluentCrmSite

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ACTOR = Actor.system("test")
SEGMENTS = "/wp-json/fluent-crm/v2/subscribers/sync-segments"


def _run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _work():
    for _ in range(5):
        worker_tick(now=NOW, worker="w")


@pytest.fixture
def course(set_clock):
    set_clock(NOW)
    catalog.course_create(external_id="c101")
    catalog.plan_create(external_id="gold", grants=[{"course": "c101"}])
    tags.tag_settings_set(target_kind="course", target_id="c101", link_tag="c101-linked", actor=ACTOR)


@pytest.fixture
def fluent():
    with FluentCrmSite() as site:
        for slug in ("c101-linked", "student", "newsletter", "g1-member", "g1-leader"):
            site.tag(slug)
        yield site


def _connect_fluent(site) -> Connection:
    _run(
        "crm", "connect", "fluentcrm", "fc", "--url", site.url, "--user", site.user, "--app-password", site.app_password
    )
    return Connection.objects.get(name="fc")


@pytest.mark.django_db(transaction=True)
def test_connect_checks_the_credentials_stores_them_sealed_and_prints_the_webhook_address(set_clock):
    with ActiveCampaignAccount() as account:
        with pytest.raises(CommandError, match="refused the credentials"):
            _run("crm", "connect", "activecampaign", "ac", "--url", account.url, "--api-token", "wrong")
        assert not Connection.objects.filter(name="ac").exists()

        said = _run("crm", "connect", "activecampaign", "ac", "--url", account.url, "--api-token", account.token)
    connection = Connection.objects.get(name="ac")
    assert connection.kind == ACTIVECAMPAIGN and connection.credentials == {"api_token": account.token}
    assert account.token not in connection.credentials_sealed
    assert f"/webhooks/activecampaign/ac/{connection.webhook_secret}" in said
    assert "/webhooks/crm/ac" in said


@pytest.mark.django_db(transaction=True)
def test_connect_fluentcrm_checks_its_application_password(fluent):
    with pytest.raises(CommandError, match="refused"):
        _run("crm", "connect", "fluentcrm", "fc", "--url", fluent.url, "--user", fluent.user, "--app-password", "no")
    assert not Connection.objects.exists()
    connection = _connect_fluent(fluent)
    assert connection.kind == FLUENTCRM and connection.credentials["user"] == fluent.user


@pytest.mark.django_db(transaction=True)
def test_pull_enrolls_contacts_holding_a_linked_tag_unenrolls_when_it_is_gone_and_records_nothing_twice(course, fluent):
    ada = fluent.subscriber("ada@example.com", ["c101-linked", "newsletter"])
    fluent.subscriber("bea@example.com", ["newsletter"])  # holds nothing that grants: left alone
    connection = _connect_fluent(fluent)

    dry = _run("crm", "pull", "fc", "--dry-run")
    assert (
        "members would be made for contacts holding a linked tag: 1" in dry
        and Event.objects.filter(kind="tag.observe").count() == 0
    )

    said = _run("crm", "pull", "fc")
    assert "other contacts left alone: 1" in said
    member = Identity.objects.get(connection=connection, kind=CONTACT, external_id=str(ada)).member
    _work()
    assert member_courses(member) == {"c101"}
    assert crm_tags_held(member=member, connection=connection) == {"c101-linked", "newsletter"}
    events = Event.objects.count()
    _run("crm", "pull", "fc")  # nothing changed in the CRM: nothing recorded
    assert Event.objects.count() == events

    fluent.subscribers[ada]["tags"] -= {fluent.tag("c101-linked")}  # removed in FluentCRM
    _run("crm", "pull", "fc")
    _work()
    assert member_courses(member) == set()


@pytest.mark.django_db(transaction=True)
def test_pull_from_activecampaign_loads_contacts_by_tag(course):
    with ActiveCampaignAccount() as account:
        contact = account.contact("cy@example.com", ["c101-linked"])
        account.contact("dee@example.com", ["unrelated"])
        connection = connection_create(
            kind=ACTIVECAMPAIGN, name="ac", url=account.url, credentials={"api_token": account.token}
        )
        said = _run("batch", "crm-pull")
        assert "ac: 1 contacts read" in said
        cy = Identity.objects.get(connection=connection, kind=CONTACT, external_id=contact).member
        _work()  # her enrollment's tags are mirrored: the linked tag is already there, nothing to add
        assert member_courses(cy) == {"c101"}
        assert account.tags_of(contact) == {"c101-linked"}
        assert crm_tags_held(member=cy, connection=connection) == {"c101-linked"}


@pytest.mark.django_db(transaction=True)
def test_course_tags_batch_calls_the_crm_only_for_the_members_whose_tags_differ(course, fluent):
    _connect_fluent(fluent)
    for i in range(6):
        members.member_get_or_create(external_id=f"m{i}", email=f"m{i}@example.com")
        members.order_complete(order_id=f"o{i}", member_id=f"m{i}", plan_id="gold", actor=ACTOR)
    members.member_get_or_create(external_id="nobody", email="nobody@example.com")  # no enrollment, no tag
    _work()
    assert len(fluent.subscribers) == 6
    # A new enrollment tag: no member holds it yet; nothing is reconciled until the batch.
    tags.tag_settings_set(
        target_kind="course", target_id="c101", link_tag="c101-linked", tags_on_enrollment=["student"], actor=ACTOR
    )
    requests, bulk = len(fluent.requests), fluent.count("POST", SEGMENTS)

    dry = _run("batch", "course-tags", "--dry-run", "--crm", "fc")
    assert "6 members decided, 6 would change (6 tags to apply, 0 to remove)" in dry
    assert len(fluent.requests) == requests

    said = _run("batch", "course-tags")
    assert "fluentcrm fc: 6 members decided, 6 to change" in said
    assert "built-in CRM: 6 members decided, 6 to change" in said
    assert fluent.count("POST", SEGMENTS) == bulk + 1  # the six contacts' same change: one bulk request
    assert len(fluent.requests) == requests + 1
    assert all(fluent.tags_of(s) == {"c101-linked", "student"} for s in fluent.subscribers)
    m0 = members.member_get_or_create(external_id="m0")
    assert crm_tags_held(member=m0) == {"c101-linked", "student"}  # the built-in CRM too

    again = _run("batch", "course-tags")
    assert "6 members decided, 0 to change" in again and len(fluent.requests) == requests + 1
    _work()  # and the reconciler agrees: nothing to send
    assert len(fluent.requests) == requests + 1


@pytest.mark.django_db(transaction=True)
def test_group_tags_batch_applies_member_and_leader_tags_and_leaves_course_tags_to_its_own_batch(set_clock):
    set_clock(NOW)
    catalog.course_create(external_id="c1")
    catalog.group_create(external_id="g1", course_ids=["c1"])
    catalog.plan_create(external_id="team", grants=[{"group": "g1"}])
    members.member_get_or_create(external_id="ann", email="ann@example.com")
    members.order_complete(order_id="o1", member_id="ann", plan_id="team", actor=ACTOR)
    _work()
    ann = members.member_get_or_create(external_id="ann")
    assert member_groups(ann) == {"g1"}
    tags.tag_settings_set(target_kind="group", target_id="g1", link_tag="g1-member", actor=ACTOR)
    tags.tag_settings_set(
        target_kind="course", target_id="c1", link_tag="c1-linked", tags_on_enrollment=["c1-on"], actor=ACTOR
    )

    said = _run("batch", "group-tags", "--crm", "builtin")
    assert "1 to change (2 tags to apply" in said
    # the group's own tag, and its course's enrollment tag (access through a group applies it); not c1's link
    assert crm_tags_held(member=ann) == {"g1-member", "c1-on"}
