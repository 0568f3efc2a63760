"""Reads the API needs that no app offers: a member by her id or a connection's id, an organization, an
invitation or a license by the id a client gives. What the engine stored (access, the ledger, events, operations)
is read through membersync/sync/selectors.py."""

from __future__ import annotations

from membersync.errors import NotFound
from membersync.people.models import Identity, Member
from membersync.people.services import member_find

PAGE_MAX = 500


def member_get(member_id: str) -> Member:
    """The member with this id (or the one it was merged into)."""
    found = member_find(external_id=str(member_id))
    if found is None:
        raise NotFound("member", member_id, field="member")
    return found.member


def members_lookup(*, email: str = "", connection: str = "", kind: str = "", identity: str = "") -> list[Member]:
    """By normalized email, or by the id a connection knows her by (a store customer id, a WordPress user id)."""
    if identity:
        rows = Identity.objects.filter(external_id=str(identity)).select_related("member")
        if connection:
            rows = rows.filter(connection__name=connection)
        if kind:
            rows = rows.filter(kind=kind)
        return list({row.member_id: row.member for row in rows[:PAGE_MAX]}.values())
    if email:
        return list(Member.objects.filter(email_normalized=email.strip().lower()).order_by("pk")[:PAGE_MAX])
    return []


def org_get(org_id: str):
    from membersync.orgs.selectors import org_by_external_id

    found = org_by_external_id(org_id)
    if found is None:
        raise NotFound("organization", org_id, field="org")
    return found


def invitation_in_org(org, invitation_id: int):
    from membersync.orgs.models import Invitation

    found = Invitation.objects.filter(organization=org, pk=invitation_id).first()
    if found is None:
        raise NotFound("invitation", invitation_id, field="invitation")
    return found


def license_get(license_id: str, *, org=None):
    from membersync.orgs.models import License

    query = License.objects.select_related("license_type", "member", "organization")
    if org is not None:
        query = query.filter(organization=org)
    found = query.filter(external_id=str(license_id)).first()
    if found is None:
        raise NotFound("license", license_id, field="license")
    return found
