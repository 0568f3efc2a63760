"""Portal writes that are more than one call to an orgs service: importing people in bulk, sending invitations.

The import is one event (sync.services.event_apply): the actor's permission is checked once, every row is
checked against the file and the database first, then the accepted rows are written with bulk queries. Refused
rows change nothing; the report says, row by row, what was done and why a row was refused.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models.functions import Lower

from membersync.actors import Actor
from membersync.catalog.models import SeatType
from membersync.errors import ServiceError
from membersync.orgs import permissions
from membersync.orgs.models import MANAGER, OWNER, Invitation, Organization, OrgRole, Seat
from membersync.orgs.selectors import pools_unpaid
from membersync.orgs.services import INVITATION_LIFETIME
from membersync.orgs.services.seats import seat_claim_free
from membersync.sync.services import event_apply

from .csv_people import ParsedPeople, PersonRow

INVITED = "invited"
ROLE_CHANGED = "role changed"
SEAT_ASSIGNED = "seat assigned"
UNCHANGED = "unchanged"
REFUSED = "refused"


@dataclass(frozen=True)
class RowOutcome:
    row: int
    email: str
    outcome: str  # invited | role changed | unchanged | refused
    detail: str


@dataclass
class ImportReport:
    rows: list[RowOutcome] = field(default_factory=list)
    invitations: list[Invitation] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def count_refused(self) -> int:
        return self.count(REFUSED)

    @property
    def done(self) -> int:
        return len(self.rows) - self.count(REFUSED)


def people_import(*, org: Organization, parsed: ParsedPeople, actor: Actor, source: str = "portal") -> ImportReport:
    """Invite the new people of a checked CSV, change the role of people already in the organization, and
    report every row. Refused as a whole (ServiceError) only when the actor may not manage the organization."""
    if parsed.file_error:
        raise ServiceError("invalid_value", parsed.file_error, field="file")
    report = ImportReport()

    def apply(event) -> list[int]:
        now = event.occurred_at
        permissions.require_manager(actor, org, "import people")
        acting_as = actor.member_id
        emails = [row.email for row in parsed.rows]
        roles_by_email: dict[str, OrgRole] = {}
        for role in (
            OrgRole.objects.filter(organization=org)
            .annotate(email_lower=Lower("member__email"))
            .filter(email_lower__in=emails)
            .select_related("member")
        ):
            roles_by_email[role.email_lower] = role
        pending = {
            email: expires
            for email, expires in Invitation.objects.filter(
                organization=org, status=Invitation.PENDING, expires_at__gt=now, email__in=emails
            ).values_list("email", "expires_at")
        }
        outcomes = {
            refusal.row: RowOutcome(refusal.row, refusal.email, REFUSED, refusal.reason) for refusal in parsed.refused
        }
        seats = _SeatPlan(org, {row.seat_type for row in parsed.rows if row.seat_type}, now)
        role_changes: list[OrgRole] = []
        new_invitations: list[Invitation] = []
        for row in parsed.rows:
            existing = roles_by_email.get(row.email)
            outcome, change, invitation = _row_plan(row, existing, pending.get(row.email), acting_as)
            if row.seat_type and outcome.outcome != REFUSED:
                outcome = seats.plan(row, outcome, existing, invitation)
            if outcome.outcome != REFUSED:
                if change is not None:
                    role_changes.append(change)
                if invitation is not None:
                    new_invitations.append(invitation)
            outcomes[row.row] = outcome
        for invitation in new_invitations:
            invitation.organization, invitation.invited_by, invitation.created_at = org, actor, now
            invitation.expires_at = now + INVITATION_LIFETIME
        if role_changes:
            OrgRole.objects.bulk_update(role_changes, ["role"], batch_size=2000)
        if new_invitations:
            Invitation.objects.bulk_create(new_invitations, batch_size=2000)
        report.rows = [outcomes[number] for number in sorted(outcomes)]
        report.invitations = new_invitations
        return seats.claim(org, now)

    payload = {
        "org": org.external_id,
        "rows": len(parsed.rows) + len(parsed.refused),
        "accepted": len(parsed.rows),
        "refused": len(parsed.refused),
        "digest": hashlib.sha256("\n".join(f"{r.email},{r.role}" for r in parsed.rows).encode()).hexdigest(),
    }
    event_apply(kind="org.people_import", payload=payload, actor=actor, source=source, apply=apply)
    return report


class _SeatPlan:
    """Seats given on import (the `seat_type` column): each row takes one of the free seats of its type, counted
    before anything is written, so a row past the last free seat is refused and changes nothing."""

    def __init__(self, org: Organization, wanted: set[str], now):
        self.types = {t.external_id: t for t in SeatType.objects.filter(external_id__in=wanted)}
        free = Seat.objects.filter(organization=org, holder__isnull=True, invitation__isnull=True)
        unpaid = pools_unpaid(org, now)
        if unpaid:
            free = free.exclude(pool_id__in=unpaid)
        self.free = {t.pk: free.filter(seat_type=t).count() for t in self.types.values()}
        self.held = set(
            Seat.objects.filter(organization=org, holder__isnull=False).values_list("holder_id", "seat_type_id")
        )
        self.for_members: list = []
        self.for_invitations: list = []

    def plan(self, row: PersonRow, outcome: RowOutcome, existing: OrgRole | None, invitation) -> RowOutcome:
        seat_type = self.types.get(row.seat_type)
        if seat_type is None:
            return RowOutcome(row.row, row.email, REFUSED, f"unknown seat type {row.seat_type!r}")
        name = seat_type.name or seat_type.external_id
        if existing is not None and (existing.member_id, seat_type.pk) in self.held:
            return RowOutcome(row.row, row.email, outcome.outcome, f"{outcome.detail}; already holds a {name} seat")
        if existing is None and invitation is None:  # already invited: the invitation keeps what it holds
            return outcome
        if self.free[seat_type.pk] <= 0:
            return RowOutcome(row.row, row.email, REFUSED, f"no free {name} seat left for this row")
        self.free[seat_type.pk] -= 1
        if existing is not None:
            self.held.add((existing.member_id, seat_type.pk))
            self.for_members.append((existing.member, seat_type))
            kind = SEAT_ASSIGNED if outcome.outcome == UNCHANGED else outcome.outcome
            given = f"given a {name} seat"
            detail = given if outcome.outcome == UNCHANGED else f"{outcome.detail}; {given}"
            return RowOutcome(row.row, row.email, kind, detail)
        self.for_invitations.append((invitation, seat_type))
        return RowOutcome(row.row, row.email, outcome.outcome, f"{outcome.detail}; a {name} seat is held for them")

    def claim(self, org: Organization, now) -> list[int]:
        """Take the seats counted above (the invitations exist by now); returns the members whose access changed."""
        for invitation, seat_type in self.for_invitations:
            seat_claim_free(org, seat_type, invitation=invitation, now=now)
        for member, seat_type in self.for_members:
            seat_claim_free(org, seat_type, member=member, now=now)
        return [member.pk for member, _ in self.for_members]


def _row_plan(
    row: PersonRow, existing: OrgRole | None, pending_until, acting_as: str | None
) -> tuple[RowOutcome, OrgRole | None, Invitation | None]:
    """What one checked row does: (its outcome, a role to change, an invitation to create)."""

    def outcome(kind: str, detail: str) -> RowOutcome:
        return RowOutcome(row.row, row.email, kind, detail)

    if existing is not None:
        if existing.role == row.role:
            return outcome(UNCHANGED, f"already in the organization as {row.role}"), None, None
        if existing.role == OWNER:
            return outcome(REFUSED, "is the owner: transfer the ownership instead of importing a role"), None, None
        if row.role == OWNER:
            return outcome(REFUSED, "ownership is transferred by the owner, not imported"), None, None
        if acting_as is not None and existing.member.external_id == acting_as:
            return outcome(REFUSED, "you cannot change your own role"), None, None
        change = f"role changed from {existing.role} to {row.role}"
        existing.role = row.role
        return outcome(ROLE_CHANGED, change), existing, None
    if row.role == OWNER:
        return outcome(REFUSED, "ownership is transferred by the owner, not imported"), None, None
    if pending_until is not None:
        return outcome(UNCHANGED, f"already invited (the invitation runs until {pending_until:%Y-%m-%d})"), None, None
    invitation = Invitation(
        email=row.email,
        first_name=row.first_name,
        last_name=row.last_name,
        role=row.role,
        token=secrets.token_urlsafe(32),
    )
    return outcome(INVITED, f"invited as {row.role}"), None, invitation


def invitations_send(*, invitations: Iterable[Invitation], accept_url: Callable[[str], str]) -> int:
    """Email each invited person the link that lets them set a password and join; one mail connection."""
    messages = []
    for invitation in invitations:
        greeting = f"Hello {invitation.first_name}," if invitation.first_name else "Hello,"
        role = "a manager" if invitation.role == MANAGER else "a member"
        body = (
            f"{greeting}\n\n"
            f"You are invited to join {invitation.organization.name} as {role}.\n\n"
            f"Open this link to choose your password and join:\n{accept_url(invitation.token)}\n\n"
            f"The link works once and expires on {invitation.expires_at:%d %B %Y}.\n"
        )
        messages.append(
            EmailMessage(
                subject=f"You are invited to {invitation.organization.name}",
                body=body,
                from_email=settings.DEFAULT_FROM_EMAIL,
                to=[invitation.email],
            )
        )
    if not messages:
        return 0
    with get_connection() as connection:
        return connection.send_messages(messages) or 0


def invitation_resend(*, org: Organization, invitation_id: int, actor: Actor, source: str = "portal") -> Invitation:
    """A pending invitation gets a new link (the old one stops working: only its hash was kept) and a new
    expiry. Returns the invitation with its new token, for invitations_send; nothing is changed if refused."""
    resent: list[Invitation] = []

    def apply(event) -> list[int]:
        invitation = Invitation.objects.select_related("organization").filter(pk=invitation_id).first()
        if invitation is None or invitation.organization_id != org.pk:
            raise ServiceError("not_found", f"no invitation {invitation_id} in {org.name}", field="invitation")
        permissions.check_role_change(actor, org, current=None, new=invitation.role)
        if invitation.status != Invitation.PENDING:
            raise ServiceError(
                "invalid_value",
                f"the invitation is {invitation.status}: only a pending one is resent",
                field="invitation",
            )
        invitation.token = secrets.token_urlsafe(32)
        invitation.expires_at = event.occurred_at + INVITATION_LIFETIME
        invitation.save(update_fields=["token_hash", "expires_at"])
        resent.append(invitation)
        return []

    event_apply(
        kind="invitation.resend",
        payload={"org": org.external_id, "invitation": invitation_id},
        actor=actor,
        source=source,
        apply=apply,
    )
    return resent[0]
