"""The demo's organization "Acme": seats, licenses and a manager who signs in to the portal.

Written through catalog.services and orgs.services (the manager's login comes from accepting an invitation,
the way a real manager gets one).
"""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model

from membersync.catalog import services as catalog
from membersync.catalog.models import LicenseType, SeatType
from membersync.members import services as members
from membersync.orgs import services as orgs
from membersync.orgs.models import Invitation, License, Organization, Seat, SeatPool

from . import DemoContext

ORG_ID = "acme"
MANAGER_EMAIL = "manager@acme.example"
MANAGER_PASSWORD = "acme-demo-manager"
PEOPLE = {
    "olivia": "Olivia Owens",  # the owner
    "peggy": "Peggy Park",
    "quentin": "Quentin Quinn",
    "rupert": "Rupert Reed",
}


def acme_load(ctx: DemoContext) -> None:
    actor = ctx.actor  # the site's administration sets the organization up
    if not SeatType.objects.filter(external_id="team-seat").exists():
        catalog.seat_type_create(
            external_id="team-seat", name="Team seat", grants=[{"course": "intro"}, {"group": "community"}]
        )
        ctx.count("seat types")
    if not LicenseType.objects.filter(external_id="workshop-license").exists():
        catalog.license_type_create(
            external_id="workshop-license",
            name="Workshop license (90 days)",
            length="90 days",
            grants=[{"course": "workshop"}],
        )
        ctx.count("license types")
    for external_id, name in PEOPLE.items():
        members.member_get_or_create(external_id=external_id, email=f"{external_id}@acme.example", name=name)
    if not Organization.objects.filter(external_id=ORG_ID).exists():
        orgs.org_create(org_id=ORG_ID, name="Acme", owner_id="olivia", actor=actor)
        ctx.count("organizations")
    if not SeatPool.objects.filter(organization__external_id=ORG_ID).exists():
        orgs.seats_add(org_id=ORG_ID, seat_type_id="team-seat", quantity=5, actor=actor)
    for holder in ("olivia", "peggy", "quentin"):
        if not Seat.objects.filter(organization__external_id=ORG_ID, holder__external_id=holder).exists():
            orgs.seat_assign(org_id=ORG_ID, member_id=holder, seat_type_id="team-seat", actor=actor)
            ctx.count("seats assigned")
    if not License.objects.filter(external_id="acme-workshop-rupert").exists():
        orgs.license_issue(
            license_id="acme-workshop-rupert", type_id="workshop-license", to_member_id="rupert", actor=actor
        )
        ctx.count("licenses")
    if not License.objects.filter(external_id__startswith="acme-workshop-pool").exists():
        orgs.license_issue(
            license_id="acme-workshop-pool", type_id="workshop-license", owner_org_id=ORG_ID, quantity=3, actor=actor
        )
        ctx.count("licenses")
    if not get_user_model().objects.filter(username=MANAGER_EMAIL).exists():
        invitation = (
            Invitation.objects.filter(
                organization__external_id=ORG_ID, email=MANAGER_EMAIL, status=Invitation.PENDING
            ).first()
            or orgs.invitation_create(
                org_id=ORG_ID,
                email=MANAGER_EMAIL,
                role="manager",
                first_name="Mona",
                last_name="Manager",
                actor=actor,
                source="admin",
            ).value
        )
        if not hasattr(invitation, "token"):  # a pending one from an earlier run: the database keeps only a hash
            invitation.token = secrets.token_urlsafe(32)
            invitation.save(update_fields=["token_hash"])
        orgs.invitation_accept(token=invitation.token, password=MANAGER_PASSWORD, source="admin")
        ctx.count("portal logins")
    ctx.logins.append(("Acme portal manager (/portal/)", MANAGER_EMAIL, MANAGER_PASSWORD))
