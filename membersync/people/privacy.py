"""Erasure, the part that is about the person herself: her member row takes a pseudonym, her login is closed and
scrubbed, her identities (how stores and sites know her) are removed. What she bought and the ledger stay, under
the pseudonym (membersync/ops/privacy.py erases the rest). The caller runs it inside its transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from .models import Identity, Member

ERASED_PREFIX = "erased-"
ERASED_DOMAIN = "erased.invalid"  # .invalid never resolves (RFC 2606): no email can reach a pseudonym


def pseudonym_new() -> str:
    """Random, so nothing about her can be worked back from it."""
    return ERASED_PREFIX + uuid.uuid4().hex[:12]


def erased_email(pseudonym: str) -> str:
    return f"{pseudonym}@{ERASED_DOMAIN}"


def member_is_erased(member: Member) -> bool:
    return member.external_id.startswith(ERASED_PREFIX) and not member.email


@dataclass(frozen=True)
class PersonalData:
    """What named her before the erasure: every other record is searched for these."""

    external_id: str
    emails: frozenset[str]
    names: frozenset[str]
    username: str


def member_personal_data(member: Member) -> PersonalData:
    emails = {member.email, *member.identities.values_list("email", flat=True)}
    names = {member.name}
    username = ""
    if member.user_id:
        user = member.user
        username = user.username
        emails.add(user.email)
        names |= {user.get_full_name(), user.first_name + " " + user.last_name}
    return PersonalData(
        external_id=member.external_id,
        emails=frozenset(e.strip().lower() for e in emails if e and e.strip()),
        # A one- or two-letter name would match half of every text: too short to search for.
        names=frozenset(n.strip() for n in names if n and len(n.strip()) >= 3),
        username=username,
    )


def member_pseudonymize(*, member: Member, pseudonym: str) -> int:
    """Give the member the pseudonym, close her login, remove her identities. Returns how many identities went."""
    if member.user_id:
        user = member.user
        user.username = pseudonym
        user.email = ""
        user.first_name = user.last_name = ""
        user.is_active = False
        user.set_unusable_password()
        user.save(update_fields=["username", "email", "first_name", "last_name", "is_active", "password"])
    removed, _ = Identity.objects.filter(member=member).delete()
    member.external_id = pseudonym
    member.email = ""
    member.name = pseudonym
    member.save(update_fields=["external_id", "email", "name"])
    return removed
