"""Lookups and small checks shared by the organization services."""

from __future__ import annotations

from datetime import timedelta

from membersync.catalog.models import SeatType
from membersync.errors import ServiceError
from membersync.lookups import by_external_id
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
    return by_external_id(Organization, org_id, what="organization", field=field)


def member_find(member_id: str, *, field: str = "member") -> Member:
    return by_external_id(Member, member_id, what="person", field=field)


def seat_type_find(seat_type_id: str, *, field: str = "seat_type") -> SeatType:
    return by_external_id(SeatType, seat_type_id, what="seat type", field=field)


def subscription_find(subscription_id: str, *, field: str = "subscription") -> Subscription:
    return by_external_id(Subscription, subscription_id, what="subscription", field=field)


def license_find(license_id: str, *, field: str = "id", lock: bool = False) -> License:
    query = License.objects.select_related("license_type", "organization")
    if lock:
        query = query.select_for_update(of=("self",))
    return by_external_id(query, license_id, what="license", field=field)


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
