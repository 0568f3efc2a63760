"""Licenses: issue one or many, assign, take back, revoke (orgs.services). An organization's licenses are also
reached under /orgs/{org}/licenses, where its own key acts as its manager."""

from __future__ import annotations

from datetime import datetime

from ninja import Router, Schema, Status

from membersync.orgs import selectors as org_selectors
from membersync.orgs import services

from .. import auth, selectors
from ..common import SOURCE, WRITE, Done, Id, actor_of, answers, done

router = Router(tags=["licenses"])


class LicenseOut(Schema):
    id: str
    type: str
    status: str
    organization: str | None
    assigned_to: str  # member | org | "" (available)
    member: str | None
    issued_at: datetime
    revoked_at: datetime | None


class IssueIn(Schema):
    """`quantity` above 1 issues `<id>-1` ... `<id>-N` (ids are made up when `id` is left out). Assigned at once
    to a person (`to_member`) or an organization as a whole (`to_org`), or available to `owner_org`."""

    id: Id | None = None
    type: Id
    quantity: int = 1
    to_member: Id | None = None
    to_org: Id | None = None
    owner_org: Id | None = None
    subscription: Id | None = None


class IssuedOut(Schema):
    outcome: str
    event: int | None
    licenses: list[str]


class AssignIn(Schema):
    """To a person (`member`) or to an organization as a whole (`org`)."""

    member: Id | None = None
    org: Id | None = None


def license_out(lic, status: str | None = None) -> dict:
    return {
        "id": lic.external_id,
        "type": lic.license_type.external_id,
        "status": status or lic.status,
        "organization": lic.organization.external_id if lic.organization_id else None,
        "assigned_to": lic.assigned_to,
        "member": lic.member.external_id if lic.member_id else None,
        "issued_at": lic.issued_at,
        "revoked_at": lic.revoked_at,
    }


@router.get("/licenses/{license}", response=answers(LicenseOut), auth=auth.read, summary="A license")
def license_read(request, license: str):
    return license_out(selectors.license_get(license))


@router.post("/licenses", response=answers(IssuedOut, 201), auth=auth.write, summary="Issue licenses", **WRITE)
def license_issue(request, payload: IssueIn):
    result = services.license_issue(
        license_id=payload.id,
        type_id=payload.type,
        quantity=payload.quantity,
        to_member_id=payload.to_member,
        to_org_id=payload.to_org,
        owner_org_id=payload.owner_org,
        subscription_id=payload.subscription,
        actor=actor_of(request),
        source=SOURCE,
    )
    return Status(201, {**done(result), "licenses": [lic.external_id for lic in result.value or []]})


def _assign(request, license: str, payload: AssignIn) -> dict:
    result = services.license_assign(
        license_id=license, member_id=payload.member, org_id=payload.org, actor=actor_of(request), source=SOURCE
    )
    return done(result)


@router.post("/licenses/{license}/assign", response=answers(Done), auth=auth.write, summary="Assign", **WRITE)
def license_assign(request, license: str, payload: AssignIn):
    return _assign(request, license, payload)


@router.post("/licenses/{license}/unassign", response=answers(Done), auth=auth.write, summary="Take back", **WRITE)
def license_unassign(request, license: str):
    return done(services.license_unassign(license_id=license, actor=actor_of(request), source=SOURCE))


@router.post("/licenses/{license}/revoke", response=answers(Done), auth=auth.write, summary="Revoke", **WRITE)
def license_revoke(request, license: str):
    return done(services.license_revoke(license_id=license, actor=actor_of(request), source=SOURCE))


@router.get("/orgs/{org}/licenses", response=answers(list[LicenseOut]), auth=auth.org_read, summary="Its licenses")
def org_licenses(request, org: str):
    return [license_out(lic, status) for lic, status in org_selectors.org_licenses(selectors.org_get(org))]


@router.post(
    "/orgs/{org}/licenses/{license}/assign",
    response=answers(Done),
    auth=auth.org_write,
    summary="Assign one of its licenses",
    **WRITE,
)
def org_license_assign(request, org: str, license: str, payload: AssignIn):
    selectors.license_get(license, org=selectors.org_get(org))
    return _assign(request, license, payload)


@router.post(
    "/orgs/{org}/licenses/{license}/unassign",
    response=answers(Done),
    auth=auth.org_write,
    summary="Take back one of its licenses",
    **WRITE,
)
def org_license_unassign(request, org: str, license: str):
    selectors.license_get(license, org=selectors.org_get(org))
    return done(services.license_unassign(license_id=license, actor=actor_of(request), source=SOURCE))
