"""What a LearnDash site's companion plugin sends: `POST /webhooks/learndash/NAME` (views.learndash_receive), each
delivery signed with the connection's webhook secret, stored raw, answered at once and applied by the worker.

A delivery is JSON `{"id", "topic", "occurred_at", "user": {"id", "email"}, ...}` with three headers:
`X-MemberSync-Signature` (base64 HMAC-SHA256 of the raw body), `X-MemberSync-Delivery` (its id, the same on every
retry) and `X-MemberSync-Topic`. Applied by topic (docs/decisions, companion REST contract):

- `enrollment.added` / `enrollment.removed` (a course, or a group), `group.joined` / `group.left` and
  `group_leader.added` / `group_leader.removed`: made by hand in LearnDash (the plugin never sends the ones
  MemberSync made itself), they become or end the member's `lms` source (membersync.lms.services) for the catalog
  course or group the site's post is linked to;
- FluentCRM tag changes (`tag.applied` / `tag.removed`) go to the CRM tag services (issue 15, crm/inbound.py);
- progress, quizzes, essays and assignments are kept and recorded as ignored until issue 16 uses them: never
  dropped, replayable then.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from datetime import UTC, datetime

from django.db import transaction

from membersync import clock
from membersync.access.lms import HAND
from membersync.access.rules import COURSE, GROUP, GROUP_LEADER
from membersync.actors import Actor
from membersync.catalog.models import Course, Group
from membersync.errors import ServiceError
from membersync.people.models import WP_USER, Connection
from membersync.people.services import connection_delivery_record, member_for_identity

from ..models import Delivery
from ..outcomes import Outcome
from .models import SiteTarget

SIGNATURE_HEADER = "X-MemberSync-Signature"
DELIVERY_HEADER = "X-MemberSync-Delivery"
TOPIC_HEADER = "X-MemberSync-Topic"
KEPT_HEADERS = ("Content-Type", "User-Agent", SIGNATURE_HEADER, DELIVERY_HEADER, TOPIC_HEADER)
LATER = "ignored: handled by issue 15/16"  # progress, quizzes and tags: kept until those issues use them


def companion_signature(secret: str, body: bytes) -> str:
    """base64 of the raw HMAC-SHA256 of the exact body, keyed with the connection's webhook secret."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def companion_signature_valid(secret: str, body: bytes, given: str | None) -> bool:
    if not secret or not given:
        return False
    return hmac.compare_digest(companion_signature(secret, body).encode(), given.strip().encode())


def companion_delivery_receive(*, connection: Connection, headers: Mapping[str, str], body: bytes) -> Delivery:
    """Store a delivery whose signature was checked, exactly as it came; the worker applies it."""
    now = clock.now()
    topic = headers.get(TOPIC_HEADER, "")
    resource, _, action = topic.partition(".")
    with transaction.atomic():
        delivery = Delivery.objects.create(
            connection=connection,
            topic=topic[:64],
            resource=resource[:32],
            action=action[:32],
            delivery_id=headers.get(DELIVERY_HEADER, "")[:128],
            headers={name: headers[name] for name in KEPT_HEADERS if name in headers},
            body=body,
            received_at=now,
            next_attempt_at=now,
        )
        connection_delivery_record(connection=connection, at=now)
    return delivery


# ---- applying, by the topic's resource (deliveries.py calls these with action = the topic's verb) ----


def enrollment_apply(connection: Connection, payload: Mapping, *, action: str) -> Outcome:
    """A course or group enrolled or unenrolled by hand in LearnDash."""
    if payload.get("group") is not None and payload.get("course") is None:
        return _lms(connection, payload, GROUP, payload.get("group"), ended=action == "removed")
    return _lms(connection, payload, COURSE, payload.get("course"), ended=action == "removed")


def group_apply(connection: Connection, payload: Mapping, *, action: str) -> Outcome:
    return _lms(connection, payload, GROUP, payload.get("group"), ended=action == "left")


def group_leader_apply(connection: Connection, payload: Mapping, *, action: str) -> Outcome:
    return _lms(connection, payload, GROUP_LEADER, payload.get("group"), ended=action == "removed")


def later_apply(connection: Connection, payload: Mapping, *, action: str) -> Outcome:
    user = payload.get("user") if isinstance(payload.get("user"), Mapping) else {}
    who = f"WordPress user {user['id']}" if user.get("id") else (user.get("email") or "no user")
    return Outcome(Delivery.IGNORED, f"{LATER} ({payload.get('topic') or action}, {who})")


APPLY_BY_RESOURCE = {
    "enrollment": enrollment_apply,
    "group": group_apply,
    "group_leader": group_leader_apply,
    **dict.fromkeys(("course", "lesson", "topic", "quiz", "essay", "assignment"), later_apply),
    "tag": lambda connection, payload, *, action: _tag(connection, payload, action=action),
}


def _tag(connection: Connection, payload: Mapping, *, action: str) -> Outcome:
    """FluentCRM's tag changes on this site: CRM tags (issue 15, connectors/crm/inbound.py)."""
    from ..crm.inbound import companion_tag_apply

    return companion_tag_apply(connection, payload, action=action)


def _lms(connection: Connection, payload: Mapping, kind: str, remote_id, *, ended: bool) -> Outcome:
    from membersync.lms.services import lms_enrollment_end, lms_enrollment_record

    site_kind = GROUP if kind == GROUP_LEADER else kind
    if isinstance(remote_id, bool) or not isinstance(remote_id, int) or remote_id < 1:
        raise ServiceError("invalid_value", f"the delivery's {site_kind} must be a post id, not {remote_id!r}")
    target_id = _catalog_target(connection, site_kind, remote_id)
    if target_id is None:
        return Outcome(
            Delivery.IGNORED,
            f"{site_kind} {remote_id} on {connection.name} is linked to no course or group of the catalog "
            f"(membersync import learndash {connection.name} links them): MemberSync does not follow it",
        )
    user_id, email = _user(payload)
    member = member_for_identity(connection=connection, kind=WP_USER, external_id=str(user_id), email=email).member
    common = {
        "member": member,
        "target_kind": kind,
        "target_id": target_id,
        "at": _moment(payload),
        "actor": Actor.connection(connection.name),
        "source": "webhook",
        "connection": connection,
        "idempotency_key": f"learndash:{connection.name}:{payload.get('id') or ''}" if payload.get("id") else None,
    }
    what = f"{kind.replace('_', ' ')} {target_id} (site {site_kind} {remote_id}) for {member}"
    if not ended:
        result = lms_enrollment_record(origin=HAND, note="by hand in LearnDash (companion)", **common)
        said = "already kept as" if result.duplicate else "kept as"
        return Outcome(Delivery.APPLIED, f"{what}: made by hand, {said} an lms source", _events(result))
    try:
        result = lms_enrollment_end(**common)
    except ServiceError as error:
        if error.code != "not_found":
            raise
        return Outcome(
            Delivery.IGNORED,
            f"{what}: undone by hand, but it was no enrollment made in LearnDash ({error}); MemberSync's own "
            "access stays and `membersync verify learndash` reports the difference",
        )
    return Outcome(Delivery.APPLIED, f"{what}: undone by hand, its lms source ended", _events(result))


def _catalog_target(connection: Connection, kind: str, remote_id: int) -> str | None:
    """The catalog course or group the site's post is linked to (SiteTarget), else the one whose external id is
    the post id (the import's own rule), else None."""
    linked = SiteTarget.objects.filter(connection=connection, kind=kind, remote_id=remote_id).first()
    if linked is not None:
        return linked.target_id or None
    model = Course if kind == COURSE else Group
    return str(remote_id) if model.objects.filter(external_id=str(remote_id)).exists() else None


def _user(payload: Mapping) -> tuple[int | None, str]:
    user = payload.get("user")
    if not isinstance(user, Mapping):
        raise ServiceError("invalid_value", "the delivery names no user ({'id', 'email'})", field="user")
    user_id, email = user.get("id"), user.get("email") or ""
    if isinstance(user_id, bool) or not isinstance(user_id, int) or user_id < 1:
        raise ServiceError("invalid_value", f"user.id must be a WordPress user id, not {user_id!r}", field="user.id")
    return user_id, str(email)


def _moment(payload: Mapping) -> datetime:
    """When it happened on the site (occurred_at, ISO 8601 GMT), else now."""
    text = payload.get("occurred_at")
    if not isinstance(text, str) or not text:
        return clock.now()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        said = f"occurred_at {text!r} is not an ISO 8601 time"
        raise ServiceError("invalid_value", said, field="occurred_at") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _events(result) -> list[int]:
    event_id = getattr(result, "event_id", None)
    return [event_id] if event_id else []
