"""The WooCommerce client for a connection, built from its (decrypted) credentials."""

from __future__ import annotations

from django.conf import settings

from membersync.clients.woocommerce import WooCommerceClient
from membersync.people.models import Connection


def store_client(connection: Connection, *, transport=None) -> WooCommerceClient:
    credentials = connection.credentials
    return WooCommerceClient(
        connection.url,
        credentials.get("consumer_key", ""),
        credentials.get("consumer_secret", ""),
        timeout=settings.SINK_HTTP_TIMEOUT_SECONDS,
        transport=transport,
        query_auth=bool(connection.settings.get("query_auth")),
    )
