"""Organizations, their people and roles, and invitations (orgs.services). An organization's own key reaches its
organization here, as its manager."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from ninja import Router, Schema, Status

from membersync.orgs import selectors as org_selectors
from membersync.orgs import services
from membersync.orgs.models import Organization

from .. import auth, selectors
from ..common import SOURCE, WRITE, Cursor, Done, Id, Name, actor_of, answers, done

router = Router(tags=["organizations"])


class OrgIn(Schema):
    id: Id
    name: Name = ""
    owner: Id


class SeatUse(Schema):
    seat_type: str
    total: int
    used: int
    held_for_invitations: int
    free: int


class OrgOut(Schema):
    id: str
    name: str
    seats: list[SeatUse]


class PersonOut(Schema):
    member: str
    name: str
    email: str
    role: str
    since: datetime
    seat_types: list[str]
    licenses: list[str]


class InvitationOut(Schema):
    id: int
    email: str
    role: str
    status: str
    expires_at: datetime
    accept_url: str | None = None  # only in the answer that created it: the link is not kept


class PeopleOut(Schema):
    people: list[PersonOut]
    invitations: list[InvitationOut]


class RoleIn(Schema):
    role: str


class OwnerIn(Schema):
    member: Id


class InvitationIn(Schema):
    email: Name
    role: str = "member"
    first_name: Name = ""
    last_name: Name = ""
    hold_seat_type: Id | None = None


def org_out(org: Organization) -> dict:
    seats = [
        {
            "seat_type": use.seat_type_id,
            "total": use.total,
            "used": use.used,
            "held_for_invitations": use.held,
            "free": use.free,
        }
        for use in org_selectors.org_dashboard(org)
    ]
    return {"id": org.external_id, "name": org.name, "seats": seats}


def invitation_out(invitation, token: str | None = None) -> dict:
    return {
        "id": invitation.pk,
        "email": invitation.email,
        "role": invitation.role,
        "status": invitation.status,
        "expires_at": invitation.expires_at,
        "accept_url": f"{settings.PUBLIC_URL}/portal/invitations/{token}/" if token else None,
    }


@router.get("/orgs", response=answers(list[OrgOut]), auth=auth.read, summary="Organizations")
def orgs(request):
    return [org_out(o) for o in Organization.objects.order_by("external_id")]


@router.post("/orgs", response=answers(OrgOut, 201), auth=auth.write, summary="Create an organization", **WRITE)
def org_new(request, payload: OrgIn):
    services.org_create(
        org_id=payload.id, name=payload.name, owner_id=payload.owner, actor=actor_of(request), source=SOURCE
    )
    return Status(201, org_out(selectors.org_get(payload.id)))


@router.get("/orgs/{org}", response=answers(OrgOut), auth=auth.org_read, summary="An organization")
def org_read(request, org: str):
    return org_out(selectors.org_get(org))


@router.get("/orgs/{org}/people", response=answers(PeopleOut), auth=auth.org_read, summary="Its people")
def org_people(request, org: str):
    found = org_selectors.org_people(selectors.org_get(org))
    people = [
        {
            "member": p.member.external_id,
            "name": p.member.name,
            "email": p.member.email,
            "role": p.role,
            "since": p.since,
            "seat_types": p.seat_types,
            "licenses": p.licenses,
        }
        for p in found.people
    ]
    return {"people": people, "invitations": [invitation_out(i) for i in found.invitations]}


@router.put(
    "/orgs/{org}/people/{member}", response=answers(Done), auth=auth.org_write, summary="Add or set a role", **WRITE
)
def org_person_set(request, org: str, member: str, payload: RoleIn):
    result = services.org_member_set(
        org_id=org, member_id=member, role=payload.role, actor=actor_of(request), source=SOURCE
    )
    return done(result)


@router.delete(
    "/orgs/{org}/people/{member}", response=answers(Done), auth=auth.org_write, summary="Remove a person", **WRITE
)
def org_person_remove(request, org: str, member: str):
    return done(services.org_member_remove(org_id=org, member_id=member, actor=actor_of(request), source=SOURCE))


@router.post(
    "/orgs/{org}/owner", response=answers(Done), auth=auth.org_write, summary="Transfer the ownership", **WRITE
)
def org_owner(request, org: str, payload: OwnerIn):
    result = services.org_ownership_transfer(
        org_id=org, to_member_id=payload.member, actor=actor_of(request), source=SOURCE
    )
    return done(result)


@router.post(
    "/orgs/{org}/invitations",
    response=answers(InvitationOut, 201),
    auth=auth.org_write,
    summary="Invite a person",
    **WRITE,
)
def org_invite(request, org: str, payload: InvitationIn):
    """The answer carries the invitation's link once (only its hash is kept): send it to the person."""
    result = services.invitation_create(
        org_id=org,
        email=payload.email,
        role=payload.role,
        first_name=payload.first_name,
        last_name=payload.last_name,
        hold_seat_type_id=payload.hold_seat_type,
        actor=actor_of(request),
        source=SOURCE,
    )
    return Status(201, invitation_out(result.value, token=result.value.token))


@router.delete(
    "/orgs/{org}/invitations/{invitation}",
    response=answers(Done),
    auth=auth.org_write,
    summary="Withdraw an invitation",
    **WRITE,
)
def org_invitation_cancel(request, org: str, invitation: Cursor):
    found = selectors.invitation_in_org(selectors.org_get(org), invitation)
    return done(services.invitation_cancel(invitation_id=found.pk, actor=actor_of(request), source=SOURCE))
