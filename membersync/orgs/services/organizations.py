"""Organizations and the people in them: create, roles, removal, ownership transfer."""

from __future__ import annotations

from membersync.actors import Actor
from membersync.errors import ServiceError
from membersync.members.services import member_get_or_create
from membersync.people.models import Member
from membersync.results import Applied, ServiceResult
from membersync.sync.services import event_apply

from .. import permissions
from ..models import (
    OWNER,
    License,
    Organization,
    OrgRole,
)
from .licenses import license_take_back
from .lookups import member_find, org_find, org_join, role_find
from .seats import seats_release_all


def org_create(*, org_id: str, name: str = "", owner_id: str, actor: Actor, source: str = "admin") -> ServiceResult:
    """A new organization; `owner_id` (created if new) becomes its owner."""

    def apply(event) -> list[int]:
        permissions.require_site_admin(actor, "create organizations")
        if not str(org_id).strip():
            raise ServiceError("invalid_value", "an organization needs an id", field="org.id")
        if Organization.objects.filter(external_id=str(org_id)).exists():
            raise ServiceError("duplicate_id", f"organization {org_id!r} already exists", field="org.id")
        org = Organization.objects.create(
            external_id=str(org_id), name=name or str(org_id), created_at=event.occurred_at
        )
        owner = member_get_or_create(external_id=str(owner_id))
        OrgRole.objects.create(organization=org, member=owner, role=OWNER, since=event.occurred_at)
        return Applied(members=[], value=org)

    payload = {"org": {"id": org_id, "name": name, "owner": owner_id}}
    return event_apply(kind="org.create", payload=payload, actor=actor, source=source, apply=apply)


def org_member_set(*, org_id: str, member_id: str, role: str, actor: Actor, source: str = "admin") -> ServiceResult:
    """Add a person to the organization with `role`, or change their role. An organization keeps an owner."""

    def apply(event) -> list[int]:
        org = org_find(org_id)
        member = member_get_or_create(external_id=str(member_id))
        existing = role_find(org, member)
        permissions.check_role_change(actor, org, current=existing.role if existing else None, new=role)
        if existing is None:
            return Applied(
                members=[],
                value=OrgRole.objects.create(organization=org, member=member, role=role, since=event.occurred_at),
            )
        if existing.role == OWNER and role != OWNER:
            _require_another_owner(org, member)
        existing.role = role
        existing.save(update_fields=["role"])
        return Applied(members=[], value=existing)

    payload = {"org": org_id, "member": member_id, "role": role}
    return event_apply(kind="org.member", payload=payload, actor=actor, source=source, apply=apply)


def _require_another_owner(org: Organization, leaving: Member) -> None:
    if not OrgRole.objects.filter(organization=org, role=OWNER).exclude(member=leaving).exists():
        raise ServiceError(
            "last_owner",
            f"{leaving.external_id} is the only owner of {org.external_id}: transfer the ownership first",
            field="member",
        )


def org_member_remove(*, org_id: str, member_id: str, actor: Actor, source: str = "admin") -> ServiceResult:
    """Remove a person from the organization: their seats are freed and the organization's licenses they had
    return to it. A member may remove themselves (leave)."""

    def apply(event) -> list[int]:
        now = event.occurred_at
        org = org_find(org_id)
        member = member_find(member_id)
        role = role_find(org, member)
        if role is None:
            raise ServiceError("not_found", f"{member_id} is not in organization {org_id}", field="member")
        permissions.check_removal(actor, org, target_member_id=member.external_id, target_role=role.role)
        if role.role == OWNER:
            _require_another_owner(org, member)
        seats_release_all(
            org, member, None, now, f"{member.external_id} was removed from {org.external_id} by {actor.label}"
        )
        for lic in License.objects.filter(organization=org, member=member):
            license_take_back(lic, now, f"{member.external_id} left organization {org.external_id}")
        role.delete()
        return [member.pk]

    payload = {"org": org_id, "member": member_id}
    return event_apply(kind="org.remove", payload=payload, actor=actor, source=source, apply=apply)


def org_ownership_transfer(*, org_id: str, to_member_id: str, actor: Actor, source: str = "admin") -> ServiceResult:
    """`to_member_id` becomes the owner; the previous owner(s) stay on as managers. An owner hands the
    organization to someone already in it; only the site's administration can give it to someone new."""

    def apply(event) -> list[int]:
        org = org_find(org_id)
        permissions.require_owner(actor, org, "transfer the ownership")
        if not permissions.is_site_admin(actor) and permissions.role_of(org, str(to_member_id)) is None:
            raise ServiceError(
                "not_found", f"{to_member_id} is not in {org.name}: invite them first", field="to_member"
            )
        member = member_get_or_create(external_id=str(to_member_id))
        role = org_join(org, member, event.occurred_at, role=OWNER)
        OrgRole.objects.filter(organization=org, role=OWNER).exclude(pk=role.pk).update(role="manager")
        if role.role != OWNER:
            role.role = OWNER
            role.save(update_fields=["role"])
        return []

    payload = {"org": org_id, "to": to_member_id}
    return event_apply(kind="org.transfer", payload=payload, actor=actor, source=source, apply=apply)
