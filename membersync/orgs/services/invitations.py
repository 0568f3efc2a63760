"""Invitations: created by owners and managers (optionally holding a seat), cancelled, accepted."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from membersync.actors import Actor
from membersync.errors import ServiceError
from membersync.members.services import member_get_or_create
from membersync.people.models import Member
from membersync.results import Applied, ServiceResult
from membersync.sync.services import event_apply

from .. import permissions
from ..models import (
    MEMBER,
    ROLES,
    Invitation,
    OrgRole,
    Seat,
    SeatHolding,
    invitation_token_hash,
)
from .lookups import INVITATION_LIFETIME, org_find, role_find, seat_type_find
from .seats import seat_claim_free


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError("invalid_value", f"{email!r} is not an email address", field="email") from None
    return email.lower()


def invitation_create(
    *,
    org_id: str,
    email: str,
    role: str = MEMBER,
    first_name: str = "",
    last_name: str = "",
    hold_seat_type_id: str | None = None,
    actor: Actor,
    source: str = "portal",
) -> ServiceResult:
    """Invite a person by email to join with `role`; the invitation may hold a seat until it is accepted.
    The caller sends the email (the portal builds the link from `invitation.token`)."""

    def apply(event) -> list[int]:
        now = event.occurred_at
        org = org_find(org_id)
        if role not in ROLES:
            raise ServiceError(
                "invalid_value", f"unknown role {role!r}; choose one of {', '.join(ROLES)}", field="role"
            )
        address = _clean_email(email)
        existing_role = OrgRole.objects.filter(organization=org, member__email__iexact=address).first()
        permissions.check_role_change(actor, org, current=existing_role.role if existing_role else None, new=role)
        if existing_role is not None:
            raise ServiceError("duplicate_id", f"{address} is already in organization {org.external_id}", field="email")
        if Invitation.objects.filter(
            organization=org, email=address, status=Invitation.PENDING, expires_at__gt=now
        ).exists():
            raise ServiceError("duplicate_id", f"{address} already has a pending invitation", field="email")
        invitation = Invitation.objects.create(
            organization=org,
            email=address,
            first_name=first_name.strip()[:100],
            last_name=last_name.strip()[:100],
            role=role,
            token=secrets.token_urlsafe(32),
            invited_by=actor,
            created_at=now,
            expires_at=now + INVITATION_LIFETIME,
        )
        if hold_seat_type_id is not None:
            seat_claim_free(
                org, seat_type_find(hold_seat_type_id, field="hold_seat_type"), invitation=invitation, now=now
            )
        return Applied(members=[], value=invitation)

    payload = {"org": org_id, "email": email, "role": role, "hold_seat_type": hold_seat_type_id}
    return event_apply(kind="invitation.create", payload=payload, actor=actor, source=source, apply=apply)


def invitation_cancel(*, invitation_id: int, actor: Actor, source: str = "portal") -> ServiceResult:
    """Withdraw a pending invitation; a seat it held becomes free."""

    def apply(event) -> list[int]:
        invitation = Invitation.objects.select_related("organization").filter(pk=invitation_id).first()
        if invitation is None:
            raise ServiceError("not_found", f"no invitation {invitation_id}", field="invitation")
        permissions.check_role_change(actor, invitation.organization, current=None, new=invitation.role)
        if invitation.status != Invitation.PENDING:
            raise ServiceError("invalid_value", f"the invitation is {invitation.status}", field="invitation")
        Seat.objects.filter(invitation=invitation).update(invitation=None)
        invitation.status = Invitation.CANCELLED
        invitation.save(update_fields=["status"])
        return []

    return event_apply(
        kind="invitation.cancel", payload={"invitation": invitation_id}, actor=actor, source=source, apply=apply
    )


def _external_id_for(email: str) -> str:
    return email if len(email) <= 64 else "email-" + hashlib.sha256(email.encode()).hexdigest()[:40]


# Accepting is done by the invited person, who has no member id before the invitation makes one.
INVITEE = Actor.system("invitation")


def invitation_accept(
    *,
    token: str,
    password: str,
    first_name: str | None = None,
    last_name: str | None = None,
    actor: Actor = INVITEE,
    source: str = "portal",
) -> ServiceResult:
    """The invited person accepts: they get a login (with `password`) unless they have one, join with the
    invited role and take the seat the invitation held. A used, cancelled or expired token is refused."""

    def apply(event) -> list[int]:
        now = event.occurred_at
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("organization")
            .filter(token_hash=invitation_token_hash(token))
            .first()
        )
        if invitation is None:
            raise ServiceError("not_found", "this invitation link is not valid", field="token")
        if invitation.status == Invitation.ACCEPTED:
            raise ServiceError("invitation_used", "this invitation was already used: sign in instead", field="token")
        if invitation.status == Invitation.CANCELLED:
            raise ServiceError("invitation_cancelled", "this invitation was withdrawn", field="token")
        if invitation.expires_at <= now:
            raise ServiceError(
                "invitation_expired",
                f"this invitation expired on {invitation.expires_at:%Y-%m-%d}: ask for a new one",
                field="token",
            )
        first = (first_name if first_name is not None else invitation.first_name).strip()
        last = (last_name if last_name is not None else invitation.last_name).strip()
        member = Member.objects.filter(email__iexact=invitation.email).order_by("pk").first()
        if member is None:
            member = member_get_or_create(external_id=_external_id_for(invitation.email), email=invitation.email)
        if not member.email:
            member.email = invitation.email
        if not member.name and (first or last):
            member.name = f"{first} {last}".strip()
        User = get_user_model()
        if member.user_id is None:
            user = User.objects.filter(username__iexact=invitation.email).first()
            if user is None:
                user = User(
                    username=invitation.email, email=invitation.email, first_name=first[:150], last_name=last[:150]
                )
                try:
                    validate_password(password, user)
                except ValidationError as error:
                    raise ServiceError("invalid_password", " ".join(error.messages), field="password") from None
                user.set_password(password)
                user.save()
            if Member.objects.filter(user=user).exclude(pk=member.pk).exists():
                raise ServiceError("duplicate_id", f"the login {user.username} belongs to someone else", field="email")
            member.user = user
        member.save()
        role = role_find(invitation.organization, member)
        if role is None:
            OrgRole.objects.create(organization=invitation.organization, member=member, role=invitation.role, since=now)
        elif ROLES.index(invitation.role) < ROLES.index(role.role):
            role.role = invitation.role
            role.save(update_fields=["role"])
        seat = Seat.objects.select_related("pool", "seat_type").filter(invitation=invitation).first()
        if seat is not None:
            already = Seat.objects.filter(
                organization=invitation.organization, holder=member, seat_type=seat.seat_type
            ).exists()
            if already:
                Seat.objects.filter(pk=seat.pk).update(invitation=None)
            else:
                Seat.objects.filter(pk=seat.pk).update(invitation=None, holder=member, held_since=now)
                SeatHolding.objects.create(
                    seat=seat,
                    pool=seat.pool,
                    organization=invitation.organization,
                    seat_type=seat.seat_type,
                    member=member,
                    start=now,
                )
        invitation.status, invitation.accepted_at, invitation.member = Invitation.ACCEPTED, now, member
        invitation.save(update_fields=["status", "accepted_at", "member"])
        return Applied(members=[member.pk], value=member)

    return event_apply(
        kind="invitation.accept",
        payload={"token": hashlib.sha256(str(token).encode()).hexdigest()},
        actor=actor,
        source=source,
        apply=apply,
    )
