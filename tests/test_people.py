"""People across systems: a connection's id finds its member again, an email finds the member invited through
the portal, an email change follows the member, merging two members keeps everything of both, and connections'
secrets are encrypted at rest and never shown."""

from __future__ import annotations

import logging

import pytest
from cryptography.fernet import Fernet
from django.db import connection as db
from django.urls import reverse

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.errors import ServiceError
from membersync.members.merge import members_merge
from membersync.members.models import Membership
from membersync.members.services import member_get_or_create, membership_create
from membersync.orgs.models import OrgRole, Seat, SeatHolding
from membersync.orgs.services import invitation_accept, invitation_create, seat_assign
from membersync.people import cipher
from membersync.people.cipher import SecretsKeyError
from membersync.people.models import CONTACT, CUSTOMER, Connection, Identity, Member
from membersync.people.services import (
    connection_create,
    connection_failure_record,
    connection_secrets_set,
    member_for_identity,
)
from membersync.sync.models import Enrollment, Event, LedgerEntry
from membersync.sync.worker import worker_tick
from tests.browser.orgdata import FAST_HASHERS, PASSWORD, org_with_people
from tests.conftest import at

pytestmark = pytest.mark.django_db

NOW = at("2026-03-01T12:00")
EARLIER = at("2026-02-01T12:00")
ADMIN = Actor.operator("admin")
CONSUMER_SECRET = "cs_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
WEBHOOK_SECRET = "whsec-very-private-0042"


@pytest.fixture(autouse=True)
def clock_at(set_clock, settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS
    set_clock(NOW)


@pytest.fixture
def shop():
    return connection_create(
        kind="woocommerce",
        name="shop",
        url="https://shop.example.com",
        credentials={"consumer_key": "ck_123", "consumer_secret": CONSUMER_SECRET},
        webhook_secret=WEBHOOK_SECRET,
        settings={"memberships": True},
    )


@pytest.fixture
def crm():
    return connection_create(kind="activecampaign", name="crm", url="https://acct.api-us1.com")


def enrolled(member: Member) -> dict[str, object]:
    worker_tick(now=NOW)
    return dict(Enrollment.objects.filter(member=member).values_list("target_id", "access_from"))


# ---- identities ----


def test_a_known_customer_id_finds_the_same_member_again(shop):
    first = member_for_identity(connection=shop, kind=CUSTOMER, external_id="42", email="ann@example.com", name="Ann")
    again = member_for_identity(connection=shop, kind=CUSTOMER, external_id="42")
    assert first.created and first.member.email == "ann@example.com"
    assert again.how == "identity" and again.member == first.member
    assert Member.objects.count() == 1 and Identity.objects.count() == 1


def test_the_same_id_at_two_connections_names_two_people(shop):
    other = connection_create(kind="woocommerce", name="other-shop")
    ann = member_for_identity(connection=shop, kind=CUSTOMER, external_id="42", email="ann@example.com").member
    bob = member_for_identity(connection=other, kind=CUSTOMER, external_id="42", email="bob@example.com").member
    assert ann != bob


def test_a_store_customer_with_the_address_of_a_member_invited_through_the_portal_becomes_that_member(shop):
    org = org_with_people("acme", seats=1)
    invitation = invitation_create(org_id="acme", email="Alice@Example.com", actor=ADMIN).value
    alice = invitation_accept(token=invitation.token, password=PASSWORD).value
    people = Member.objects.count()

    found = member_for_identity(connection=shop, kind=CUSTOMER, external_id="7", email="  ALICE@example.COM ")

    assert found.how == "email" and found.member == alice
    assert Member.objects.count() == people
    assert OrgRole.objects.get(member=found.member).organization.external_id == org.org_id
    assert list(alice.identities.values_list("connection__name", "external_id")) == [("shop", "7")]


def test_an_order_for_a_new_id_with_a_known_address_goes_to_that_member():
    ann = member_get_or_create(external_id="ann", email="Ann@Example.com")
    assert member_get_or_create(external_id="wp-17", email="ann@example.com ") == ann


def test_an_email_change_at_the_store_follows_the_member_to_other_connections(shop, crm):
    ann = member_for_identity(connection=shop, kind=CUSTOMER, external_id="42", email="ann@old.example").member

    moved = member_for_identity(connection=shop, kind=CUSTOMER, external_id="42", email="Ann@New.example")
    contact = member_for_identity(connection=crm, kind=CONTACT, external_id="c-9", email="ann@new.example")

    ann.refresh_from_db()
    assert moved.email_changed and ann.email == "Ann@New.example" and ann.email_normalized == "ann@new.example"
    assert contact.how == "email" and contact.member == ann


def test_an_identity_without_an_id_or_with_an_unknown_kind_is_refused(shop):
    with pytest.raises(ServiceError) as refused:
        member_for_identity(connection=shop, kind=CUSTOMER, external_id=" ")
    assert refused.value.code == "invalid_value"
    with pytest.raises(ServiceError):
        member_for_identity(connection=shop, kind="merged_member_id", external_id="x")
    assert not Member.objects.exists()


# ---- merging ----


@pytest.fixture
def two_of_alice(shop, set_clock):
    """One person twice: a store customer and a member an admin created, each with a membership; both plans
    grant "shared", each grants one more course."""
    for course in ("shared", "store-only", "admin-only"):
        catalog.course_create(external_id=course)
    catalog.plan_create(external_id="store", grants=[{"course": "shared"}, {"course": "store-only"}])
    catalog.plan_create(external_id="staff", grants=[{"course": "shared"}, {"course": "admin-only"}])
    store = member_for_identity(connection=shop, kind=CUSTOMER, external_id="42", email="alice@shop.example").member
    admin = member_get_or_create(external_id="alice", email="alice@example.com", name="Alice")
    set_clock(EARLIER)
    membership_create(member_id=store.external_id, plan_id="store", actor=ADMIN)
    worker_tick(now=EARLIER)
    set_clock(NOW)
    membership_create(member_id="alice", plan_id="staff", actor=ADMIN)
    enrolled(store), enrolled(admin)
    return admin, store


def test_merging_keeps_both_members_sources_ledger_and_identities_and_gives_the_union_of_access(two_of_alice):
    """The shared course keeps the earlier start (the absorbed member's): her drip clock does not restart."""
    alice, other = two_of_alice
    ledger = set(LedgerEntry.objects.filter(member__in=[alice, other]).values_list("pk", flat=True))
    assert LedgerEntry.objects.filter(member=other).exists()
    assert enrolled(other) == {"shared": EARLIER, "store-only": EARLIER}

    result = members_merge(keep_id="alice", absorb_id=other.external_id, actor=ADMIN)

    assert result.applied and Event.objects.get(pk=result.event_id).kind == "member.merge"
    assert not Member.objects.filter(pk=other.pk).exists()
    assert sorted(Membership.objects.filter(member=alice).values_list("plan__external_id", flat=True)) == [
        "staff",
        "store",
    ]
    assert ledger <= set(LedgerEntry.objects.filter(member=alice).values_list("pk", flat=True))
    assert enrolled(alice) == {"shared": EARLIER, "store-only": EARLIER, "admin-only": NOW}
    assert (
        member_for_identity(connection=Connection.objects.get(name="shop"), kind=CUSTOMER, external_id="42").member
        == alice
    )


def test_events_naming_the_merged_member_find_the_member_she_became(two_of_alice):
    alice, other = two_of_alice
    members_merge(keep_id="alice", absorb_id=other.external_id, actor=ADMIN)
    assert member_get_or_create(external_id=other.external_id) == alice
    membership_create(member_id=other.external_id, plan_id="staff", actor=ADMIN)
    assert Membership.objects.filter(member=alice).count() == 3


def test_merging_the_owner_of_an_organization_into_another_member_keeps_her_in_it():
    org = org_with_people("acme", seats=0)
    twin = member_get_or_create(external_id="olive-2", email="olive2@example.com")
    members_merge(keep_id=twin.external_id, absorb_id=org.owner.external_id, actor=ADMIN)
    assert OrgRole.objects.get(member=twin).role == "owner"
    twin.refresh_from_db()
    assert twin.user_id is not None  # her login came along


def test_two_members_of_one_organization_merge_into_one_person_with_the_stronger_role_and_one_seat():
    org = org_with_people("acme", seats=2)
    seat_assign(org_id="acme", member_id=org.owner.external_id, actor=ADMIN)
    seat_assign(org_id="acme", member_id=org.member.external_id, actor=ADMIN)

    members_merge(keep_id=org.member.external_id, absorb_id=org.owner.external_id, actor=ADMIN)

    assert dict(OrgRole.objects.filter(organization__external_id="acme").values_list("member", "role")) == {
        org.manager.pk: "manager",
        org.member.pk: "owner",
    }
    seats = Seat.objects.filter(organization__external_id="acme")
    assert sorted(str(s.holder_id) for s in seats) == sorted([str(org.member.pk), "None"])
    assert SeatHolding.objects.filter(member=org.member, end__isnull=True).count() == 1


@pytest.mark.parametrize(
    ("keep", "absorb", "code"),
    [("alice", "nobody", "not_found"), ("nobody", "alice", "not_found"), ("alice", "alice", "invalid_value")],
)
def test_a_merge_naming_an_unknown_member_or_the_same_one_twice_is_refused_and_changes_nothing(
    two_of_alice, keep, absorb, code
):
    before = Member.objects.count(), Membership.objects.count(), LedgerEntry.objects.count()
    with pytest.raises(ServiceError) as refused:
        members_merge(keep_id=keep, absorb_id=absorb, actor=ADMIN)
    assert refused.value.code == code
    assert (Member.objects.count(), Membership.objects.count(), LedgerEntry.objects.count()) == before
    assert Event.objects.filter(kind="member.merge", outcome=Event.REFUSED).count() == 1


# ---- secrets at rest ----


def raw_row(connection: Connection) -> str:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT credentials_sealed, webhook_secret_sealed FROM people_connection WHERE id = %s", [connection.pk]
        )
        return " ".join(cursor.fetchone())


def test_secrets_are_encrypted_at_rest_and_read_back_through_the_accessors(shop):
    stored = raw_row(shop)
    assert CONSUMER_SECRET not in stored and WEBHOOK_SECRET not in stored and "ck_123" not in stored
    fresh = Connection.objects.get(pk=shop.pk)
    assert fresh.credentials == {"consumer_key": "ck_123", "consumer_secret": CONSUMER_SECRET}
    assert fresh.webhook_secret == WEBHOOK_SECRET


def test_secrets_are_never_in_repr_or_str(shop):
    for text in (repr(shop), str(shop), repr(Connection.objects.get(pk=shop.pk))):
        assert CONSUMER_SECRET not in text and WEBHOOK_SECRET not in text


def test_replacing_one_secret_keeps_the_other(shop):
    result = connection_secrets_set(connection=shop, webhook_secret="whsec-new-one")
    fresh = Connection.objects.get(pk=shop.pk)
    assert result.webhook_secret and not result.credentials
    assert fresh.webhook_secret == "whsec-new-one" and fresh.credentials["consumer_secret"] == CONSUMER_SECRET


def test_a_failure_recorded_from_an_error_that_quotes_a_secret_stores_it_blanked(shop):
    connection_failure_record(
        connection=shop, error=f"401 for https://shop.example.com/?consumer_secret={CONSUMER_SECRET}"
    )
    fresh = Connection.objects.get(pk=shop.pk)
    assert fresh.consecutive_failures == 1 and CONSUMER_SECRET not in fresh.last_error
    assert "[secret]" in fresh.last_error


def test_reading_secrets_under_another_key_raises_an_error_naming_the_key_setting(shop, settings):
    settings.SECRETS_KEY = Fernet.generate_key().decode()
    fresh = Connection.objects.get(pk=shop.pk)
    with pytest.raises(SecretsKeyError) as error:
        _ = fresh.webhook_secret
    assert "MEMBERSYNC_SECRETS_KEY" in str(error.value) and "shop" in str(error.value)
    assert WEBHOOK_SECRET not in str(error.value)


def test_a_rotated_key_still_reads_secrets_written_with_the_old_one(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SECRETS_KEY = old
    connection_create(kind="learndash", name="lms", webhook_secret="s3cret-lms")
    settings.SECRETS_KEY = f"{new},{old}"
    assert Connection.objects.get(name="lms").webhook_secret == "s3cret-lms"


def test_without_a_secrets_key_one_is_derived_from_secret_key_with_a_warning(settings, caplog):
    settings.SECRETS_KEY = ""
    settings.SECRET_KEY = "a-fresh-secret-key-for-this-test"
    cipher._warn_derived.cache_clear()
    with caplog.at_level(logging.WARNING, logger="membersync.people.cipher"):
        sealed = cipher.secret_seal("x-secret")
        cipher.secret_seal("y-secret")
    assert cipher.secret_open(sealed) == "x-secret"
    warnings = [r for r in caplog.records if "MEMBERSYNC_SECRETS_KEY" in r.getMessage()]
    assert len(warnings) == 1 and "x-secret" not in caplog.text


def test_the_admin_shows_only_whether_a_secret_is_set_and_replaces_it_through_a_blank_field(shop, admin_client):
    url = reverse("admin:people_connection_change", args=[shop.pk])
    page = admin_client.get(url).content.decode()
    assert CONSUMER_SECRET not in page and WEBHOOK_SECRET not in page and shop.webhook_secret_sealed not in page
    assert "set" in page

    response = admin_client.post(
        url,
        {
            "kind": "woocommerce",
            "name": "shop",
            "url": "https://shop.example.com",
            "settings": '{"memberships": true}',
            "new_credentials": "",
            "new_webhook_secret": "whsec-typed-by-an-operator",
        },
    )
    assert response.status_code == 302
    fresh = Connection.objects.get(pk=shop.pk)
    assert fresh.webhook_secret == "whsec-typed-by-an-operator"
    assert fresh.credentials["consumer_secret"] == CONSUMER_SECRET  # left blank: kept
    assert "whsec-typed-by-an-operator" not in admin_client.get(url).content.decode()
