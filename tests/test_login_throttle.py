"""Portal and admin logins: too many failures for one account or from one address are refused for a while, with
a message that says how long to wait, and logged (never with the password). A signed-in person sent back to the
login page is redirected, not shown an error."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from membersync.portal import throttle
from tests.conftest import at

NOW = at("2026-03-01T12:00")
PASSWORD = "the-right-passphrase"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(db, set_clock):
    set_clock(NOW)
    return get_user_model().objects.create_user("ada@example.com", "ada@example.com", PASSWORD)


@pytest.fixture
def admin_user_(db, set_clock):
    set_clock(NOW)
    return get_user_model().objects.create_superuser("boss", "boss@example.com", PASSWORD)


def portal_login(username, password, address="192.0.2.1", client=None):
    client = client or Client(REMOTE_ADDR=address)
    return client.post(reverse("portal:login"), {"username": username, "password": password})


def admin_login(username, password, address="192.0.2.1"):
    return Client(REMOTE_ADDR=address).post(
        reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"}
    )


def test_a_signed_in_person_sent_to_the_login_page_with_next_pointing_at_it_is_redirected_home(user):
    client = Client()
    client.force_login(user)
    response = client.get(reverse("portal:login"), {"next": reverse("portal:login")})
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")


def test_a_signed_in_person_with_a_safe_next_still_goes_there(user):
    client = Client()
    client.force_login(user)
    response = client.get(reverse("portal:login"), {"next": "/portal/orgs/acme/"})
    assert response.status_code == 302 and response["Location"] == "/portal/orgs/acme/"


def test_five_wrong_passwords_lock_the_account_even_against_the_right_one_with_the_wait_stated(user, caplog):
    for _ in range(throttle.ACCOUNT_LIMIT):
        response = portal_login("ada@example.com", "wrong guess")
        assert response.status_code == 200 and "Please enter a correct" in response.content.decode()
    with caplog.at_level(logging.WARNING, logger="membersync.security"):
        refused = portal_login("ADA@example.com", PASSWORD, address="198.51.100.7")  # other case, other address
    page = refused.content.decode()
    assert "Too many failed logins" in page and "Wait 15 minutes before you try again" in page
    assert "_auth_user_id" not in refused.client.session
    assert "login refused for 'ada@example.com' from 198.51.100.7" in caplog.text
    assert PASSWORD not in caplog.text


def test_the_lock_lifts_when_the_oldest_failure_leaves_the_window(user, set_clock):
    for minute in range(throttle.ACCOUNT_LIMIT):
        set_clock(NOW + timedelta(minutes=minute))
        portal_login("ada@example.com", "wrong guess")
    set_clock(NOW + timedelta(minutes=10))
    assert "Wait 5 minutes" in portal_login("ada@example.com", PASSWORD).content.decode()
    set_clock(NOW + timedelta(minutes=15, seconds=1))
    client = Client()
    response = portal_login("ada@example.com", PASSWORD, client=client)
    assert response.status_code == 302
    assert client.get(reverse("portal:home")).status_code == 200


def test_failures_are_logged_without_the_password(user, caplog):
    with caplog.at_level(logging.WARNING, logger="membersync.security"):
        portal_login("ada@example.com", "my-secret-typo")
    assert "login failed for 'ada@example.com' from 192.0.2.1" in caplog.text
    assert "my-secret-typo" not in caplog.text


def test_a_successful_login_clears_the_accounts_failures(user):
    for _ in range(throttle.ACCOUNT_LIMIT - 1):
        portal_login("ada@example.com", "wrong guess")
    assert portal_login("ada@example.com", PASSWORD).status_code == 302
    for _ in range(throttle.ACCOUNT_LIMIT - 1):
        portal_login("ada@example.com", "wrong guess")
    assert portal_login("ada@example.com", PASSWORD).status_code == 302


def test_one_address_trying_many_accounts_is_locked_out_but_others_are_not(user):
    for n in range(throttle.ADDRESS_LIMIT):
        portal_login(f"guess{n}@example.com", "wrong guess", address="203.0.113.9")
    refused = portal_login("ada@example.com", PASSWORD, address="203.0.113.9")
    assert "Too many failed logins" in refused.content.decode()
    assert portal_login("ada@example.com", PASSWORD, address="192.0.2.44").status_code == 302


def test_behind_a_trusted_proxy_the_forwarded_client_address_is_counted_not_the_proxys(user, settings):
    settings.TRUSTED_PROXY_COUNT = 1

    def through_proxy(client_address, username, password):
        client = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR=f"1.2.3.4, {client_address}")
        return client.post(reverse("portal:login"), {"username": username, "password": password})

    for n in range(throttle.ADDRESS_LIMIT):
        through_proxy("203.0.113.9", f"guess{n}@example.com", "wrong guess")
    assert "Too many failed logins" in through_proxy("203.0.113.9", "ada@example.com", PASSWORD).content.decode()
    assert through_proxy("192.0.2.50", "ada@example.com", PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too_and_shares_the_count(admin_user_):
    for _ in range(3):
        assert "Please enter the correct" in admin_login("boss", "wrong guess").content.decode()
    for _ in range(2):
        portal_login("boss", "wrong guess")
    refused = admin_login("boss", PASSWORD)
    assert refused.status_code == 200
    assert "Too many failed logins" in refused.content.decode() and "Wait 15 minutes" in refused.content.decode()
    assert Client().get(reverse("admin:index")).status_code == 302
