"""Members made and changed by hand (the API): one person is one member, so an id or an address already in use is
refused rather than making a second one (docs/decisions/0005)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from membersync import clock
from membersync.errors import ServiceError

from .models import Member, email_normalize
from .services import member_email_set, member_find


def _email_check(email: str, *, field: str, member: Member | None = None) -> str:
    email = email.strip()
    if not email:
        return ""
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError("invalid_value", f"{email!r} is not an email address", field=field) from None
    others = Member.objects.filter(email_normalized=email_normalize(email))
    if member is not None:
        others = others.exclude(pk=member.pk)
    taken = others.values_list("external_id", flat=True).first()
    if taken is not None:
        raise ServiceError("duplicate_id", f"member {taken!r} has the address {email!r} already", field=field)
    return email


def member_create(*, external_id: str, email: str = "", name: str = "") -> Member:
    external_id = str(external_id).strip()
    if not external_id or len(external_id) > 64:
        raise ServiceError("invalid_value", "a member's id is 1 to 64 characters", field="member.id")
    with transaction.atomic():
        if member_find(external_id=external_id) is not None:
            raise ServiceError("duplicate_id", f"member {external_id!r} already exists", field="member.id")
        email = _email_check(email, field="member.email")
        return Member.objects.create(
            external_id=external_id, email=email, name=name.strip()[:200], created_at=clock.now()
        )


def member_update(*, member: Member, email: str | None = None, name: str | None = None) -> Member:
    """Change what is given; an address another member has is refused."""
    with transaction.atomic():
        if email is not None:
            member_email_set(member=member, email=_email_check(email, field="member.email", member=member))
        if name is not None:
            member.name = name.strip()[:200]
            member.save(update_fields=["name"])
    return member
