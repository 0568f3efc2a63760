"""One sink per connected CRM (ActiveCampaign, FluentCRM): sends each member's tag differences, merged per contact
and in bulk where the CRM allows, outside every transaction; answers each operation with what the CRM now holds.

Contacts are found or created by email (identity CONTACT, recorded after the calls). The difference is taken
against MemberSync's mirror of the CRM, so a tag MemberSync does not know of (applied in the CRM, its webhook not
in yet) is never touched.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction

from membersync import clock
from membersync.access.tags import TAG
from membersync.clients.activecampaign import ActiveCampaignClient
from membersync.clients.crm import CrmAuthError, CrmError, TagChange
from membersync.clients.fluentcrm import FluentCrmClient
from membersync.people.models import ACTIVECAMPAIGN, CONTACT, Connection, Identity, Member
from membersync.people.selectors import connections_of_kind
from membersync.people.services import connection_failure_record, connection_success_record
from membersync.sync.mirror import holdings_read
from membersync.sync.models import Operation
from membersync.sync.sinks import Outcome, Sink

from .selectors import CRM_KINDS, crm_sink_name
from .sinks import tags_project

log = logging.getLogger(__name__)


def crm_client(connection: Connection, *, timeout: float = 10.0):
    credentials = connection.credentials
    if connection.kind == ACTIVECAMPAIGN:
        return ActiveCampaignClient(
            connection.url, credentials.get("api_token", ""), timeout=timeout, account=connection.name
        )
    return FluentCrmClient(
        connection.url, credentials.get("user", ""), credentials.get("app_password", ""), timeout=timeout
    )


def crm_sinks() -> list[Sink]:
    """A sink per CRM connection with credentials (wiring.sink_providers)."""
    return [crm_sink(c) for c in connections_of_kind(*CRM_KINDS) if c.has_credentials]


def crm_sink(connection: Connection) -> Sink:
    name = crm_sink_name(connection)
    return Sink(
        name=name,
        apply=lambda operations, now: crm_apply(connection, operations, now),
        transactional=False,
        batch_limit=100,
        calls_per_operation=6,
        shadow=bool(connection.settings.get("shadow", False)),
        project=tags_project(sink=name, connection_id=connection.pk),
    )


def _tags(rows) -> set[str]:
    return {row["target_id"] for row in rows if row["target_kind"] == TAG}


def crm_apply(connection: Connection, operations: list[Operation], now: datetime) -> dict[int, Outcome]:
    sink = crm_sink_name(connection)
    member_ids = [op.member_id for op in operations]
    mirrored = holdings_read(sink=sink, member_ids=member_ids)
    contacts = dict(
        Identity.objects.filter(connection=connection, kind=CONTACT, member_id__in=member_ids).values_list(
            "member_id", "external_id"
        )
    )
    emails = dict(Member.objects.filter(pk__in=member_ids).values_list("pk", "email"))
    client = crm_client(connection)
    outcomes: dict[int, Outcome] = {}
    made: dict[int, tuple[str, str]] = {}
    changes: dict[int, TagChange] = {}
    try:
        for op in operations:
            known = {tag for kind, tag in mirrored.get(op.member_id, {}) if kind == TAG}
            wanted = _tags(op.wanted)
            if wanted == known:
                outcomes[op.pk] = Outcome(holds=list(op.wanted))
                continue
            contact_id = contacts.get(op.member_id)
            if contact_id is None:
                email = emails.get(op.member_id) or ""
                if not email:
                    outcomes[op.pk] = Outcome(holds=None, error="the member has no email: no CRM contact", retry=False)
                    continue
                contact_id = client.contact_upsert(email).id
                made[op.member_id] = (contact_id, email)
            changes[op.pk] = TagChange(contact_id, frozenset(wanted - known), frozenset(known - wanted))
        if changes:
            client.tags_change(list(changes.values()))
        for op in operations:
            if op.pk in changes:
                outcomes[op.pk] = Outcome(holds=list(op.wanted))
        connection_success_record(connection=connection)
    except CrmAuthError as error:
        connection_failure_record(connection=connection, error=f"credentials refused: {error}")
        for op in operations:
            outcomes.setdefault(op.pk, Outcome(holds=None, error=str(error), hold=True))
    except CrmError as error:
        connection_failure_record(connection=connection, error=str(error))
        for op in operations:
            outcomes.setdefault(
                op.pk, Outcome(holds=None, error=str(error), retry=error.retry, retry_after=error.retry_after)
            )
    finally:
        client.close()
        _identities_record(connection, made)
    return outcomes


def _identities_record(connection: Connection, made: dict[int, tuple[str, str]]) -> None:
    if not made:
        return
    with transaction.atomic():
        for member_id, (contact_id, email) in made.items():
            Identity.objects.get_or_create(
                connection=connection,
                kind=CONTACT,
                external_id=contact_id,
                defaults={"member_id": member_id, "email": email, "created_at": clock.now()},
            )
