"""Orders that buy licenses, and what their refund takes back."""

from __future__ import annotations

import hashlib

from membersync.actors import Actor
from membersync.catalog.models import LicenseType
from membersync.errors import ServiceError
from membersync.lookups import by_external_id
from membersync.members.models import Order
from membersync.members.services import order_record, plan_get
from membersync.results import ServiceResult
from membersync.sync.services import event_apply

from .. import permissions
from ..models import (
    License,
    SeatHolding,
)
from .licenses import license_statuses_store, licenses_create
from .lookups import MAX_LICENSES_PER_EVENT, org_find, quantity_check


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
    actor: Actor,
    source: str = "admin",
    idempotency_key: str | None = None,
) -> ServiceResult:
    """A one-off order bought `quantity` licenses of a type (and its plan too, when `plan_id` is given).
    For an organization (`org_id`) they are its stock, available for its owners and managers to assign;
    otherwise they are assigned to the buyer at once. The store sending the order again changes nothing;
    refunding it (members.services.order_refund) revokes them."""

    def apply(event) -> list[int]:
        now = event.occurred_at
        permissions.require_site_admin(actor, "complete orders")
        count = quantity_check(quantity, limit=MAX_LICENSES_PER_EVENT, field="order.quantity")
        license_type = by_external_id(LicenseType, type_id, what="license type", field="order.license_type")
        org = org_find(org_id, field="order.org") if org_id is not None else None
        plan = plan_get(plan_id, field="order.plan") if plan_id is not None else None
        if not str(order_id).strip():
            raise ServiceError("invalid_value", "an order needs an id", field="order.id")
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
            raise ServiceError("duplicate_id", f"license {taken[0]!r} already exists", field="order.id")
        buyer = None if org is not None else order.member
        licenses_create(
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


def order_licenses_revoke(order: Order, now, actor: Actor, why: str) -> list[int]:
    """Inside order_refund's event: revoke every license the order issued that is not revoked yet; whoever
    they reach loses their access through the licenses' windows. The members touched."""
    licenses = list(
        License.objects.select_for_update(of=("self",))
        .select_related("license_type")
        .filter(order=order, revoked_at__isnull=True)
    )
    if not licenses:
        return []
    revoked_by = f"{actor.label}, because {why}"[: License._meta.get_field("revoked_by").max_length]
    for lic in licenses:
        lic.revoked_at, lic.revoked_by, lic.status_at = now, revoked_by, now
    License.objects.bulk_update(licenses, ["revoked_at", "revoked_by", "status_at"], batch_size=2000)
    license_statuses_store(licenses)
    reached = {lic.member_id for lic in licenses if lic.assigned_to == License.TO_MEMBER}
    orgs = {lic.organization_id for lic in licenses if lic.assigned_to == License.TO_ORG}
    if orgs:
        reached.update(
            SeatHolding.objects.filter(organization_id__in=orgs, end__isnull=True).values_list("member_id", flat=True)
        )
    return sorted(reached)
