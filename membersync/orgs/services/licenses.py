"""Licenses: issued from a type, assigned to a person or an organization, taken back, revoked."""

from __future__ import annotations

import uuid

from membersync.actors import Actor
from membersync.catalog.models import LicenseType
from membersync.errors import ServiceError
from membersync.lookups import by_external_id
from membersync.members.models import Order, Subscription
from membersync.members.services import member_get_or_create
from membersync.people.models import Member
from membersync.results import Applied, ServiceResult
from membersync.sync.services import event_apply

from .. import permissions
from ..models import (
    EXPIRED,
    REVOKED,
    License,
    LicenseAssignment,
    Organization,
)
from ..selectors import license_statuses_now
from .lookups import (
    MAX_LICENSES_PER_EVENT,
    license_find,
    org_find,
    quantity_check,
    role_find,
    seat_holders,
    subscription_find,
)


def license_statuses_store(licenses: list[License]) -> None:
    statuses = license_statuses_now(licenses)
    for lic in licenses:
        lic.status, lic.status_rule = statuses[lic.pk][0], statuses[lic.pk][1][:300]
    License.objects.bulk_update(licenses, ["status", "status_rule", "status_at"], batch_size=2000)


def _license_reach(lic: License) -> list[int]:
    """Members whose access this license currently gives or gave until now."""
    if lic.assigned_to == License.TO_MEMBER:
        return [lic.member_id]
    if lic.assigned_to == License.TO_ORG:
        return seat_holders(lic.organization)
    return []


def license_take_back(lic: License, now, why: str) -> list[int]:
    reached = _license_reach(lic)
    LicenseAssignment.objects.filter(license=lic, end__isnull=True).update(end=now, ended_by=why[:200])
    lic.assigned_to, lic.member, lic.status_at = "", None, now
    lic.save(update_fields=["assigned_to", "member", "status_at"])
    license_statuses_store([lic])
    return reached


def licenses_create(
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
    actor: Actor,
    source: str = "admin",
) -> ServiceResult:
    """Issue `quantity` licenses of a type, in one step. Assigned at once to a person (`to_member_id`) or to an
    organization as a whole (`to_org_id`: every seat holder there gets its access), or left available,
    belonging to `owner_org_id` if given so its owners and managers can assign them. With several, the ids are
    `<license_id>-1`, `<license_id>-2`, ... (generated when `license_id` is None)."""

    def apply(event) -> list[int]:
        now = event.occurred_at
        permissions.require_site_admin(actor, "issue licenses")
        count = quantity_check(quantity, limit=MAX_LICENSES_PER_EVENT)
        if to_member_id is not None and to_org_id is not None:
            raise ServiceError(
                "invalid_value", "a license goes to a person or to an organization, not both", field="license.to_org"
            )
        if owner_org_id is not None and (to_member_id is not None or to_org_id is not None):
            raise ServiceError(
                "invalid_value", "owner_org is for licenses issued unassigned", field="license.owner_org"
            )
        license_type = by_external_id(LicenseType, type_id, what="license type", field="license.type")
        sub = subscription_find(subscription_id, field="license.subscription") if subscription_id is not None else None
        member = member_get_or_create(external_id=str(to_member_id)) if to_member_id is not None else None
        org = None
        if to_org_id is not None:
            org = org_find(to_org_id, field="license.to_org")
        elif owner_org_id is not None:
            org = org_find(owner_org_id, field="license.owner_org")
        base = str(license_id) if license_id else f"L-{uuid.uuid4().hex[:10]}"
        ids = [base] if count == 1 else [f"{base}-{n}" for n in range(1, count + 1)]
        if not base.strip():
            raise ServiceError("invalid_value", "a license needs an id", field="license.id")
        taken = list(License.objects.filter(external_id__in=ids).values_list("external_id", flat=True)[:1])
        if taken:
            raise ServiceError("duplicate_id", f"license {taken[0]!r} already exists", field="license.id")
        assigned_to = License.TO_MEMBER if member else License.TO_ORG if to_org_id is not None else ""
        licenses = licenses_create(
            ids, license_type=license_type, org=org, member=member, assigned_to=assigned_to, subscription=sub, now=now
        )
        reached = [member.pk] if member is not None else seat_holders(org) if assigned_to == License.TO_ORG else []
        return Applied(members=reached, value=licenses)

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
    return event_apply(kind="license.issue", payload=payload, actor=actor, source=source, apply=apply)


def license_assign(
    *, license_id: str, member_id: str | None = None, org_id: str | None = None, actor: Actor, source: str = "admin"
) -> ServiceResult:
    """Assign the license to a person or to an organization as a whole; if it was assigned, it moves (its
    length still counts from its first assignment). An organization's owners and managers may assign its
    licenses to its people or to the organization."""

    def apply(event) -> list[int]:
        now = event.occurred_at
        if (member_id is None) == (org_id is None):
            raise ServiceError("invalid_value", "assign a license to a person or to an organization", field="member")
        lic = license_find(license_id, lock=True)
        permissions.check_license_assign(actor, lic.organization, "assign licenses")
        status = license_statuses_now([lic])[lic.pk][0]
        if status in (REVOKED, EXPIRED):
            code = "license_revoked" if status == REVOKED else "license_expired"
            raise ServiceError(code, f"license {lic.external_id} is {status}", field="id")
        member = member_get_or_create(external_id=str(member_id)) if member_id is not None else None
        org = org_find(org_id) if org_id is not None else None
        if not permissions.is_site_admin(actor):
            if org is not None and org.pk != lic.organization_id:
                raise ServiceError(
                    "forbidden", "a license can only be assigned within its own organization", field="org"
                )
            if member is not None and role_find(lic.organization, member) is None:
                raise ServiceError(
                    "forbidden",
                    f"{member.external_id} is not in organization {lic.organization.external_id}",
                    field="member",
                )
        if (member is not None and lic.member_id == member.pk) or (
            org is not None and lic.assigned_to == License.TO_ORG and lic.organization_id == org.pk
        ):
            return Applied(members=[], value=lic)
        touched = _license_reach(lic)
        LicenseAssignment.objects.filter(license=lic, end__isnull=True).update(
            end=now, ended_by=f"license {lic.external_id} was reassigned by {actor.label}"[:200]
        )
        LicenseAssignment.objects.create(license=lic, member=member, organization=org, start=now)
        if org is not None:
            lic.organization, lic.assigned_to, lic.member = org, License.TO_ORG, None
            touched += seat_holders(org)
        else:
            lic.assigned_to, lic.member = License.TO_MEMBER, member
            touched.append(member.pk)
        lic.assigned_at = lic.assigned_at or now
        lic.status_at = now
        lic.save(update_fields=["organization", "assigned_to", "member", "assigned_at", "status_at"])
        license_statuses_store([lic])
        return Applied(members=touched, value=lic)

    payload = {"id": license_id, "member": member_id, "org": org_id}
    return event_apply(kind="license.assign", payload=payload, actor=actor, source=source, apply=apply)


def license_unassign(*, license_id: str, actor: Actor, source: str = "admin") -> ServiceResult:
    """Take the license back: it becomes available again (to its organization, if it has one)."""

    def apply(event) -> list[int]:
        lic = license_find(license_id, lock=True)
        permissions.check_license_assign(actor, lic.organization, "take back licenses")
        if not lic.assigned_to:
            raise ServiceError("invalid_value", f"license {lic.external_id} is not assigned", field="id")
        return license_take_back(lic, event.occurred_at, f"taken back by {actor.label}")

    return event_apply(kind="license.unassign", payload={"id": license_id}, actor=actor, source=source, apply=apply)


def license_revoke(*, license_id: str, actor: Actor, source: str = "admin") -> ServiceResult:
    """Revoke the license for good: whoever it reaches loses its access now."""

    def apply(event) -> list[int]:
        now = event.occurred_at
        lic = license_find(license_id, lock=True)
        if lic.organization is not None:
            permissions.require_owner(actor, lic.organization, "revoke licenses")
        else:
            permissions.require_site_admin(actor, "revoke licenses")
        if lic.revoked_at is not None:
            raise ServiceError("license_revoked", f"license {lic.external_id} is already revoked", field="id")
        lic.revoked_at, lic.revoked_by, lic.status_at = now, str(actor)[:200], now
        lic.save(update_fields=["revoked_at", "revoked_by", "status_at"])
        license_statuses_store([lic])
        return _license_reach(lic)

    return event_apply(kind="license.revoke", payload={"id": license_id}, actor=actor, source=source, apply=apply)
