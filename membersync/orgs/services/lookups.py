"""Lookups and small checks shared by the organization services."""

from __future__ import annotations

from datetime import timedelta

from membersync.catalog.models import SeatType
from membersync.errors import ServiceError
from membersync.members.models import Subscription
from membersync.people.models import Member

from .. import permissions
from ..models import (
    MEMBER,
    License,
    Organization,
    OrgRole,
    SeatHolding,
)

INVITATION_LIFETIME = timedelta(days=14)
MAX_SEATS_PER_EVENT = 100_000
MAX_LICENSES_PER_EVENT = 100_000
CLAIM_ATTEMPTS = 20


# ---- lookups ----


def org_find(org_id: str, *, field: str = "org") -> Organization:
    org = Organization.objects.filter(external_id=str(org_id)).first()
    if org is None:
        raise ServiceError("not_found", f"no organization with id {org_id!r}", field=field)
    return org


def member_find(member_id: str, *, field: str = "member") -> Member:
    member = Member.objects.filter(external_id=str(member_id)).first()
    if member is None:
        raise ServiceError("not_found", f"no person with id {member_id!r}", field=field)
    return member


def seat_type_find(seat_type_id: str, *, field: str = "seat_type") -> SeatType:
    seat_type = SeatType.objects.filter(external_id=str(seat_type_id)).first()
    if seat_type is None:
        raise ServiceError("not_found", f"no seat type with id {seat_type_id!r}", field=field)
    return seat_type


def subscription_find(subscription_id: str, *, field: str = "subscription") -> Subscription:
    sub = Subscription.objects.filter(external_id=str(subscription_id)).first()
    if sub is None:
        raise ServiceError("not_found", f"no subscription with id {subscription_id!r}", field=field)
    return sub


def license_find(license_id: str, *, field: str = "id", lock: bool = False) -> License:
    query = License.objects.select_related("license_type", "organization")
    if lock:
        query = query.select_for_update(of=("self",))
    lic = query.filter(external_id=str(license_id)).first()
    if lic is None:
        raise ServiceError("not_found", f"no license with id {license_id!r}", field=field)
    return lic


def role_find(org: Organization, member: Member) -> OrgRole | None:
    return OrgRole.objects.filter(organization=org, member=member).first()


def quantity_check(quantity, *, limit: int, field: str = "quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise ServiceError(
            "invalid_value", f"quantity must be a whole number of at least 1, not {quantity!r}", field=field
        )
    if quantity > limit:
        raise ServiceError("invalid_value", f"at most {limit} at once", field=field)
    return quantity


def seat_holders(org: Organization) -> list[int]:
    return list(
        SeatHolding.objects.filter(organization=org, end__isnull=True).values_list("member_id", flat=True).distinct()
    )


def org_join(org: Organization, member: Member, now, role: str = MEMBER) -> OrgRole:
    """The person's role in the organization, adding them with `role` if they are not in it yet."""
    existing = role_find(org, member)
    if existing is not None:
        return existing
    return OrgRole.objects.create(organization=org, member=member, role=role, since=now)


def target_role(org: Organization, member_id: str) -> str | None:
    return permissions.role_of(org, str(member_id))
