"""People and what they bought: members, orders, subscriptions, memberships.

These are *sources*: events update them, and a member's access is derived from them (sync/reconciler.py).
Nothing here decides access by itself.
"""

from django.db import models

from membersync.access.statuses import MEMBERSHIP_STATUSES, SUBSCRIPTION_STATUSES
from membersync.catalog.models import LicenseType, Plan
from membersync.people.models import Member


class Subscription(models.Model):
    """A WooCommerce subscription as the store last described it."""

    external_id = models.CharField(max_length=64, unique=True)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="subscriptions")
    plans = models.ManyToManyField(Plan, blank=True, related_name="subscriptions")
    status = models.CharField(max_length=16, choices=[(s, s) for s in SUBSCRIPTION_STATUSES])
    status_since = models.DateTimeField()
    start = models.DateTimeField()
    trial_end = models.DateTimeField(null=True, blank=True)
    next_payment = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    # The store's own modification time of the state last applied: an older update is stale.
    store_modified_at = models.DateTimeField()
    switched_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # When it created the memberships of its plans. It does so once: renewals never grant, and a plan changed in
    # the store (an admin edit, not a switch) makes no second membership.
    memberships_granted_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"subscription {self.external_id} ({self.status})"


class SubscriptionChange(models.Model):
    """Every state of a subscription that was applied, in order: its history. `at` is when the state took
    effect (the store's `modified`, else the delivery's arrival); `event` says when it became known."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="changes")
    at = models.DateTimeField()
    status = models.CharField(max_length=16)
    trial_end = models.DateTimeField(null=True, blank=True)
    next_payment = models.DateTimeField(null=True, blank=True)
    end = models.DateTimeField(null=True, blank=True)
    event = models.ForeignKey("sync.Event", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["at", "id"]


class Order(models.Model):
    """A one-off order: it buys a plan (a membership), licenses of a type (orgs.License.order), or both."""

    COMPLETED = "completed"
    REFUNDED = "refunded"

    external_id = models.CharField(max_length=64, unique=True)
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="orders")
    plan = models.ForeignKey(Plan, null=True, blank=True, on_delete=models.PROTECT, related_name="orders")
    license_type = models.ForeignKey(
        LicenseType, null=True, blank=True, on_delete=models.PROTECT, related_name="orders"
    )
    license_quantity = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=[(COMPLETED, COMPLETED), (REFUNDED, REFUNDED)])
    completed_at = models.DateTimeField()
    refunded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                name="order_buys_something",
                condition=models.Q(plan__isnull=False) | models.Q(license_quantity__gte=1),
            ),
            models.CheckConstraint(
                name="order_license_quantity_with_type",
                condition=models.Q(license_type__isnull=True, license_quantity=0)
                | models.Q(license_type__isnull=False, license_quantity__gte=1),
            ),
        ]

    def __str__(self):
        return f"order {self.external_id}"


# What events set; a store running WooCommerce Memberships may also say free_trial or pending_cancel.
BASE_STATUSES = ("active", "complimentary", "free_trial", "pending_cancel", "cancelled", "expired")


class Membership(models.Model):
    """A user membership. `base_status`, `ended_at`, pauses and the linked subscription are what events set;
    `status` is the derived status at `status_at`, kept for lists and filters (the reconciler refreshes it)."""

    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="memberships")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="memberships")
    external_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    start = models.DateTimeField()
    base_status = models.CharField(max_length=16, choices=[(s, s) for s in BASE_STATUSES], default="active")
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=200, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="memberships"
    )
    last_subscription = models.ForeignKey(
        Subscription,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the subscription it followed before it was unlinked",
    )
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="memberships")
    # A store running WooCommerce Memberships owns this membership (its connection's name): its status and
    # dates come from the store, and MemberSync refuses its own pause, cancel or extend of it (store_managed).
    managed_by = models.CharField(max_length=64, blank=True)
    store_url = models.URLField(max_length=500, blank=True, help_text="where the store shows it")
    store_end = models.DateTimeField(null=True, blank=True, help_text="the end date the store gives it")
    ends_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="an end date an operator set (extend, transfer): it replaces the end its plan's length gives",
    )
    status = models.CharField(max_length=16, choices=[(s, s) for s in MEMBERSHIP_STATUSES], default="active")
    status_rule = models.CharField(max_length=300, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["member", "plan"]), models.Index(fields=["status"])]

    def __str__(self):
        return f"{self.member} in {self.plan} ({self.status})"


class MembershipPause(models.Model):
    """A paused interval. An admin pause, or a subscription's on-hold (starting after the plan's grace)."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="pauses")
    start = models.DateTimeField()
    end = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200)
    # Set when the pause is a subscription's on-hold: the subscription's reactivation ends it, not an admin.
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="membership_pauses"
    )

    class Meta:
        ordering = ["start"]
        indexes = [models.Index(fields=["membership", "start"])]


class Notification(models.Model):
    """An email sent to a member about her membership; one of each kind per membership, ever."""

    STARTED = "started"
    ENDING_SOON = "ending_soon"
    ENDED = "ended"
    KINDS = (STARTED, ENDING_SOON, ENDED)

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=16, choices=[(k, k) for k in KINDS])
    sent_at = models.DateTimeField()
    to_email = models.EmailField(blank=True, help_text="empty: the member has no address, nothing was sent")
    subject = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["membership", "kind"], name="notification_once_per_kind")]

    def __str__(self):
        return f"{self.kind} to {self.to_email or '(no address)'} at {self.sent_at:%Y-%m-%d %H:%M}"
