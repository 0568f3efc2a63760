"""Connecting a CRM: its credentials checked with one call, then stored sealed with a webhook secret of its own.

ActiveCampaign posts its tag webhooks to a secret address (`/webhooks/activecampaign/NAME/<secret>`); any CRM may
post to the generic signed endpoint (`/webhooks/crm/NAME`); FluentCRM's tag changes come through the companion
plugin of the LearnDash site it lives on (settings `companion`: that connection's name).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from membersync.clients.crm import CrmAuthError, CrmError
from membersync.errors import ServiceError
from membersync.people.models import ACTIVECAMPAIGN, FLUENTCRM, LEARNDASH, Connection
from membersync.people.services import connection_create

from .remote import crm_client
from .selectors import CRM_NAMES


@dataclass(frozen=True)
class CrmConnected:
    connection: Connection
    webhook_secret: str
    webhook_url: str  # ActiveCampaign's tag webhooks (the secret is in the path); "" for FluentCRM
    generic_url: str  # the signed JSON endpoint, for any CRM


def crm_webhook_urls(connection: Connection) -> tuple[str, str]:
    """(ActiveCampaign's secret webhook address or "", the generic signed endpoint's address)."""
    generic = settings.PUBLIC_URL + reverse("webhook-crm", args=[connection.name])
    if connection.kind != ACTIVECAMPAIGN or not connection.has_webhook_secret:
        return "", generic
    native = settings.PUBLIC_URL + reverse("webhook-activecampaign", args=[connection.name, connection.webhook_secret])
    return native, generic


def _credentials(kind: str, *, api_token: str, user: str, app_password: str) -> dict:
    if kind == ACTIVECAMPAIGN:
        if not api_token:
            raise ServiceError("invalid_value", "ActiveCampaign needs an API token", field="api_token")
        return {"api_token": api_token}
    if kind == FLUENTCRM:
        if not user or not app_password:
            raise ServiceError(
                "invalid_value", "FluentCRM needs a WordPress user and its application password", field="user"
            )
        return {"user": user, "app_password": app_password}
    raise ServiceError("invalid_value", f"{kind!r} is not a CRM: activecampaign or fluentcrm", field="kind")


def crm_credentials_check(*, kind: str, url: str, credentials: dict) -> None:
    """One call to the CRM with these credentials; a ServiceError says why it refused or could not answer."""
    probe = Connection(kind=kind, name="probe", url=url)
    probe.set_credentials(credentials)
    client = crm_client(probe)
    try:
        client.account_check()
    except CrmAuthError as error:
        raise ServiceError(
            "invalid_value", f"{CRM_NAMES[kind]} refused the credentials: {error}", field="credentials"
        ) from None
    except CrmError as error:
        raise ServiceError(
            "invalid_value", f"{CRM_NAMES[kind]} did not answer as expected: {error}", field="url"
        ) from None
    finally:
        client.close()


@dataclass(frozen=True)
class CrmChecked:
    kind: str
    name: str
    url: str
    credentials: dict
    settings: dict


def crm_connection_check(
    *,
    kind: str,
    name: str,
    url: str,
    api_token: str = "",
    user: str = "",
    app_password: str = "",
    companion: str = "",
    check: bool = True,
) -> CrmChecked:
    """Everything crm_connect checks, storing nothing: the credentials called against the CRM (unless `check` is
    off), the name free, the companion a LearnDash connection. A ServiceError names the field at fault."""
    credentials = _credentials(kind, api_token=api_token, user=user, app_password=app_password)
    if not url:
        raise ServiceError("invalid_value", f"{CRM_NAMES[kind]} needs its URL", field="url")
    url = url.rstrip("/")
    conn_settings = {}
    if companion:
        if kind != FLUENTCRM:
            raise ServiceError("invalid_value", "only FluentCRM reports tags through the companion", field="companion")
        if not Connection.objects.filter(kind=LEARNDASH, name=companion).exists():
            raise ServiceError("not_found", f"no LearnDash connection named {companion!r}", field="companion")
        conn_settings["companion"] = companion
    if Connection.objects.filter(name=name).exists():  # before calling the CRM: say the cheap refusal first
        raise ServiceError("duplicate_id", f"a connection named {name!r} already exists", field="name")
    if check:
        crm_credentials_check(kind=kind, url=url, credentials=credentials)
    return CrmChecked(kind, name, url, credentials, conn_settings)


def crm_connection_store(*, checked: CrmChecked, webhook_secret: str = "") -> CrmConnected:
    """Store a checked connection, its credentials and a webhook secret (a new random one unless given) sealed."""
    webhook_secret = webhook_secret or secrets.token_urlsafe(32)
    connection = connection_create(
        kind=checked.kind,
        name=checked.name,
        url=checked.url,
        credentials=checked.credentials,
        webhook_secret=webhook_secret,
        settings=checked.settings,
    )
    native, generic = crm_webhook_urls(connection)
    return CrmConnected(connection, webhook_secret, native, generic)


def crm_connect(
    *,
    kind: str,
    name: str,
    url: str,
    api_token: str = "",
    user: str = "",
    app_password: str = "",
    webhook_secret: str = "",
    companion: str = "",
    check: bool = True,
) -> CrmConnected:
    """Check the credentials against the CRM (unless `check` is off), then store the connection with them and a
    webhook secret, both sealed. Nothing is stored if the CRM refuses. `companion` (FluentCRM): the LearnDash
    connection whose companion plugin reports this CRM's tag changes."""
    checked = crm_connection_check(
        kind=kind,
        name=name,
        url=url,
        api_token=api_token,
        user=user,
        app_password=app_password,
        companion=companion,
        check=check,
    )
    return crm_connection_store(checked=checked, webhook_secret=webhook_secret)
