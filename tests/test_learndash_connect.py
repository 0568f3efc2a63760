"""`membersync connect learndash`: the site's route bases read from its REST index, the application password
checked (an administrator's), stored encrypted, shadow mode on; nothing stored when the site refuses."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from membersync.people.models import Connection
from tests.contract.fixtures import learndash_site_factory  # noqa: F401  (fixture)


def connect(site, *extra, password=None) -> str:
    out = io.StringIO()
    call_command(
        "connect",
        "learndash",
        "academy",
        "--url",
        site.url,
        "--user",
        site.username,
        "--app-password",
        site.app_password if password is None else password,
        *extra,
        stdout=out,
    )
    return out.getvalue()


def test_connect_stores_the_sites_own_routes_and_the_password_encrypted_in_shadow_mode(db, learndash_site_factory):  # noqa: F811
    site = learndash_site_factory(bases={"users": "students", "courses": "classes"})
    out = connect(site)
    connection = Connection.objects.get(name="academy")
    assert connection.kind == "learndash"
    assert connection.settings["bases"]["users"] == "students" and connection.settings["bases"]["courses"] == "classes"
    assert connection.settings["shadow"] is True and connection.settings["has_companion"] is False
    assert (connection.settings["brake_students"], connection.settings["brake_percent"]) == (50, 5)
    assert connection.credentials == {"user": site.username, "app_password": site.app_password}
    assert site.app_password not in connection.credentials_sealed and site.app_password not in out
    assert connection.has_webhook_secret
    assert "Shadow mode is ON" in out and "restarts the drip" in out


def test_with_the_companion_plugin_the_connection_says_so(db, learndash_site_factory):  # noqa: F811
    out = connect(learndash_site_factory(companion=True))
    assert Connection.objects.get(name="academy").settings["has_companion"] is True
    assert "companion plugin answers" in out


@pytest.mark.parametrize(
    ("options", "password", "said"),
    [
        ({}, "wrong pass word", "incorrect_password"),
        ({"admin": False}, None, "not a LearnDash admin"),
    ],
)
def test_a_refused_password_stores_nothing(db, learndash_site_factory, options, password, said):  # noqa: F811
    site = learndash_site_factory(**options)
    with pytest.raises(CommandError, match="the site did not accept the connection") as refused:
        connect(site, password=password)
    assert said in str(refused.value)
    assert site.app_password not in str(refused.value)
    assert not Connection.objects.exists()


def test_a_site_without_learndash_is_refused(db, learndash_site_factory):  # noqa: F811
    site = learndash_site_factory()
    with pytest.raises(CommandError, match="the site did not accept the connection"):
        call_command(
            "connect", "learndash", "academy", "--url", site.url + "/nowhere", "--user", "u", "--app-password", "p"
        )
    assert not Connection.objects.exists()


def test_the_admin_connects_a_site_once_it_accepts_the_password(admin_client, learndash_site_factory):  # noqa: F811
    site = learndash_site_factory()
    add = "/admin/learndash/learndashsite/add/"
    form = {"name": "academy", "url": site.url, "user": site.username, "app_password": "wrong"}
    refused = admin_client.post(add, form)
    assert refused.status_code == 200 and "incorrect_password" in refused.content.decode()
    assert not Connection.objects.exists()
    connected = admin_client.post(add, {**form, "app_password": site.app_password}, follow=True)
    page = connected.content.decode()
    assert "Shadow: MemberSync records what it would send and sends nothing" in page
    assert "LearnDash restarts the drip" in page
    assert Connection.objects.get(name="academy").settings["shadow"] is True
