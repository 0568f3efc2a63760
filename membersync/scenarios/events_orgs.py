"""Scenario events and checks for organizations, seats and licenses. Each event calls the orgs service with the
step's actor: `as: <member>` makes it that member, acting with that person's role."""

from __future__ import annotations

from membersync.orgs import services
from membersync.orgs.selectors import member_license_statuses, org_by_external_id, org_seat_counts
from membersync.people.models import Member

from .parsing import ScenarioError, ident, mapping_fields
from .registry import Context, event, member_check, org_check


def _opt(value) -> str | None:
    return None if value is None else ident(value, "an id")


def _quantity(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ScenarioError(f"quantity must be a whole number, not {value!r}")
    return value


@event("org.create", required=("org",))
def org_create(step: dict, ctx: Context):
    org = mapping_fields(step["org"], {"id", "name", "owner"}, {"id", "owner"}, "org")
    return services.org_create(
        org_id=str(org["id"]),
        name=str(org.get("name") or ""),
        owner_id=str(org["owner"]),
        actor=ctx.actor,
        source="scenario",
    )


@event("org.member", required=("org", "member", "role"))
def org_member(step: dict, ctx: Context):
    return services.org_member_set(
        org_id=ident(step["org"], "org"),
        member_id=str(step["member"]),
        role=str(step["role"]),
        actor=ctx.actor,
        source="scenario",
    )


@event("org.remove", required=("org", "member"))
def org_remove(step: dict, ctx: Context):
    return services.org_member_remove(
        org_id=ident(step["org"], "org"), member_id=str(step["member"]), actor=ctx.actor, source="scenario"
    )


@event("seats.add", required=("org", "seat_type", "quantity"), optional=("subscription",))
def seats_add(step: dict, ctx: Context):
    return services.seats_add(
        org_id=ident(step["org"], "org"),
        seat_type_id=str(step["seat_type"]),
        quantity=_quantity(step["quantity"]),
        subscription_id=_opt(step.get("subscription")),
        actor=ctx.actor,
        source="scenario",
    )


@event("seats.remove", required=("org", "seat_type", "quantity"))
def seats_remove(step: dict, ctx: Context):
    return services.seats_remove(
        org_id=ident(step["org"], "org"),
        seat_type_id=str(step["seat_type"]),
        quantity=_quantity(step["quantity"]),
        actor=ctx.actor,
        source="scenario",
    )


@event("seats.assign", required=("org", "member"), optional=("seat_type",))
def seats_assign(step: dict, ctx: Context):
    return services.seat_assign(
        org_id=ident(step["org"], "org"),
        member_id=str(step["member"]),
        seat_type_id=_opt(step.get("seat_type")),
        actor=ctx.actor,
        source="scenario",
    )


@event("seats.release", required=("org", "member"), optional=("seat_type",))
def seats_release(step: dict, ctx: Context):
    return services.seat_release(
        org_id=ident(step["org"], "org"),
        member_id=str(step["member"]),
        seat_type_id=_opt(step.get("seat_type")),
        actor=ctx.actor,
        source="scenario",
    )


@event("seats.move", required=("org", "from", "to"), optional=("seat_type",))
def seats_move(step: dict, ctx: Context):
    return services.seat_move(
        org_id=ident(step["org"], "org"),
        from_member_id=str(step["from"]),
        to_member_id=str(step["to"]),
        seat_type_id=_opt(step.get("seat_type")),
        actor=ctx.actor,
        source="scenario",
    )


@event("license.issue", required=("license",))
def license_issue(step: dict, ctx: Context):
    lic = mapping_fields(
        step["license"],
        {"id", "type", "to_member", "to_org", "owner_org", "subscription", "quantity"},
        {"type"},
        "license",
    )
    return services.license_issue(
        license_id=_opt(lic.get("id")),
        type_id=str(lic["type"]),
        to_member_id=_opt(lic.get("to_member")),
        to_org_id=_opt(lic.get("to_org")),
        owner_org_id=_opt(lic.get("owner_org")),
        subscription_id=_opt(lic.get("subscription")),
        quantity=_quantity(lic.get("quantity", 1)),
        actor=ctx.actor,
        source="scenario",
    )


@event("license.assign", required=("id",), optional=("member", "org"))
def license_assign(step: dict, ctx: Context):
    return services.license_assign(
        license_id=str(step["id"]),
        member_id=_opt(step.get("member")),
        org_id=_opt(step.get("org")),
        actor=ctx.actor,
        source="scenario",
    )


@event("license.revoke", required=("id",))
def license_revoke(step: dict, ctx: Context):
    return services.license_revoke(license_id=str(step["id"]), actor=ctx.actor, source="scenario")


@member_check("licenses")
def check_licenses(member: Member | None, expected, ctx: Context):
    """Her licenses' statuses; `none` for one that is not hers (FORMAT.md): the selector lists only hers."""
    if not isinstance(expected, dict):
        raise ScenarioError("licenses: expects a mapping of license id to status")
    found = member_license_statuses(member, ctx.now) if member else {}
    return [(f"license {lic}", str(status), found.get(str(lic), "none")) for lic, status in expected.items()]


def _org_counts(org_id: str) -> tuple[int, int]:
    org = org_by_external_id(org_id)
    if org is None:
        raise ScenarioError(f"no organization {org_id!r}")
    return org_seat_counts(org)


def _count(expected, what: str) -> int:
    if isinstance(expected, bool) or not isinstance(expected, int):
        raise ScenarioError(f"{what}: expects a whole number, not {expected!r}")
    return expected


@org_check("seats_total")
def check_seats_total(org_id: str, expected, ctx: Context):
    return [("seats_total", _count(expected, "seats_total"), _org_counts(org_id)[0])]


@org_check("seats_used")
def check_seats_used(org_id: str, expected, ctx: Context):
    return [("seats_used", _count(expected, "seats_used"), _org_counts(org_id)[1])]
