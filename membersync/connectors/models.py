"""What connected systems sent: every delivery stored raw before it is applied, and the last state applied of
each resource a store told us about (to recognise repeats, stale deliveries and whose a deleted id was)."""

from django.db import models

from membersync.people.models import Connection


class Delivery(models.Model):
    """One webhook delivery, exactly as it arrived (headers and body bytes), and what applying it did."""

    RECEIVED = "received"  # stored, waiting for the worker
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # equal to the state already applied for its resource
    STALE = "stale"  # older than the state already applied
    IGNORED = "ignored"  # understood, and nothing in it concerns access (a topic MemberSync does not follow)
    FAILED = "failed"  # could not be applied: kept with its error, replayable
    STATUSES = (RECEIVED, APPLIED, DUPLICATE, STALE, IGNORED, FAILED)

    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="deliveries")
    topic = models.CharField(max_length=64, blank=True)  # X-WC-Webhook-Topic, e.g. "subscription.updated"
    resource = models.CharField(max_length=32, blank=True)  # X-WC-Webhook-Resource
    action = models.CharField(max_length=32, blank=True)  # X-WC-Webhook-Event
    webhook_id = models.CharField(max_length=32, blank=True)
    delivery_id = models.CharField(max_length=128, blank=True)
    headers = models.JSONField(default=dict)
    body = models.BinaryField()
    received_at = models.DateTimeField()
    status = models.CharField(max_length=16, default=RECEIVED, choices=[(s, s) for s in STATUSES])
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=64, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)
    outcome = models.TextField(blank=True, help_text="what applying it did, in words")

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due")]

    def __str__(self):
        return f"{self.topic or 'delivery'} #{self.pk} from {self.connection.name}"

    @property
    def text(self) -> str:
        return bytes(self.body).decode("utf-8", errors="replace")


class StoreResource(models.Model):
    """The last state of one store resource (a subscription, an order, a user membership ...) that was applied."""

    connection = models.ForeignKey(Connection, on_delete=models.PROTECT, related_name="resources")
    resource = models.CharField(max_length=32)
    external_id = models.CharField(max_length=64)
    state_hash = models.CharField(max_length=64, help_text="of the part of the state that matters for access")
    modified_at = models.DateTimeField(null=True, blank=True, help_text="the store's modification date")
    customer_id = models.CharField(max_length=64, blank=True, help_text="whose it is: *.deleted carries only the id")
    deleted = models.BooleanField(default=False)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["connection", "resource", "external_id"], name="store_resource_unique")
        ]

    def __str__(self):
        return f"{self.resource} {self.external_id} of {self.connection.name}"


class ImportProgress(models.Model):
    """How far `membersync import` got through one resource of a store: the next page to read and what the pages
    already done did. An interrupted import resumes from here; a finished one removes its rows (the next import
    is a whole new pass), and `--restart` removes them first."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="import_progress")
    resource = models.CharField(max_length=32)
    next_page = models.PositiveIntegerField(default=1)
    total_pages = models.PositiveIntegerField(null=True, blank=True)
    done = models.BooleanField(default=False)
    counts = models.JSONField(default=dict, help_text="read, applied, duplicate, stale, ignored, failed so far")
    failures = models.JSONField(default=list, help_text="[[id, error], ...] of the pages already done")
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["connection", "resource"], name="import_progress_unique")]

    def __str__(self):
        return f"import of {self.resource} from {self.connection.name}: next page {self.next_page}"


class DriftCheck(models.Model):
    """One run of `membersync verify` (by hand or nightly by the worker): how many differences between the store
    and MemberSync it found, how many it repaired, and its report in words."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="drift_checks")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    nightly = models.BooleanField(default=False, help_text="run by the worker (connection setting verify)")
    repair = models.BooleanField(default=False)
    differences = models.PositiveIntegerField(default=0)
    repaired = models.PositiveIntegerField(default=0)
    report = models.TextField(blank=True)
    error = models.TextField(blank=True, help_text="why it stopped before the end (the store could not be read)")

    class Meta:
        indexes = [models.Index(fields=["connection", "started_at"], name="drift_check_latest")]

    def __str__(self):
        return f"verify of {self.connection.name} at {self.started_at:%Y-%m-%d %H:%M}"


class WooCommerceStore(Connection):
    """A WooCommerce connection, for its own admin page: connect a store (the key checked) and see what to set
    up in WooCommerce."""

    class Meta:
        proxy = True
        verbose_name = "WooCommerce store"
