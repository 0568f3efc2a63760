"""A member's data: exported (everything MemberSync holds about her, as JSON) or erased.

Erasing replaces what names her with a pseudonym and keeps the structure: her memberships, orders, seats and the
ledger stay (the site's accounts and the access history still add up), under `erased-…`. Her member row, login
and identities are handled by people/privacy.py; here, every other record that can name her is redacted: inbox
events and raw webhook deliveries (their personal fields become "[erased]", her address, name and id the
pseudonym), ledger texts, emails sent, invitations, failed logins, stored API answers, the admin's history.

Only a member with no current or future access can be erased (her memberships, seats and licenses ended first):
MemberSync would otherwise keep sending her access to the LMS with no way left to find her there.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime

from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q

from membersync.actors import Actor
from membersync.api.models import IdempotentAnswer
from membersync.connectors.models import Delivery
from membersync.errors import ServiceError
from membersync.lms.models import LmsEnrollment
from membersync.members.models import Membership, MembershipPause, Notification, Order, Subscription
from membersync.orgs.models import Invitation, License, LicenseAssignment, OrgRole, SeatHolding
from membersync.people.models import Member
from membersync.people.privacy import (
    PersonalData,
    erased_email,
    member_is_erased,
    member_personal_data,
    member_pseudonymize,
    pseudonym_new,
)
from membersync.portal.models import LoginFailure
from membersync.sync.models import Enrollment, Event, GrantRecord, LedgerEntry

log = logging.getLogger(__name__)
ERASED = "[erased]"
# Keys whose values are about the person in what stores, sites and the API send: replaced whatever they hold.
PERSONAL_KEYS = frozenset(
    {
        "email",
        "billing_email",
        "user_email",
        "first_name",
        "last_name",
        "name",
        "display_name",
        "username",
        "user_login",
        "nickname",
        "phone",
        "company",
        "address_1",
        "address_2",
        "city",
        "state",
        "postcode",
        "country",
        "customer_ip_address",
        "customer_user_agent",
        "customer_note",
        "avatar_url",
    }
)
# Keys under which an event or an API answer names a member by her id.
MEMBER_KEYS = frozenset(
    {"member", "member_id", "to_member", "from_member", "to_member_id", "from_member_id", "holder", "to"}
)
OPEN_STATES = ("pending", "open", "suspended")
SCAN_BATCH = 500


def member_by_id(member_id: str) -> Member:
    member = Member.objects.filter(external_id=str(member_id).strip()).first() if str(member_id).strip() else None
    if member is None:
        raise ServiceError("not_found", f"no member with id {member_id!r}", field="member")
    return member


def _rows(queryset) -> list[dict]:
    return json.loads(json.dumps(list(queryset.values()), cls=DjangoJSONEncoder))


# ---- export ----


def member_data_export(*, member_id: str, now: datetime) -> dict:
    """Everything MemberSync holds about the member, as plain JSON-ready data."""
    member = member_by_id(member_id)
    memberships = Membership.objects.filter(member=member)
    return json.loads(
        json.dumps(
            {
                "exported_at": now,
                "member": {
                    "id": member.external_id,
                    "email": member.email,
                    "name": member.name,
                    "created_at": member.created_at,
                    "login": member.user.username if member.user_id else None,
                },
                "identities": [
                    {"connection": i.connection.name if i.connection_id else None, **r}
                    for i, r in zip(
                        member.identities.select_related("connection").order_by("pk"),
                        _rows(member.identities.order_by("pk")),
                        strict=True,
                    )
                ],
                "sources": {
                    "memberships": _rows(memberships.order_by("pk")),
                    "membership_pauses": _rows(MembershipPause.objects.filter(membership__member=member)),
                    "subscriptions": _rows(Subscription.objects.filter(member=member).order_by("pk")),
                    "orders": _rows(Order.objects.filter(member=member).order_by("pk")),
                    "organization_roles": _rows(OrgRole.objects.filter(member=member)),
                    "seats": _rows(SeatHolding.objects.filter(member=member).order_by("pk")),
                    "licenses": _rows(License.objects.filter(member=member).order_by("pk")),
                    "license_assignments": _rows(LicenseAssignment.objects.filter(member=member).order_by("pk")),
                    "lms_enrollments": _rows(LmsEnrollment.objects.filter(member=member).order_by("pk")),
                },
                "access": {
                    "grants": _rows(GrantRecord.objects.filter(member=member).order_by("target_kind", "target_id")),
                    "enrollments": _rows(Enrollment.objects.filter(member=member).order_by("target_kind", "target_id")),
                },
                "ledger": _rows(LedgerEntry.objects.filter(member=member).order_by("at", "pk")),
                "emails_sent": _rows(Notification.objects.filter(membership__member=member).order_by("sent_at")),
                "invitations": _rows(
                    Invitation.objects.filter(Q(member=member) | Q(email__iexact=member.email or "\x00"))
                    .order_by("pk")
                    .values("id", "organization_id", "email", "first_name", "last_name", "role", "status")
                ),
            },
            cls=DjangoJSONEncoder,
        )
    )


# ---- erasure ----


@dataclass
class Erased:
    pseudonym: str
    identities: int = 0
    events: int = 0
    deliveries: int = 0
    ledger_entries: int = 0
    emails: int = 0
    invitations: int = 0
    api_answers: int = 0


class _Redactor:
    """Replaces what named her: exact ids and, inside any text, her addresses and names (case-insensitively)."""

    def __init__(self, data: PersonalData, pseudonym: str):
        self.data, self.pseudonym, self.email = data, pseudonym, erased_email(pseudonym)
        words = [*(re.escape(e) for e in data.emails), *(re.escape(n) for n in data.names)]
        if data.username and len(data.username) >= 3:
            words.append(re.escape(data.username))
        words.sort(key=len, reverse=True)
        self.pattern = re.compile("|".join(words), re.IGNORECASE) if words else None

    def text(self, value: str) -> str:
        if self.pattern is None:
            return value
        return self.pattern.sub(lambda m: self.email if "@" in m.group(0) else self.pseudonym, value)

    def actor(self, value: str) -> str:
        """`member:alice` -> `member:erased-…`; anything else as text."""
        kind, _, rest = value.partition(":")
        return f"{kind}:{self.pseudonym}" if rest == self.data.external_id else self.text(value)

    def json(self, value):
        if isinstance(value, dict):
            return {k: self._field(k.lower(), v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.json(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value

    def _field(self, key: str, value):
        if key in MEMBER_KEYS and value == self.data.external_id:
            return self.pseudonym
        if key in PERSONAL_KEYS and isinstance(value, str) and value:
            return ERASED
        return self.json(value)

    def needles(self) -> list[str]:
        """What a stored text that names her contains: her addresses and names (plain, and with non-ASCII as JSON
        escapes it), and her id under a key that names a member."""
        found = {*self.data.emails, *self.data.names}
        found |= {json.dumps(n)[1:-1] for n in self.data.names}
        found |= {f'"{key}": "{self.data.external_id}"' for key in MEMBER_KEYS}
        return sorted(n for n in found if n)


def _names_her(text: str, needles: list[str]) -> bool:
    low = text.lower()
    return any(n.lower() in low for n in needles)


def member_erase(*, member_id: str, actor: Actor, now: datetime) -> Erased:
    """Erase the member's personal data (one transaction: all of it or nothing)."""
    member = member_by_id(member_id)
    if member_is_erased(member):
        raise ServiceError("invalid_value", f"member {member_id!r} is erased already", field="member")
    if member.user_id and (member.user.is_staff or member.user.is_superuser):
        raise ServiceError(
            "forbidden", "this member signs in to the admin: take away the staff status first", field="member"
        )
    if GrantRecord.objects.filter(member=member, state__in=OPEN_STATES).exists():
        raise ServiceError(
            "has_access",
            f"member {member_id!r} still has or will have access: end her memberships, seats and licenses first",
            field="member",
        )
    data = member_personal_data(member)
    pseudonym = pseudonym_new()
    redact = _Redactor(data, pseudonym)
    needles = redact.needles()
    with transaction.atomic():
        result = Erased(pseudonym)
        result.identities = member_pseudonymize(member=member, pseudonym=pseudonym)
        result.events = _events_redact(redact, needles)
        result.deliveries = _deliveries_redact(redact, needles)
        result.ledger_entries = _ledger_redact(member, redact, needles)
        result.emails = Notification.objects.filter(membership__member=member).update(to_email=redact.email)
        invitations = Invitation.objects.filter(Q(member=member) | Q(email__in=_email_forms(data, Invitation)))
        result.invitations = invitations.update(email=redact.email, first_name="", last_name="")
        LoginFailure.objects.filter(key__in=[*data.emails, data.username.lower(), data.username]).delete()
        result.api_answers = _api_answers_redact(redact, needles)
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Member), object_id=str(member.pk)
        ).update(object_repr=pseudonym)
    log.info("member erased as %s by %s", pseudonym, actor)
    return result


def _email_forms(data: PersonalData, model) -> list[str]:
    addresses = set(data.emails)
    for email in data.emails:
        addresses |= set(model.objects.filter(email__iexact=email).values_list("email", flat=True))
    return sorted(addresses)


def _events_redact(redact: _Redactor, needles: list[str]) -> int:
    from django.db.models import TextField
    from django.db.models.functions import Cast

    wanted = Q(actor__endswith=f":{redact.data.external_id}")
    for needle in needles:
        wanted |= Q(payload_text__icontains=needle) | Q(actor__icontains=needle) | Q(error__icontains=needle)
    changed = 0
    found = Event.objects.annotate(payload_text=Cast("payload", TextField())).filter(wanted)
    for event in found.only("pk", "payload", "actor", "error").iterator(chunk_size=SCAN_BATCH):
        payload, actor, error = redact.json(event.payload), redact.actor(event.actor), redact.text(event.error)
        if (payload, actor, error) != (event.payload, event.actor, event.error):
            Event.objects.filter(pk=event.pk).update(payload=payload, actor=actor[:200], error=error)
            changed += 1
    return changed


def _deliveries_redact(redact: _Redactor, needles: list[str]) -> int:
    """Raw bodies are bytes: read in batches and searched here (retention keeps the table bounded)."""
    changed = 0
    last = 0
    while True:
        batch = list(
            Delivery.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "body", "outcome", "error")[:SCAN_BATCH]
        )
        if not batch:
            return changed
        for pk, body, outcome, error in batch:
            text = bytes(body).decode("utf-8", errors="replace")
            if not (_names_her(text, needles) or _names_her(outcome, needles) or _names_her(error, needles)):
                continue
            try:
                redacted = json.dumps(redact.json(json.loads(text))).encode()
            except ValueError:
                redacted = json.dumps({"redacted": "the body named an erased member and was not JSON"}).encode()
            Delivery.objects.filter(pk=pk).update(body=redacted, outcome=redact.text(outcome), error=redact.text(error))
            changed += 1
        last = batch[-1][0]


def _ledger_redact(member: Member, redact: _Redactor, needles: list[str]) -> int:
    wanted = Q(member=member) | Q(actor__endswith=f":{redact.data.external_id}")
    for needle in needles:
        wanted |= Q(actor__icontains=needle) | Q(reason__icontains=needle) | Q(cause__icontains=needle)
    changed = 0
    for entry in LedgerEntry.objects.filter(wanted).only("pk", "actor", "reason", "cause").iterator(SCAN_BATCH):
        texts = (redact.actor(entry.actor), redact.text(entry.reason), redact.text(entry.cause))
        if texts != (entry.actor, entry.reason, entry.cause):
            LedgerEntry.objects.filter(pk=entry.pk).update(actor=texts[0], reason=texts[1], cause=texts[2])
            changed += 1
    return changed


def _api_answers_redact(redact: _Redactor, needles: list[str]) -> int:
    from django.db.models import TextField
    from django.db.models.functions import Cast

    wanted = Q()
    for needle in needles:
        wanted |= Q(body_text__icontains=needle)
    changed = 0
    for answer in IdempotentAnswer.objects.annotate(body_text=Cast("body", TextField())).filter(wanted):
        body = redact.json(answer.body)
        if body != answer.body:
            IdempotentAnswer.objects.filter(pk=answer.pk).update(body=body)
            changed += 1
    return changed
