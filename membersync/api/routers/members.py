"""Members: look up by id, email or a connection's id; create and update."""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema, Status

from membersync.people.members import member_create, member_update

from .. import auth, selectors
from ..common import WRITE, answers

router = Router(tags=["members"])


class MemberOut(Schema):
    id: str
    email: str
    name: str
    created_at: datetime
    identities: list[str]


class MemberIn(Schema):
    id: str
    email: str = ""
    name: str = ""


class MemberPatch(Schema):
    email: str | None = None
    name: str | None = None


def member_out(member) -> dict:
    identities = [
        f"{i.connection.name if i.connection_id else 'membersync'}:{i.kind}:{i.external_id}"
        for i in member.identities.select_related("connection").order_by("pk")
    ]
    return {
        "id": member.external_id,
        "email": member.email,
        "name": member.name,
        "created_at": member.created_at,
        "identities": identities,
    }


@router.get("/members", response=answers(list[MemberOut]), auth=auth.read, summary="Find members")
def members_find(request, email: str = "", connection: str = "", kind: str = "", identity: str = ""):
    """By email (normalized), or by the id a connection knows her by: `identity` (a store customer id, a
    WordPress user id), narrowed by `connection` name and `kind` (customer, wp_user, contact)."""
    found = selectors.members_lookup(email=email, connection=connection, kind=kind, identity=identity)
    return [member_out(m) for m in found]


@router.get("/members/{member}", response=answers(MemberOut), auth=auth.read, summary="A member")
def member_read(request, member: str):
    return member_out(selectors.member_get(member))


@router.post("/members", response=answers(MemberOut, 201), auth=auth.write, summary="Create a member", **WRITE)
def member_new(request, payload: MemberIn):
    return Status(201, member_out(member_create(external_id=payload.id, email=payload.email, name=payload.name)))


@router.patch("/members/{member}", response=answers(MemberOut), auth=auth.write, summary="Update a member", **WRITE)
def member_change(request, member: str, payload: MemberPatch):
    found = selectors.member_get(member)
    return member_out(member_update(member=found, email=payload.email, name=payload.name))
