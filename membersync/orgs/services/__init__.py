"""Writes to organizations, seats, invitations and licenses, one small module each.

Every public function is one event: stored, applied and reconciled in one transaction (sync.services.event_apply),
checked against the actor's permissions (orgs/permissions.py), and refused with a ServiceError that changes
nothing.
"""

from .invitations import invitation_accept, invitation_cancel, invitation_create
from .license_orders import order_complete_licenses, order_licenses_revoke
from .licenses import license_assign, license_issue, license_revoke, license_unassign
from .lookups import INVITATION_LIFETIME
from .organizations import org_create, org_member_remove, org_member_set, org_ownership_transfer
from .seats import seat_assign, seat_move, seat_release, seats_add, seats_remove

__all__ = [
    "INVITATION_LIFETIME",
    "invitation_accept",
    "invitation_cancel",
    "invitation_create",
    "license_assign",
    "license_issue",
    "license_revoke",
    "license_unassign",
    "order_complete_licenses",
    "order_licenses_revoke",
    "org_create",
    "org_member_remove",
    "org_member_set",
    "org_ownership_transfer",
    "seat_assign",
    "seat_move",
    "seat_release",
    "seats_add",
    "seats_remove",
]
