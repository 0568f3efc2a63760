"""Organizations, their people in roles, their seats and licenses.

Seats and licenses are *sources* of access (orgs/sources.py turns them into windows for the reconciler).
A seat is one row: taking a seat is claiming that row with a conditional UPDATE, so it is never given twice.
Who held which seat and when is kept in SeatHolding, so access windows stay right after the seat moves on.
"""

import hashlib

from django.db import models
from django.db.models import Q

from membersync.access.statuses import LICENSE_STATUSES
from membersync.catalog.models import LicenseType, SeatType
from membersync.members.models import Order, Subscription
from membersync.people.models import Member

OWNER = "owner"
MANAGER = "manager"
MEMBER = "member"
ROLES = (OWNER, MANAGER, MEMBER)


class Organization(models.Model):
    external_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class OrgRole(models.Model):
    """A person's place in an organization. Every organization keeps at least one owner."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="roles")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="org_roles")
    role = models.CharField(max_length=16, choices=[(r, r) for r in ROLES], default=MEMBER)
    since = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "member"], name="org_role_one_per_person")]
        indexes = [models.Index(fields=["organization", "role"])]

    def __str__(self):
        return f"{self.member} is {self.role} of {self.organization}"


class SeatPool(models.Model):
    """Seats of one type that an organization bought together; paid by a subscription, they follow its status."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="seat_pools")
    seat_type = models.ForeignKey(SeatType, on_delete=models.PROTECT, related_name="pools")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="seat_pools"
    )
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["organization", "seat_type"])]

    def __str__(self):
        paid = f", paid by {self.subscription}" if self.subscription_id else ""
        return f"{self.seat_type} seats of {self.organization}{paid}"


class Seat(models.Model):
    """One seat. Free when it has neither a holder nor a pending invitation holding it."""

    pool = models.ForeignKey(SeatPool, on_delete=models.CASCADE, related_name="seats")
    # Copied from the pool so that finding a free seat is one indexed query.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="seats")
    seat_type = models.ForeignKey(SeatType, on_delete=models.PROTECT, related_name="seats")
    holder = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="seats")
    held_since = models.DateTimeField(null=True, blank=True)
    invitation = models.OneToOneField(
        "Invitation", null=True, blank=True, on_delete=models.SET_NULL, related_name="held_seat"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "seat_type", "holder"],
                condition=Q(holder__isnull=False),
                name="seat_one_per_person_and_type",
            ),
            models.CheckConstraint(
                name="seat_held_by_one", condition=Q(holder__isnull=True) | Q(invitation__isnull=True)
            ),
        ]
        indexes = [models.Index(fields=["organization", "seat_type", "holder"])]

    def __str__(self):
        return f"{self.seat_type} seat {self.pk} of {self.organization}"


class SeatHolding(models.Model):
    """A person held a seat from `start` until `end` (None: still holds it). The seat's access window."""

    seat = models.ForeignKey(Seat, null=True, blank=True, on_delete=models.SET_NULL, related_name="holdings")
    pool = models.ForeignKey(SeatPool, on_delete=models.CASCADE, related_name="holdings")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="seat_holdings")
    seat_type = models.ForeignKey(SeatType, on_delete=models.PROTECT, related_name="+")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="seat_holdings")
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["member"]), models.Index(fields=["organization", "end"])]

    def __str__(self):
        return f"{self.member} held {self.seat_type} seat of {self.organization} from {self.start:%Y-%m-%d}"


def invitation_token_hash(token: str) -> str:
    """What the database keeps of an invitation's token: its SHA-256, so the table alone opens no invitation."""
    return hashlib.sha256(str(token).encode()).hexdigest()


class Invitation(models.Model):
    PENDING = "pending"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    role = models.CharField(max_length=16, choices=[(r, r) for r in ROLES], default=MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(max_length=16, choices=[(s, s) for s in (PENDING, ACCEPTED, CANCELLED)], default=PENDING)
    invited_by = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["organization", "status"]), models.Index(fields=["email"])]

    def __str__(self):
        return f"invitation of {self.email} to {self.organization} ({self.status})"

    @property
    def token(self) -> str:
        """The token of the emailed link. Only the instance that was given it knows it (`Invitation(token=...)`),
        to build that link; the database keeps its hash (docs/decisions/0008-invitation-tokens.md)."""
        try:
            return self._token
        except AttributeError:
            raise AttributeError("an invitation read from the database knows only its token's hash") from None

    @token.setter
    def token(self, value: str) -> None:
        self._token = str(value)
        self.token_hash = invitation_token_hash(value)


# The statuses are the rules' (membersync/access/statuses.py); named here as the models use them.
AVAILABLE, ACTIVE, SUSPENDED, EXPIRED, REVOKED = LICENSE_STATUSES


class License(models.Model):
    """A unit of access issued from a license type. Assigned to a person, or to an organization (then every
    person holding a seat there has its access while they hold the seat). Its length counts from its first
    assignment; paid by a subscription, it follows its status. `status` is derived and stored for lists."""

    TO_MEMBER = "member"
    TO_ORG = "org"

    external_id = models.CharField(max_length=64, unique=True)
    license_type = models.ForeignKey(LicenseType, on_delete=models.PROTECT, related_name="licenses")
    # The organization the license belongs to (its owner or manager may assign it), if any.
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.SET_NULL, related_name="licenses"
    )
    assigned_to = models.CharField(
        max_length=8, blank=True, choices=[("", "nobody"), (TO_MEMBER, "a person"), (TO_ORG, "the organization")]
    )
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="licenses")
    assigned_at = models.DateTimeField(null=True, blank=True, help_text="first assignment: the length counts from it")
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="licenses"
    )
    # The one-off order that bought it: refunding the order revokes it.
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.PROTECT, related_name="licenses")
    issued_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=[(s, s) for s in LICENSE_STATUSES], default=AVAILABLE)
    status_rule = models.CharField(max_length=300, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status"]), models.Index(fields=["organization", "assigned_to"])]
        constraints = [
            models.CheckConstraint(
                name="license_assignee_matches",
                condition=Q(assigned_to="", member__isnull=True)
                | Q(assigned_to="member", member__isnull=False)
                | Q(assigned_to="org", member__isnull=True, organization__isnull=False),
            )
        ]

    def __str__(self):
        return f"license {self.external_id} ({self.license_type}, {self.status})"


class LicenseAssignment(models.Model):
    """A license was assigned to a person or an organization from `start` until `end` (None: still is)."""

    license = models.ForeignKey(License, on_delete=models.CASCADE, related_name="assignments")
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    organization = models.ForeignKey(Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [models.Index(fields=["member"]), models.Index(fields=["organization"])]
        constraints = [
            models.CheckConstraint(
                name="license_assignment_one_target",
                condition=Q(member__isnull=False, organization__isnull=True)
                | Q(member__isnull=True, organization__isnull=False),
            )
        ]

    def __str__(self):
        return f"{self.license} assigned to {self.member or self.organization} from {self.start:%Y-%m-%d}"
