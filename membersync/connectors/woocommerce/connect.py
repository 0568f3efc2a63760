"""Connecting a WooCommerce store: its credentials checked against its REST API, then stored encrypted."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from membersync.clients.woocommerce import StoreError
from membersync.errors import ServiceError
from membersync.people.models import WOOCOMMERCE, Connection
from membersync.people.services import connection_create

from .store import store_client

TOPICS = (
    "order.created",
    "order.updated",
    "order.deleted",
    "subscription.created",
    "subscription.updated",
    "subscription.deleted",
    "subscription.switched",
    "customer.created",
    "customer.updated",
    "customer.deleted",
)
MEMBERSHIPS_TOPICS = (
    "user_membership.created",
    "user_membership.updated",
    "user_membership.transferred",
    "user_membership.deleted",
    "membership_plan.created",
    "membership_plan.updated",
    "membership_plan.deleted",
    "membership_plan.restored",
)


@dataclass(frozen=True)
class Connected:
    connection: Connection
    delivery_url: str
    webhook_secret: str
    topics: tuple[str, ...]


def delivery_url(connection: Connection) -> str:
    return settings.PUBLIC_URL + reverse("webhook-woocommerce", args=[connection.name])


def woocommerce_key_check(*, url: str, consumer_key: str, consumer_secret: str, transport=None) -> None:
    """Refused with a ServiceError saying why unless the store at `url` accepts this REST API key."""
    probe = Connection(kind=WOOCOMMERCE, name="probe", url=url)
    probe.set_credentials({"consumer_key": consumer_key, "consumer_secret": consumer_secret})
    try:
        store_client(probe, transport=transport).check()
    except StoreError as error:
        message = f"the store did not accept the connection: {error}"
        raise ServiceError("invalid_value", message, field="url") from None


def woocommerce_connect(
    *,
    name: str,
    url: str,
    consumer_key: str,
    consumer_secret: str,
    webhook_secret: str = "",
    memberships: bool = False,
    check: bool = True,
    transport=None,
) -> Connected:
    """Check the store accepts the consumer key (unless `check` is off), then store the connection with its
    credentials and webhook secret (generated unless given), both encrypted. Nothing is stored if the check fails."""
    if not consumer_key or not consumer_secret:
        raise ServiceError("invalid_value", "a store connection needs a consumer key and secret", field="consumer_key")
    webhook_secret = webhook_secret or secrets.token_urlsafe(32)
    if check:
        woocommerce_key_check(url=url, consumer_key=consumer_key, consumer_secret=consumer_secret, transport=transport)
    connection = connection_create(
        kind=WOOCOMMERCE,
        name=name,
        url=url,
        credentials={"consumer_key": consumer_key, "consumer_secret": consumer_secret},
        webhook_secret=webhook_secret,
        settings={"memberships": memberships},
    )
    topics = TOPICS + (MEMBERSHIPS_TOPICS if memberships else ())
    return Connected(connection, delivery_url(connection), webhook_secret, topics)
