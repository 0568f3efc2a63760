"""Who may do what in an organization: the one place the portal, the admin, the CLI and scenario `as:` go through.

A member actor (membersync/actors.py) is that person acting with their role's permissions; every other kind of
actor (an operator, an API key, a connection, the clock, MemberSync's own commands) acts for the site, except an
API key made for one organization: it acts as that organization's manager, and nowhere else.

Rules: nobody acts outside their own organization; members cannot manage seats, people or licenses (they may
leave); managers manage people and seats below the owner but never the owner, ownership or billing.
"""

from __future__ import annotations

from membersync.actors import Actor
from membersync.errors import ServiceError

from .models import MANAGER, MEMBER, OWNER, ROLES, Organization, OrgRole


def is_site_admin(actor: Actor) -> bool:
    return actor.acts_for_site


def role_of(organization: Organization, member_external_id: str) -> str | None:
    return (
        OrgRole.objects.filter(organization=organization, member__external_id=member_external_id)
        .values_list("role", flat=True)
        .first()
    )


def _refuse(actor: Actor, doing: str, why: str) -> ServiceError:
    who = actor.member_id or f"API key {actor.id}"
    return ServiceError("forbidden", f"{who} may not {doing}: {why}", field="actor")


def acting_role(actor: Actor, organization: Organization, doing: str) -> str | None:
    """The actor's role in the organization (None for the site's administration); refused if outside it."""
    if actor.org:
        if organization.external_id != actor.org:
            raise _refuse(actor, doing, f"it is limited to organization {actor.org}")
        return MANAGER
    who = actor.member_id
    if who is None:
        return None
    role = role_of(organization, who)
    if role is None:
        raise _refuse(actor, doing, f"they are not in organization {organization.external_id}")
    return role


def require_site_admin(actor: Actor, doing: str) -> None:
    if not is_site_admin(actor):
        raise _refuse(actor, doing, "only the site's administration may")


def require_owner(actor: Actor, organization: Organization, doing: str) -> None:
    """Billing and ownership: the owner or the site's administration."""
    role = acting_role(actor, organization, doing)
    if role not in (None, OWNER):
        raise _refuse(actor, doing, f"only an owner may, and they are {role}")


def require_manager(actor: Actor, organization: Organization, doing: str, *, target_role: str | None = None) -> None:
    """Managing people and seats: owners and managers, but a manager never touches an owner."""
    role = acting_role(actor, organization, doing)
    if role is None or role == OWNER:
        return
    if role == MEMBER:
        raise _refuse(actor, doing, "members cannot manage the organization")
    if target_role == OWNER:
        raise _refuse(actor, doing, "a manager cannot act on an owner")


def check_role_change(actor: Actor, organization: Organization, *, current: str | None, new: str) -> None:
    """Adding a person or changing their role."""
    if new not in ROLES:
        raise ServiceError("invalid_value", f"unknown role {new!r}; choose one of {', '.join(ROLES)}", field="role")
    doing = f"make someone {new}"
    if new == OWNER:
        require_owner(actor, organization, doing)
        return
    require_manager(actor, organization, doing, target_role=current)


def check_removal(actor: Actor, organization: Organization, *, target_member_id: str, target_role: str) -> None:
    """Removing a person: a member may leave; owners and managers remove people below the owner."""
    if actor.member_id == target_member_id:
        return
    require_manager(actor, organization, "remove people", target_role=target_role)


def check_license_assign(actor: Actor, organization: Organization | None, doing: str) -> None:
    """A license that belongs to an organization may be assigned by its owners and managers."""
    if is_site_admin(actor):
        return
    if organization is None:
        raise _refuse(actor, doing, "the license does not belong to their organization")
    require_manager(actor, organization, doing)


def can_manage(role: str | None) -> bool:
    """For pages: may this role open the organization's management pages?"""
    return role in (OWNER, MANAGER)
