"""Writes to organizations, seats, invitations and licenses.

Every public function is one event: stored, applied and reconciled in one transaction (sync.services.event_apply),
checked against the actor's permissions (orgs/permissions.py), and refused with a ServiceError that changes
nothing. `actor` is "member:<external id>" for a person acting with their role, anything else for the site's
administration.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from membersync.catalog.models import LicenseType, SeatType
from membersync.errors import ServiceError
from membersync.members.models import Member, Order, Subscription
from membersync.members.services import member_get_or_create, order_record, order_refund_handlers_register, plan_get
from membersync.sync.services import EventResult, event_apply

from . import permissions
from .models import (
    MEMBER,
    OWNER,
    ROLES,
    Invitation,
    License,
    LicenseAssignment,
    Organization,
    OrgRole,
    Seat,
    SeatHolding,
    SeatPool,
)
from .selectors import license_statuses_now

INVITATION_LIFETIME = timedelta(days=14)
MAX_SEATS_PER_EVENT = 100_000
MAX_LICENSES_PER_EVENT = 100_000
CLAIM_ATTEMPTS = 20


# ---- lookups ----


def _org(org_id: str, *, field: str = "org") -> Organization:
    org = Organization.objects.filter(external_id=str(org_id)).first()
    if org is None:
        raise ServiceError("not_found", f"no organization with id {org_id!r}", field=field)
    return org


def _member(member_id: str, *, field: str = "member") -> Member:
    member = Member.objects.filter(external_id=str(member_id)).first()
    if member is None:
        raise ServiceError("not_found", f"no person with id {member_id!r}", field=field)
    return member


def _seat_type(seat_type_id: str, *, field: str = "seat_type") -> SeatType:
    seat_type = SeatType.objects.filter(external_id=str(seat_type_id)).first()
    if seat_type is None:
        raise ServiceError("not_found", f"no seat type with id {seat_type_id!r}", field=field)
    return seat_type


def _subscription(subscription_id: str, *, field: str = "subscription") -> Subscription:
    sub = Subscription.objects.filter(external_id=str(subscription_id)).first()
    if sub is None:
        raise ServiceError("not_found", f"no subscription with id {subscription_id!r}", field=field)
    return sub


def _license(license_id: str, *, field: str = "id", lock: bool = False) -> License:
    query = License.objects.select_related("license_type", "organization")
    if lock:
        query = query.select_for_update(of=("self",))
    lic = query.filter(external_id=str(license_id)).first()
    if lic is None:
        raise ServiceError("not_found", f"no license with id {license_id!r}", field=field)
    return lic


def _role(org: Organization, member: Member) -> OrgRole | None:
    return OrgRole.objects.filter(organization=org, member=member).first()


def _quantity(quantity, *, limit: int, field: str = "quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ServiceError("invalid", f"quantity must be a whole number of at least 1, not {quantity!r}", field=field)
    if quantity > limit:
        raise ServiceError("invalid", f"at most {limit} at once", field=field)
    return quantity


def _seat_holders(org: Organization) -> list[int]:
    return list(
        SeatHolding.objects.filter(organization=org, end__isnull=True).values_list("member_id", flat=True).distinct()
    )


def _join(org: Organization, member: Member, now, role: str = MEMBER) -> OrgRole:
    """The person's role in the organization, adding them with `role` if they are not in it yet."""
    existing = _role(org, member)
    if existing is not None:
        return existing
    return OrgRole.objects.create(organization=org, member=member, role=role, since=now)


def _target_role(org: Organization, member_id: str) -> str | None:
    return permissions.role_of(org, str(member_id))


# ---- organizations and people ----


def org_create(*, org_id: str, name: str = "", owner_id: str, actor: str, source: str = "admin") -> Organization:
    """A new organization; `owner_id` (created if new) becomes its owner."""
    created: list[Organization] = []

    def apply(event) -> list[int]:
        permissions.require_site_admin(actor, "create organizations")
        if not str(org_id).strip():
            raise ServiceError("invalid", "an organization needs an id", field="org.id")
        if Organization.objects.filter(external_id=str(org_id)).exists():
            raise ServiceError("duplicate", f"organization {org_id!r} already exists", field="org.id")
        org = Organization.objects.create(
            external_id=str(org_id), name=name or str(org_id), created_at=event.occurred_at
        )
        owner = member_get_or_create(external_id=str(owner_id))
        OrgRole.objects.create(organization=org, member=owner, role=OWNER, since=event.occurred_at)
        created.append(org)
        return []

    payload = {"org": {"id": org_id, "name": name, "owner": owner_id}}
    event_apply(kind="org.create", payload=payload, actor=actor, source=source, apply=apply)
    return created[0]


def org_member_set(*, org_id: str, member_id: str, role: str, actor: str, source: str = "admin") -> OrgRole:
    """Add a person to the organization with `role`, or change their role. An organization keeps an owner."""
    result: list[OrgRole] = []

    def apply(event) -> list[int]:
        org = _org(org_id)
        member = member_get_or_create(external_id=str(member_id))
        existing = _role(org, member)
        permissions.check_role_change(actor, org, current=existing.role if existing else None, new=role)
        if existing is None:
            result.append(OrgRole.objects.create(organization=org, member=member, role=role, since=event.occurred_at))
            return []
        if existing.role == OWNER and role != OWNER:
            _require_another_owner(org, member)
        existing.role = role
        existing.save(update_fields=["role"])
        result.append(existing)
        return []

    payload = {"org": org_id, "member": member_id, "role": role}
    event_apply(kind="org.member", payload=payload, actor=actor, source=source, apply=apply)
    return result[0]


def _require_another_owner(org: Organization, leaving: Member) -> None:
    if not OrgRole.objects.filter(organization=org, role=OWNER).exclude(member=leaving).exists():
        raise ServiceError(
            "last_owner",
            f"{leaving.external_id} is the only owner of {org.external_id}: transfer the ownership first",
            field="member",
        )


def org_member_remove(*, org_id: str, member_id: str, actor: str, source: str = "admin") -> EventResult:
    """Remove a person from the organization: their seats are freed and the organization's licenses they had
    return to it. A member may remove themselves (leave)."""

    def apply(event) -> list[int]:
        now = event.occurred_at
        org = _org(org_id)
        member = _member(member_id)
        role = _role(org, member)
        if role is None:
            raise ServiceError("not_found", f"{member_id} is not in organization {org_id}", field="member")
        permissions.check_removal(actor, org, target_member_id=member.external_id, target_role=role.role)
        if role.role == OWNER:
            _require_another_owner(org, member)
        _release_seats(org, member, None, now, f"{member.external_id} was removed from {org.external_id} by {actor}")
        for lic in License.objects.filter(organization=org, member=member):
            _unassign(lic, now, f"{member.external_id} left organization {org.external_id}")
        role.delete()
        return [member.pk]

    payload = {"org": org_id, "member": member_id}
    return event_apply(kind="org.remove", payload=payload, actor=actor, source=source, apply=apply)


def org_ownership_transfer(*, org_id: str, to_member_id: str, actor: str, source: str = "admin") -> EventResult:
    """`to_member_id` becomes the owner; the previous owner(s) stay on as managers. An owner hands the
    organization to someone already in it; only the site's administration can give it to someone new."""

    def apply(event) -> list[int]:
        org = _org(org_id)
        permissions.require_owner(actor, org, "transfer the ownership")
        if not permissions.is_site_admin(actor) and permissions.role_of(org, str(to_member_id)) is None:
            raise ServiceError(
                "not_found", f"{to_member_id} is not in {org.name}: invite them first", field="to_member"
            )
        member = member_get_or_create(external_id=str(to_member_id))
        role = _join(org, member, event.occurred_at, role=OWNER)
        OrgRole.objects.filter(organization=org, role=OWNER).exclude(pk=role.pk).update(role="manager")
        if role.role != OWNER:
            role.role = OWNER
            role.save(update_fields=["role"])
        return []

    payload = {"org": org_id, "to": to_member_id}
    return event_apply(kind="org.transfer", payload=payload, actor=actor, source=source, apply=apply)


# ---- seats ----


def seats_add(
    *,
    org_id: str,
    seat_type_id: str,
    quantity: int,
    subscription_id: str | None = None,
    actor: str,
    source: str = "admin",
) -> SeatPool:
    """The organization bought `quantity` seats; with a subscription, they follow its status."""
    result: list[SeatPool] = []

    def apply(event) -> list[int]:
        now = event.occurred_at
        org = _org(org_id)
        permissions.require_owner(actor, org, "buy seats")
        count = _quantity(quantity, limit=MAX_SEATS_PER_EVENT)
        seat_type = _seat_type(seat_type_id)
        sub = _subscription(subscription_id) if subscription_id is not None else None
        pool = SeatPool.objects.filter(organization=org, seat_type=seat_type, subscription=sub).first()
        if pool is None:
            pool = SeatPool.objects.create(organization=org, seat_type=seat_type, subscription=sub, created_at=now)
        Seat.objects.bulk_create(
            [Seat(pool=pool, organization=org, seat_type=seat_type, created_at=now) for _ in range(count)],
            batch_size=2000,
        )
        result.append(pool)
        return []

    payload = {"org": org_id, "seat_type": seat_type_id, "quantity": quantity, "subscription": subscription_id}
    event_apply(kind="seats.add", payload=payload, actor=actor, source=source, apply=apply)
    return result[0]


def seats_remove(*, org_id: str, seat_type_id: str, quantity: int, actor: str, source: str = "admin") -> EventResult:
    """Remove free seats; refused with seats_in_use when fewer than `quantity` are free."""

    def apply(event) -> list[int]:
        org = _org(org_id)
        permissions.require_owner(actor, org, "remove seats")
        count = _quantity(quantity, limit=MAX_SEATS_PER_EVENT)
        seat_type = _seat_type(seat_type_id)
        free = Seat.objects.filter(organization=org, seat_type=seat_type, holder__isnull=True, invitation__isnull=True)
        # Newest seats go first, so a subscription-paid pool bought later shrinks before the original one.
        victims = list(free.order_by("-pk").values_list("pk", flat=True)[:count])
        deleted = free.filter(pk__in=victims).delete()[0] if len(victims) == count else 0
        if deleted != count:
            raise ServiceError(
                "seats_in_use",
                f"only {len(victims)} {seat_type.external_id} seat(s) of {org.external_id} are free; "
                f"cannot remove {count}",
                field="quantity",
            )
        return []

    payload = {"org": org_id, "seat_type": seat_type_id, "quantity": quantity}
    return event_apply(kind="seats.remove", payload=payload, actor=actor, source=source, apply=apply)


def _claim_free_seat(
    org: Organization,
    seat_type: SeatType | None,
    *,
    member: Member | None = None,
    invitation: Invitation | None = None,
    now,
) -> Seat:
    """Take one free seat with a conditional UPDATE: of two claims on the same row only one updates it.

    On PostgreSQL, rows another transaction is claiming are skipped (SKIP LOCKED) rather than waited for;
    SQLite runs writers one at a time (IMMEDIATE transactions), so the UPDATE's condition is enough there.
    """
    free = Seat.objects.filter(organization=org, holder__isnull=True, invitation__isnull=True)
    if seat_type is not None:
        free = free.filter(seat_type=seat_type)
    if member is not None:
        free = free.exclude(seat_type__in=Seat.objects.filter(organization=org, holder=member).values("seat_type"))
    for _ in range(CLAIM_ATTEMPTS):
        candidate = free.select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True).first()
        if candidate is None:
            break
        claim = {"holder": member, "held_since": now} if member is not None else {"invitation": invitation}
        try:
            with transaction.atomic():
                claimed = Seat.objects.filter(pk=candidate, holder__isnull=True, invitation__isnull=True).update(
                    **claim
                )
        except IntegrityError:
            raise ServiceError(
                "already_has_seat", f"{member.external_id} already holds a seat of that type", field="member"
            ) from None
        if claimed:
            seat = Seat.objects.select_related("seat_type", "pool").get(pk=candidate)
            if member is not None:
                SeatHolding.objects.create(
                    seat=seat, pool=seat.pool, organization=org, seat_type=seat.seat_type, member=member, start=now
                )
            return seat
    kind = f"{seat_type.external_id} " if seat_type is not None else ""
    raise ServiceError("no_free_seat", f"organization {org.external_id} has no free {kind}seat", field="seat_type")


def _release_seats(org: Organization, member: Member, seat_type: SeatType | None, now, why: str) -> int:
    held = Seat.objects.filter(organization=org, holder=member)
    if seat_type is not None:
        held = held.filter(seat_type=seat_type)
    seat_ids = list(held.values_list("pk", flat=True))
    if not seat_ids:
        return 0
    Seat.objects.filter(pk__in=seat_ids).update(holder=None, held_since=None)
    SeatHolding.objects.filter(seat_id__in=seat_ids, member=member, end__isnull=True).update(end=now, ended_by=why)
    return len(seat_ids)


def seat_assign(
    *, org_id: str, member_id: str, seat_type_id: str | None = None, actor: str, source: str = "admin"
) -> Seat:
    """Give the person a free seat (of that type, or of any type they do not hold yet); they join the
    organization as a member if they are not in it. Refused with no_free_seat when none is free."""
    result: list[Seat] = []

    def apply(event) -> list[int]:
        org = _org(org_id)
        permissions.require_manager(actor, org, "assign seats", target_role=_target_role(org, member_id))
        seat_type = _seat_type(seat_type_id) if seat_type_id is not None else None
        member = member_get_or_create(external_id=str(member_id))
        if seat_type is not None and Seat.objects.filter(organization=org, holder=member, seat_type=seat_type).exists():
            raise ServiceError(
                "already_has_seat", f"{member.external_id} already holds a {seat_type.external_id} seat", field="member"
            )
        _join(org, member, event.occurred_at)
        result.append(_claim_free_seat(org, seat_type, member=member, now=event.occurred_at))
        return [member.pk]

    payload = {"org": org_id, "member": member_id, "seat_type": seat_type_id}
    event_apply(kind="seats.assign", payload=payload, actor=actor, source=source, apply=apply)
    return result[0]


def seat_release(
    *, org_id: str, member_id: str, seat_type_id: str | None = None, actor: str, source: str = "admin"
) -> EventResult:
    """The person gives up their seat (of that type, or all their seats there); they stay in the organization."""

    def apply(event) -> list[int]:
        org = _org(org_id)
        permissions.require_manager(actor, org, "release seats", target_role=_target_role(org, member_id))
        member = _member(member_id)
        seat_type = _seat_type(seat_type_id) if seat_type_id is not None else None
        released = _release_seats(org, member, seat_type, event.occurred_at, f"seat released by {actor}")
        if not released:
            raise ServiceError("no_seat", f"{member_id} holds no such seat in {org_id}", field="member")
        return [member.pk]

    payload = {"org": org_id, "member": member_id, "seat_type": seat_type_id}
    return event_apply(kind="seats.release", payload=payload, actor=actor, source=source, apply=apply)


def seat_move(
    *,
    org_id: str,
    from_member_id: str,
    to_member_id: str,
    seat_type_id: str | None = None,
    actor: str,
    source: str = "admin",
) -> Seat:
    """Hand a seat from one person to another in one step (the receiver joins as a member if needed)."""
    result: list[Seat] = []

    def apply(event) -> list[int]:
        now = event.occurred_at
        org = _org(org_id)
        for who in (from_member_id, to_member_id):
            permissions.require_manager(actor, org, "move seats", target_role=_target_role(org, who))
        giver = _member(from_member_id, field="from")
        receiver = member_get_or_create(external_id=str(to_member_id))
        if giver.pk == receiver.pk:
            raise ServiceError("invalid", "a seat moves to another person", field="to")
        held = Seat.objects.filter(organization=org, holder=giver).select_related("seat_type", "pool")
        if seat_type_id is not None:
            held = held.filter(seat_type=_seat_type(seat_type_id))
        seats = list(held[:2])
        if not seats:
            raise ServiceError("no_seat", f"{from_member_id} holds no such seat in {org_id}", field="from")
        if len(seats) > 1:
            raise ServiceError(
                "invalid", f"{from_member_id} holds several seats: name the seat type", field="seat_type"
            )
        seat = seats[0]
        if Seat.objects.filter(organization=org, holder=receiver, seat_type=seat.seat_type).exists():
            raise ServiceError(
                "already_has_seat",
                f"{receiver.external_id} already holds a {seat.seat_type.external_id} seat",
                field="to",
            )
        _join(org, receiver, now)
        moved = Seat.objects.filter(pk=seat.pk, holder=giver).update(holder=receiver, held_since=now)
        if not moved:
            raise ServiceError("no_seat", f"{from_member_id}'s seat changed meanwhile; try again", field="from")
        SeatHolding.objects.filter(seat=seat, member=giver, end__isnull=True).update(
            end=now, ended_by=f"seat moved to {receiver.external_id} by {actor}"
        )
        SeatHolding.objects.create(
            seat=seat, pool=seat.pool, organization=org, seat_type=seat.seat_type, member=receiver, start=now
        )
        seat.holder = receiver
        result.append(seat)
        return [giver.pk, receiver.pk]

    payload = {"org": org_id, "from": from_member_id, "to": to_member_id, "seat_type": seat_type_id}
    event_apply(kind="seats.move", payload=payload, actor=actor, source=source, apply=apply)
    return result[0]


# ---- invitations ----


def _clean_email(email: str) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ServiceError("invalid", f"{email!r} is not an email address", field="email") from None
    return email.lower()


def invitation_create(
    *,
    org_id: str,
    email: str,
    role: str = MEMBER,
    first_name: str = "",
    last_name: str = "",
    hold_seat_type_id: str | None = None,
    actor: str,
    source: str = "portal",
) -> Invitation:
    """Invite a person by email to join with `role`; the invitation may hold a seat until it is accepted.
    The caller sends the email (the portal builds the link from `invitation.token`)."""
    result: list[Invitation] = []

    def apply(event) -> list[int]:
        now = event.occurred_at
        org = _org(org_id)
        if role not in ROLES:
            raise ServiceError("invalid", f"unknown role {role!r}; choose one of {', '.join(ROLES)}", field="role")
        address = _clean_email(email)
        existing_role = OrgRole.objects.filter(organization=org, member__email__iexact=address).first()
        permissions.check_role_change(actor, org, current=existing_role.role if existing_role else None, new=role)
        if existing_role is not None:
            raise ServiceError("duplicate", f"{address} is already in organization {org.external_id}", field="email")
        if Invitation.objects.filter(
            organization=org, email=address, status=Invitation.PENDING, expires_at__gt=now
        ).exists():
            raise ServiceError("duplicate", f"{address} already has a pending invitation", field="email")
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
            _claim_free_seat(org, _seat_type(hold_seat_type_id, field="hold_seat_type"), invitation=invitation, now=now)
        result.append(invitation)
        return []

    payload = {"org": org_id, "email": email, "role": role, "hold_seat_type": hold_seat_type_id}
    event_apply(kind="invitation.create", payload=payload, actor=actor, source=source, apply=apply)
    return result[0]


def invitation_cancel(*, invitation_id: int, actor: str, source: str = "portal") -> EventResult:
    """Withdraw a pending invitation; a seat it held becomes free."""

    def apply(event) -> list[int]:
        invitation = Invitation.objects.select_related("organization").filter(pk=invitation_id).first()
        if invitation is None:
            raise ServiceError("not_found", f"no invitation {invitation_id}", field="invitation")
        permissions.check_role_change(actor, invitation.organization, current=None, new=invitation.role)
        if invitation.status != Invitation.PENDING:
            raise ServiceError("invalid", f"the invitation is {invitation.status}", field="invitation")
        Seat.objects.filter(invitation=invitation).update(invitation=None)
        invitation.status = Invitation.CANCELLED
        invitation.save(update_fields=["status"])
        return []

    return event_apply(
        kind="invitation.cancel", payload={"invitation": invitation_id}, actor=actor, source=source, apply=apply
    )


def _external_id_for(email: str) -> str:
    return email if len(email) <= 64 else "email-" + hashlib.sha256(email.encode()).hexdigest()[:40]


def invitation_accept(
    *,
    token: str,
    password: str,
    first_name: str | None = None,
    last_name: str | None = None,
    actor: str = "invitation",
    source: str = "portal",
) -> Member:
    """The invited person accepts: they get a login (with `password`) unless they have one, join with the
    invited role and take the seat the invitation held. A used, cancelled or expired token is refused."""
    result: list[Member] = []

    def apply(event) -> list[int]:
        now = event.occurred_at
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("organization")
            .filter(token=str(token))
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
                raise ServiceError("duplicate", f"the login {user.username} belongs to someone else", field="email")
            member.user = user
        member.save()
        role = _role(invitation.organization, member)
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
        result.append(member)
        return [member.pk]

    event_apply(
        kind="invitation.accept",
        payload={"token": hashlib.sha256(str(token).encode()).hexdigest()},
        actor=actor,
        source=source,
        apply=apply,
    )
    return result[0]


# ---- licenses ----


def _store_statuses(licenses: list[License]) -> None:
    statuses = license_statuses_now(licenses)
    for lic in licenses:
        lic.status, lic.status_rule = statuses[lic.pk][0], statuses[lic.pk][1][:300]
    License.objects.bulk_update(licenses, ["status", "status_rule", "status_at"], batch_size=2000)


def _license_reach(lic: License) -> list[int]:
    """Members whose access this license currently gives or gave until now."""
    if lic.assigned_to == License.TO_MEMBER:
        return [lic.member_id]
    if lic.assigned_to == License.TO_ORG:
        return _seat_holders(lic.organization)
    return []


def _unassign(lic: License, now, why: str) -> list[int]:
    reached = _license_reach(lic)
    LicenseAssignment.objects.filter(license=lic, end__isnull=True).update(end=now, ended_by=why[:200])
    lic.assigned_to, lic.member, lic.status_at = "", None, now
    lic.save(update_fields=["assigned_to", "member", "status_at"])
    _store_statuses([lic])
    return reached


def _licenses_create(
    ids: list[str],
    *,
    license_type: LicenseType,
    org: Organization | None,
    member: Member | None,
    assigned_to: str,
    now,
    subscription: Subscription | None = None,
    order: Order | None = None,
) -> list[License]:
    """Bulk-create one license per id with the same facts, and their assignments when they are assigned."""
    licenses = [
        License(
            external_id=ext,
            license_type=license_type,
            organization=org,
            assigned_to=assigned_to,
            member=member,
            assigned_at=now if assigned_to else None,
            subscription=subscription,
            order=order,
            issued_at=now,
            status_at=now,
        )
        for ext in ids
    ]
    # Licenses issued together share their facts, so they share their status: derived once, not per row.
    status, rule = license_statuses_now(licenses[:1], now)[None]
    for lic in licenses:
        lic.status, lic.status_rule = status, rule[:300]
    License.objects.bulk_create(licenses, batch_size=2000)
    if assigned_to:
        if not all(lic.pk for lic in licenses):  # backends that do not return keys from bulk inserts
            licenses = list(License.objects.filter(external_id__in=ids).select_related("license_type"))
        LicenseAssignment.objects.bulk_create(
            [
                LicenseAssignment(license=lic, member=member, organization=org if member is None else None, start=now)
                for lic in licenses
            ],
            batch_size=2000,
        )
    return licenses


def license_issue(
    *,
    license_id: str | None,
    type_id: str,
    to_member_id: str | None = None,
    to_org_id: str | None = None,
    owner_org_id: str | None = None,
    subscription_id: str | None = None,
    quantity: int = 1,
    actor: str,
    source: str = "admin",
) -> list[License]:
    """Issue `quantity` licenses of a type, in one step. Assigned at once to a person (`to_member_id`) or to an
    organization as a whole (`to_org_id`: every seat holder there gets its access), or left available,
    belonging to `owner_org_id` if given so its owners and managers can assign them. With several, the ids are
    `<license_id>-1`, `<license_id>-2`, ... (generated when `license_id` is None)."""
    result: list[License] = []

    def apply(event) -> list[int]:
        now = event.occurred_at
        permissions.require_site_admin(actor, "issue licenses")
        count = _quantity(quantity, limit=MAX_LICENSES_PER_EVENT)
        if to_member_id is not None and to_org_id is not None:
            raise ServiceError(
                "invalid", "a license goes to a person or to an organization, not both", field="license.to_org"
            )
        if owner_org_id is not None and (to_member_id is not None or to_org_id is not None):
            raise ServiceError("invalid", "owner_org is for licenses issued unassigned", field="license.owner_org")
        license_type = LicenseType.objects.filter(external_id=str(type_id)).first()
        if license_type is None:
            raise ServiceError("not_found", f"no license type with id {type_id!r}", field="license.type")
        sub = _subscription(subscription_id, field="license.subscription") if subscription_id is not None else None
        member = member_get_or_create(external_id=str(to_member_id)) if to_member_id is not None else None
        org = None
        if to_org_id is not None:
            org = _org(to_org_id, field="license.to_org")
        elif owner_org_id is not None:
            org = _org(owner_org_id, field="license.owner_org")
        base = str(license_id) if license_id else f"L-{uuid.uuid4().hex[:10]}"
        ids = [base] if count == 1 else [f"{base}-{n}" for n in range(1, count + 1)]
        if not base.strip():
            raise ServiceError("invalid", "a license needs an id", field="license.id")
        taken = list(License.objects.filter(external_id__in=ids).values_list("external_id", flat=True)[:1])
        if taken:
            raise ServiceError("duplicate", f"license {taken[0]!r} already exists", field="license.id")
        assigned_to = License.TO_MEMBER if member else License.TO_ORG if to_org_id is not None else ""
        licenses = _licenses_create(
            ids, license_type=license_type, org=org, member=member, assigned_to=assigned_to, subscription=sub, now=now
        )
        result.extend(licenses)
        if member is not None:
            return [member.pk]
        if assigned_to == License.TO_ORG:
            return _seat_holders(org)
        return []

    payload = {
        "license": {
            "id": license_id,
            "type": type_id,
            "to_member": to_member_id,
            "to_org": to_org_id,
            "owner_org": owner_org_id,
            "subscription": subscription_id,
            "quantity": quantity,
        }
    }
    event_apply(kind="license.issue", payload=payload, actor=actor, source=source, apply=apply)
    return result


def license_assign(
    *, license_id: str, member_id: str | None = None, org_id: str | None = None, actor: str, source: str = "admin"
) -> License:
    """Assign the license to a person or to an organization as a whole; if it was assigned, it moves (its
    length still counts from its first assignment). An organization's owners and managers may assign its
    licenses to its people or to the organization."""
    result: list[License] = []

    def apply(event) -> list[int]:
        now = event.occurred_at
        if (member_id is None) == (org_id is None):
            raise ServiceError("invalid", "assign a license to a person or to an organization", field="member")
        lic = _license(license_id, lock=True)
        permissions.check_license_assign(actor, lic.organization, "assign licenses")
        status = license_statuses_now([lic])[lic.pk][0]
        if status in ("revoked", "expired"):
            raise ServiceError(f"license_{status}", f"license {lic.external_id} is {status}", field="id")
        member = member_get_or_create(external_id=str(member_id)) if member_id is not None else None
        org = _org(org_id) if org_id is not None else None
        if not permissions.is_site_admin(actor):
            if org is not None and org.pk != lic.organization_id:
                raise ServiceError(
                    "forbidden", "a license can only be assigned within its own organization", field="org"
                )
            if member is not None and _role(lic.organization, member) is None:
                raise ServiceError(
                    "forbidden",
                    f"{member.external_id} is not in organization {lic.organization.external_id}",
                    field="member",
                )
        if (member is not None and lic.member_id == member.pk) or (
            org is not None and lic.assigned_to == License.TO_ORG and lic.organization_id == org.pk
        ):
            result.append(lic)
            return []
        touched = _license_reach(lic)
        LicenseAssignment.objects.filter(license=lic, end__isnull=True).update(
            end=now, ended_by=f"license {lic.external_id} was reassigned by {actor}"[:200]
        )
        LicenseAssignment.objects.create(license=lic, member=member, organization=org, start=now)
        if org is not None:
            lic.organization, lic.assigned_to, lic.member = org, License.TO_ORG, None
            touched += _seat_holders(org)
        else:
            lic.assigned_to, lic.member = License.TO_MEMBER, member
            touched.append(member.pk)
        lic.assigned_at = lic.assigned_at or now
        lic.status_at = now
        lic.save(update_fields=["organization", "assigned_to", "member", "assigned_at", "status_at"])
        _store_statuses([lic])
        result.append(lic)
        return touched

    payload = {"id": license_id, "member": member_id, "org": org_id}
    event_apply(kind="license.assign", payload=payload, actor=actor, source=source, apply=apply)
    return result[0]


def license_unassign(*, license_id: str, actor: str, source: str = "admin") -> EventResult:
    """Take the license back: it becomes available again (to its organization, if it has one)."""

    def apply(event) -> list[int]:
        lic = _license(license_id, lock=True)
        permissions.check_license_assign(actor, lic.organization, "take back licenses")
        if not lic.assigned_to:
            raise ServiceError("invalid", f"license {lic.external_id} is not assigned", field="id")
        return _unassign(lic, event.occurred_at, f"taken back by {actor}")

    return event_apply(kind="license.unassign", payload={"id": license_id}, actor=actor, source=source, apply=apply)


def license_revoke(*, license_id: str, actor: str, source: str = "admin") -> EventResult:
    """Revoke the license for good: whoever it reaches loses its access now."""

    def apply(event) -> list[int]:
        now = event.occurred_at
        lic = _license(license_id, lock=True)
        if lic.organization is not None:
            permissions.require_owner(actor, lic.organization, "revoke licenses")
        else:
            permissions.require_site_admin(actor, "revoke licenses")
        if lic.revoked_at is not None:
            raise ServiceError("license_revoked", f"license {lic.external_id} is already revoked", field="id")
        lic.revoked_at, lic.revoked_by, lic.status_at = now, actor[:200], now
        lic.save(update_fields=["revoked_at", "revoked_by", "status_at"])
        _store_statuses([lic])
        return _license_reach(lic)

    return event_apply(kind="license.revoke", payload={"id": license_id}, actor=actor, source=source, apply=apply)


# ---- orders that buy licenses ----


def _order_license_ids(order_id: str, quantity: int) -> list[str]:
    base = f"order-{order_id}"
    if len(f"{base}-{quantity}") > License._meta.get_field("external_id").max_length:
        base = "order-" + hashlib.sha256(str(order_id).encode()).hexdigest()[:24]
    return [f"{base}-{n}" for n in range(1, quantity + 1)]


def order_complete_licenses(
    *,
    order_id: str,
    member_id: str,
    type_id: str,
    quantity: int,
    org_id: str | None = None,
    plan_id: str | None = None,
    actor: str,
    source: str = "admin",
    idempotency_key: str | None = None,
) -> EventResult:
    """A one-off order bought `quantity` licenses of a type (and its plan too, when `plan_id` is given).
    For an organization (`org_id`) they are its stock, available for its owners and managers to assign;
    otherwise they are assigned to the buyer at once. The store sending the order again changes nothing;
    refunding it (members.services.order_refund) revokes them."""

    def apply(event) -> list[int]:
        now = event.occurred_at
        permissions.require_site_admin(actor, "complete orders")
        count = _quantity(quantity, limit=MAX_LICENSES_PER_EVENT, field="order.quantity")
        license_type = LicenseType.objects.filter(external_id=str(type_id)).first()
        if license_type is None:
            raise ServiceError("not_found", f"no license type with id {type_id!r}", field="order.license_type")
        org = _org(org_id, field="order.org") if org_id is not None else None
        plan = plan_get(plan_id, field="order.plan") if plan_id is not None else None
        if not str(order_id).strip():
            raise ServiceError("invalid", "an order needs an id", field="order.id")
        order, created = order_record(
            order_id=order_id,
            member_id=member_id,
            now=now,
            plan=plan,
            license_type=license_type,
            license_quantity=count,
        )
        if not created:
            # Licenses issued together went to one place; an admin may have moved some since, so the first
            # one issued says where the order sent them.
            issued_to = order.licenses.order_by("pk").values_list("organization_id", flat=True).first()
            if issued_to != (org.pk if org else None):
                raise ServiceError(
                    "order_reused",
                    f"order {order_id} was already completed for a different purchase",
                    field="order.id",
                )
            return []
        ids = _order_license_ids(order_id, count)
        taken = list(License.objects.filter(external_id__in=ids).values_list("external_id", flat=True)[:1])
        if taken:
            raise ServiceError("duplicate", f"license {taken[0]!r} already exists", field="order.id")
        buyer = None if org is not None else order.member
        _licenses_create(
            ids,
            license_type=license_type,
            org=org,
            member=buyer,
            assigned_to=License.TO_MEMBER if buyer is not None else "",
            order=order,
            now=now,
        )
        return [order.member_id]

    payload = {
        "order": {
            "id": order_id,
            "member": member_id,
            "plan": plan_id,
            "license_type": type_id,
            "quantity": quantity,
            "org": org_id,
        }
    }
    return event_apply(
        kind="order.complete", payload=payload, actor=actor, source=source, apply=apply, idempotency_key=idempotency_key
    )


@order_refund_handlers_register
def order_licenses_revoke(order: Order, now, actor: str, why: str) -> list[int]:
    """Inside order_refund's event: revoke every license the order issued that is not revoked yet; whoever
    they reach loses their access through the licenses' windows. The members touched."""
    licenses = list(
        License.objects.select_for_update(of=("self",))
        .select_related("license_type")
        .filter(order=order, revoked_at__isnull=True)
    )
    if not licenses:
        return []
    revoked_by = f"{actor}, because {why}"[: License._meta.get_field("revoked_by").max_length]
    for lic in licenses:
        lic.revoked_at, lic.revoked_by, lic.status_at = now, revoked_by, now
    License.objects.bulk_update(licenses, ["revoked_at", "revoked_by", "status_at"], batch_size=2000)
    _store_statuses(licenses)
    reached = {lic.member_id for lic in licenses if lic.assigned_to == License.TO_MEMBER}
    orgs = {lic.organization_id for lic in licenses if lic.assigned_to == License.TO_ORG}
    if orgs:
        reached.update(
            SeatHolding.objects.filter(organization_id__in=orgs, end__isnull=True).values_list("member_id", flat=True)
        )
    return sorted(reached)
