"""Tag changes in from CRMs, each delivery stored raw first (connectors/deliveries.py applies them):

- ActiveCampaign's native webhooks `contact_tag_added` / `contact_tag_removed` to
  `POST /webhooks/activecampaign/NAME/<secret>`: form-encoded (`type`, `contact[id]`, `contact[email]`,
  `contact[tags]`), unsigned (the secret path authenticates), at-least-once and unordered. The worker re-reads the
  contact's tags from the API (outside any transaction) and records that whole set (tags.services.crm_tags_observe),
  so a late, repeated or reordered delivery only ever says what the CRM holds now.
- A generic JSON endpoint for CRMs without native webhooks, `POST /webhooks/crm/NAME`, signed like the companion's
  (X-MemberSync-Signature: base64 HMAC-SHA256 of the body with the connection's webhook secret):
  `{"id", "contact": {"id", "email"}, "tags": [...]}` (the contact's whole set) or `{"applied": [...],
  "removed": [...]}`.
- FluentCRM's tag changes through the companion plugin (`tag.applied` / `tag.removed`, connectors/learndash/inbound.py
  hands them here).
"""

from __future__ import annotations

from collections.abc import Mapping

from membersync.actors import Actor
from membersync.clients.crm import CrmAuthError, CrmError
from membersync.clients.woocommerce import StoreUnavailable
from membersync.errors import ServiceError
from membersync.people.models import CONTACT, FLUENTCRM, WP_USER, Connection
from membersync.people.services import member_for_identity
from membersync.tags import services as tags
from membersync.tags.remote import crm_client

from ..models import Delivery
from ..outcomes import Outcome

AC_TOPICS = ("contact_tag_added", "contact_tag_removed")


def _contact(payload: Mapping) -> tuple[str, str]:
    contact = payload.get("contact") if isinstance(payload.get("contact"), Mapping) else {}
    contact_id = payload.get("contact[id]") or contact.get("id")
    email = payload.get("contact[email]") or contact.get("email") or ""
    if not contact_id:
        raise ServiceError("invalid_value", "the delivery names no contact (contact[id])", field="contact")
    return str(contact_id), str(email)


def crm_fetch(connection: Connection, payload: Mapping, *, action: str) -> dict:
    """Read the contact's tags now (outside any transaction): ActiveCampaign's webhooks are only a notice."""
    if "tags" in payload or "applied" in payload or "removed" in payload:
        return {}
    contact_id, _email = _contact(payload)
    client = crm_client(connection)
    try:
        return {"tags_now": sorted(client.contact_get(contact_id).tags)}
    except CrmAuthError as error:
        raise StoreUnavailable(f"{connection.name} refused the credentials: {error}") from None
    except CrmError as error:
        if error.status == 404:
            return {"tags_now": []}
        raise StoreUnavailable(str(error)) from None
    finally:
        client.close()


def crm_apply(connection: Connection, payload: Mapping, *, action: str, tags_now: list[str] | None = None) -> Outcome:
    contact_id, email = _contact(payload)
    member = member_for_identity(connection=connection, kind=CONTACT, external_id=contact_id, email=email).member
    common = {
        "member": member,
        "actor": Actor.connection(connection.name),
        "source": "webhook",
        "connection": connection,
    }
    if tags_now is None and isinstance(payload.get("tags"), list):
        tags_now = payload["tags"]
    if tags_now is not None:
        result = tags.crm_tags_observe(tags=list(tags_now), **common)
    else:
        result = None
        for key, service in (("applied", tags.tag_apply), ("removed", tags.tag_remove)):
            if payload.get(key):
                result = service(tags=list(payload[key]), **common)
    said = result.value if result is not None else {}
    return Outcome(Delivery.APPLIED, f"contact {contact_id} ({member}): {said}", [result.event_id] if result else [])


def companion_tag_apply(site: Connection, payload: Mapping, *, action: str) -> Outcome:
    """A FluentCRM tag change on the companion's site: for the FluentCRM connection named in its settings
    (`companion`: the LearnDash connection's name), else the only FluentCRM connection, else the built-in CRM."""
    crms = list(Connection.objects.filter(kind=FLUENTCRM))
    crm = next((c for c in crms if c.settings.get("companion") == site.name), crms[0] if len(crms) == 1 else None)
    tag = payload.get("tag") if isinstance(payload.get("tag"), Mapping) else {}
    name = tag.get("slug") or tag.get("title")
    if not name:
        raise ServiceError("invalid_value", "the delivery names no tag (tag.slug)", field="tag")
    user = payload.get("user") if isinstance(payload.get("user"), Mapping) else {}
    email = str(user.get("email") or payload.get("email") or "")
    if user.get("id"):
        member = member_for_identity(connection=site, kind=WP_USER, external_id=str(user["id"]), email=email).member
    elif crm is not None and payload.get("contact"):
        member = member_for_identity(
            connection=crm, kind=CONTACT, external_id=str(payload["contact"]), email=email
        ).member
    else:
        return Outcome(Delivery.IGNORED, f"tag {name}: the contact has no WordPress user and no FluentCRM connection")
    service = tags.tag_remove if action == "removed" else tags.tag_apply
    result = service(member=member, tags=[name], actor=Actor.connection(site.name), source="webhook", connection=crm)
    return Outcome(Delivery.APPLIED, f"tag {name} {action} for {member}: {result.value}", [result.event_id])
