"""A connected LearnDash site: finding its connection by name, and its REST client built from the (decrypted)
credentials and the route bases read at connect time."""

from __future__ import annotations

from django.conf import settings

from membersync.errors import ServiceError
from membersync.people.models import LEARNDASH, Connection


def learndash_connection_named(name: str) -> Connection:
    """The LearnDash connection of this name, or a ServiceError (not_found) naming the ones there are."""
    connection = Connection.objects.filter(kind=LEARNDASH, name=name).first()
    if connection is None:
        known = ", ".join(Connection.objects.filter(kind=LEARNDASH).values_list("name", flat=True)) or "none yet"
        raise ServiceError(
            "not_found",
            f"no LearnDash connection named {name!r} (connections: {known}); "
            "make one with `membersync connect learndash NAME --url URL --user U --app-password P`",
            field="name",
        )
    return connection


def site_client(connection: Connection, *, transport=None):
    """The LearnDash client of this connection (the caller closes it)."""
    from membersync.clients.learndash import LearnDashClient

    credentials = connection.credentials
    return LearnDashClient(
        connection.url,
        credentials.get("user", ""),
        credentials.get("app_password", ""),
        timeout=settings.SINK_HTTP_TIMEOUT_SECONDS,
        bases=connection.settings.get("bases") or None,
        transport=transport,
    )


WP_USERS_PATH = "/wp-json/wp/v2/users"


def wp_users_pages(client, *, start_page: int = 1):
    """WordPress's own users list with context=edit (emails and usernames, which LearnDash's users route leaves
    out), by id, page by page. The client has no public pager for WordPress's routes yet: its pager is used on
    this one path (what `LearnDashClient.pages` does for LearnDash's routes)."""
    return client._pages(WP_USERS_PATH, start_page, {"context": "edit", "orderby": "id", "order": "asc"})
