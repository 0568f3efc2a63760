"""Invitation links: the database keeps only a hash of the token, the link's page carries the token on in a POST
body (never in another URL), and a used, withdrawn, expired or unknown link answers a clear page with no form."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.urls import reverse

from membersync import clock
from membersync.actors import Actor
from membersync.orgs.models import Invitation, OrgRole
from membersync.orgs.services import invitation_cancel, invitation_create
from tests.browser.orgdata import FAST_HASHERS, org_with_people

NEW_PASSWORD = {"password1": "a-long-new-secret", "password2": "a-long-new-secret"}


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS


@pytest.fixture
def acme(db):
    return org_with_people("acme", seats=2)


def invite(email="newbie@example.com") -> Invitation:
    return invitation_create(org_id="acme", email=email, actor=Actor.system("test"), source="admin").value


def link(invitation: Invitation) -> str:
    return reverse("portal:invitation_accept", args=[invitation.token])


def join(token: str, data=NEW_PASSWORD, client=None):
    return (client or Client()).post(reverse("portal:invitation_join"), {"token": token, **data})


def test_the_database_keeps_only_a_hash_of_the_token_and_the_link_still_works(acme):
    invitation = invite()
    stored = Invitation.objects.get(pk=invitation.pk)
    assert stored.token_hash == hashlib.sha256(invitation.token.encode()).hexdigest()
    assert not Invitation.objects.filter(token_hash=invitation.token).exists()
    assert not hasattr(stored, "token")  # read back, it cannot rebuild the link
    assert Client().get(link(invitation)).status_code == 200


def test_the_link_page_posts_the_token_in_the_body_to_a_url_without_it(acme):
    invitation = invite()
    page = Client().get(link(invitation))
    html = page.content.decode()
    action = re.search(r'<form method="post" action="([^"]+)"', html).group(1)
    assert action == reverse("portal:invitation_join") and invitation.token not in action
    assert f'name="token" value="{invitation.token}"' in html
    assert page["Referrer-Policy"] == "strict-origin"
    assert "no-store" in page["Cache-Control"]


def test_the_link_itself_does_not_accept_a_post(acme):
    invitation = invite()
    assert Client().post(link(invitation), NEW_PASSWORD).status_code == 405
    assert Invitation.objects.get(pk=invitation.pk).status == Invitation.PENDING


def test_joining_signs_the_person_in_and_the_used_link_then_shows_no_form(acme):
    invitation = invite()
    client = Client()
    response = join(invitation.token, client=client)
    assert response.status_code == 302 and response["Location"] == reverse("portal:home")
    assert OrgRole.objects.filter(member__email="newbie@example.com", organization__external_id="acme").exists()

    used = Client().get(link(invitation))
    assert used.status_code == 410
    assert "already used" in used.content.decode() and "<form" not in used.content.decode().split("<main", 1)[1]
    again = join(invitation.token, {"password1": "another-secret-9", "password2": "another-secret-9"})
    assert again.status_code == 410 and "already used" in again.content.decode()


def test_a_withdrawn_link_says_so_and_shows_no_form(acme):
    invitation = invite()
    invitation_cancel(invitation_id=invitation.pk, actor=Actor.system("test"), source="admin")
    for response in (Client().get(link(invitation)), join(invitation.token)):
        assert response.status_code == 410
        assert "withdrawn" in response.content.decode()
        assert 'name="password1"' not in response.content.decode()


def test_an_expired_link_says_when_it_expired_and_cannot_be_used(acme, set_clock):
    invitation = invite()
    set_clock(clock.now() + timedelta(days=30))
    for response in (Client().get(link(invitation)), join(invitation.token)):
        assert response.status_code == 410
        assert "expired on" in response.content.decode()
    assert Invitation.objects.get(pk=invitation.pk).status == Invitation.PENDING


def test_an_unknown_or_missing_token_is_a_clear_404(acme):
    for response in (join("not-a-token"), join("")):
        assert response.status_code == 404
        assert "not valid" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_links_sent_before_the_upgrade_keep_working_after_the_migration_hashes_them():
    executor = MigrationExecutor(connection)
    executor.migrate([("orgs", "0003_member_moves_to_people")])
    old = executor.loader.project_state([("orgs", "0003_member_moves_to_people")]).apps
    org = old.get_model("orgs", "Organization").objects.create(
        external_id="old", name="Old Org", created_at=clock.now()
    )
    old.get_model("orgs", "Invitation").objects.create(
        organization=org,
        email="early@example.com",
        token="an-already-emailed-token",
        invited_by="admin",
        created_at=clock.now(),
        expires_at=clock.now() + timedelta(days=14),
    )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    stored = Invitation.objects.get(email="early@example.com")
    assert stored.token_hash == hashlib.sha256(b"an-already-emailed-token").hexdigest()
    page = Client().get(reverse("portal:invitation_accept", args=["an-already-emailed-token"]))
    assert page.status_code == 200 and "Join Old Org" in page.content.decode()
