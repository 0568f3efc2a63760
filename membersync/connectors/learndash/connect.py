"""Connecting a LearnDash site: its route bases read from its REST index, its application password checked
(a LearnDash admin's), then stored encrypted. A new site starts in shadow mode with the brake on."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from django.db import transaction

from membersync import clock
from membersync.actors import Actor
from membersync.errors import ServiceError
from membersync.people.models import LEARNDASH, Connection
from membersync.people.services import connection_create

from .site import site_client

BRAKE_STUDENTS = 50  # a reconcile removing access for more students than this (or BRAKE_PERCENT) is held
BRAKE_PERCENT = 5


@dataclass(frozen=True)
class Connected:
    connection: Connection
    bases: dict
    has_companion: bool
    webhook_secret: str


def learndash_site_check(*, url: str, user: str, app_password: str, transport=None):
    """The site's SiteInfo (route bases, companion), or a ServiceError saying why the site refused: the
    credentials must be a LearnDash admin's application password."""
    from membersync.clients.learndash import SiteError

    probe = Connection(kind=LEARNDASH, name="probe", url=url)
    probe.set_credentials({"user": user, "app_password": app_password})
    client = site_client(probe, transport=transport)
    try:
        info = client.discover()
        client.check()
    except SiteError as error:
        raise ServiceError("invalid_value", f"the site did not accept the connection: {error}", field="url") from None
    finally:
        client.close()
    return info


def learndash_connect(
    *, name: str, url: str, user: str, app_password: str, webhook_secret: str = "", transport=None
) -> Connected:
    """Check the site (bases discovered, credentials a LearnDash admin's), then store the connection with its
    application password and a webhook secret for the companion plugin, both encrypted. Shadow mode is on and
    the brake set to its defaults. Nothing is stored if the site refuses."""
    if not user or not app_password:
        raise ServiceError("invalid_value", "a LearnDash site needs a user and an application password", field="user")
    url = url.rstrip("/")
    info = learndash_site_check(url=url, user=user, app_password=app_password, transport=transport)
    webhook_secret = webhook_secret or secrets.token_urlsafe(32)
    connection = connection_create(
        kind=LEARNDASH,
        name=name,
        url=url,
        credentials={"user": user, "app_password": app_password},
        webhook_secret=webhook_secret,
        settings={
            "bases": dict(info.bases),
            "has_companion": bool(info.has_companion),
            "shadow": True,
            "brake": True,
            "brake_students": BRAKE_STUDENTS,
            "brake_percent": BRAKE_PERCENT,
        },
    )
    return Connected(connection, dict(info.bases), bool(info.has_companion), webhook_secret)


def learndash_shadow_set(*, connection: Connection, shadow: bool, actor: Actor) -> Connection:
    """Turn shadow mode on or off. Off: the outbox sends each member's latest operation to the site (ENGINE's
    outbox reads the setting at its next pass)."""
    if connection.kind != LEARNDASH:
        raise ServiceError("invalid_value", f"{connection.name} is not a LearnDash site", field="connection")
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        settings = dict(locked.settings)
        settings["shadow"] = bool(shadow)
        changes = list(settings.get("shadow_changes", []))[-19:]
        changes.append({"shadow": bool(shadow), "at": clock.now().isoformat(), "by": f"{actor.kind}:{actor.id}"})
        settings["shadow_changes"] = changes
        locked.settings = settings
        locked.save(update_fields=["settings"])
    return locked


def learndash_brake_set(*, connection: Connection, students: int, percent: float, actor: Actor) -> Connection:
    """Set the brake's thresholds: a reconcile removing access for more than `students` students or `percent`
    of the site's students holds those removals for confirmation."""
    if students < 1:
        raise ServiceError("invalid_value", "the brake's student count must be at least 1", field="brake_students")
    if not 0 < percent <= 100:
        raise ServiceError(
            "invalid_value", "the brake's percentage must be above 0 and at most 100", field="brake_percent"
        )
    with transaction.atomic():
        locked = Connection.objects.select_for_update().get(pk=connection.pk)
        locked.settings = {**locked.settings, "brake_students": int(students), "brake_percent": float(percent)}
        locked.save(update_fields=["settings"])
    return locked
