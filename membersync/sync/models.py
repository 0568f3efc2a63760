"""Events in, the state of every grant, the ledger, the outbox of operations, and the built-in LMS table."""

from django.db import models

from membersync.people.models import Member


class Event(models.Model):
    """Everything that changed a source, stored before it is applied (in the same transaction).

    `idempotency_key` recognises a duplicate delivery; `content_hash` tells a replay of the same content from a
    changed one. A refused event is stored too, with its error, so nothing a store sends is silently dropped.
    """

    APPLIED = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"
    REFUSED = "refused"

    idempotency_key = models.CharField(max_length=200)
    kind = models.CharField(max_length=64)  # "order.complete", "membership.pause", "subscription.update", ...
    source = models.CharField(max_length=32)  # admin | webhook | api | scenario | portal | cli
    actor = models.CharField(max_length=200)
    payload = models.JSONField()
    content_hash = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, default=APPLIED)
    error = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "occurred_at"])]
        constraints = [
            # A store's delivery id can repeat with other content: the key and the content together are one
            # delivery, applied once.
            models.UniqueConstraint(fields=["idempotency_key", "content_hash"], name="event_unique_delivery")
        ]

    def __str__(self):
        return f"{self.kind} by {self.actor} at {self.occurred_at:%Y-%m-%d %H:%M}"


class Enrollment(models.Model):
    """The built-in LMS: who is enrolled in which course, group, or group leadership, and since when.

    `access_from` is what LearnDash calls course_<id>_access_from: lesson drip and course expiry count from it.
    A suspended enrollment keeps it; a resumed one has it pushed back by the suspended time.
    """

    ACTIVE = "active"
    SUSPENDED = "suspended"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="enrollments")
    target_kind = models.CharField(max_length=16)
    target_id = models.CharField(max_length=64)
    status = models.CharField(max_length=16, default=ACTIVE)
    access_from = models.DateTimeField()
    suspended_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "target_kind", "target_id"], name="enrollment_unique_target")
        ]

    def __str__(self):
        return f"{self.member} in {self.target_kind} {self.target_id} ({self.status})"


class MemberAccess(models.Model):
    """Per member: when access was last computed and when it next changes by itself (the worker wakes it then)."""

    member = models.OneToOneField(Member, on_delete=models.CASCADE, primary_key=True, related_name="access")
    computed_at = models.DateTimeField()
    next_change_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Fingerprints of the enrollments wanted at the last reconcile and of those the built-in sink last wrote:
    # while they agree and next_change_at is ahead, a resync has nothing to do for this member.
    desired_digest = models.CharField(max_length=32, blank=True)
    applied_digest = models.CharField(max_length=32, blank=True)


class GrantRecord(models.Model):
    """The last recorded state of each grant, so that the reconciler writes the ledger only on a change."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="grant_records")
    key = models.CharField(max_length=200)
    target_kind = models.CharField(max_length=16)
    target_id = models.CharField(max_length=64)
    source_kind = models.CharField(max_length=16)
    source_id = models.CharField(max_length=64)
    state = models.CharField(max_length=16)  # pending | open | suspended | closed
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["member", "key"], name="grant_record_unique_key")]


class LedgerEntry(models.Model):
    """Append-only: every grant opened, suspended, resumed or closed, when, why, and who caused it."""

    OPENED = "opened"
    SUSPENDED = "suspended"
    RESUMED = "resumed"
    CLOSED = "closed"
    SCHEDULED = "scheduled"

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="ledger")
    at = models.DateTimeField(help_text="when the change took effect")
    recorded_at = models.DateTimeField()
    action = models.CharField(max_length=16)
    grant_key = models.CharField(max_length=200)
    target_kind = models.CharField(max_length=16)
    target_id = models.CharField(max_length=64)
    source_kind = models.CharField(max_length=16)
    source_id = models.CharField(max_length=64)
    reason = models.CharField(max_length=400)
    cause = models.CharField(max_length=200, help_text="the event or schedule that led to the change")
    actor = models.CharField(max_length=200)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["member", "target_kind", "target_id"])]
        verbose_name_plural = "ledger entries"


class Operation(models.Model):
    """The outbox: an operation for a sink, leased by a worker, retried with backoff until done or dead.

    `wanted` is the member's whole wanted state for the sink once this operation applies: a list of
    {"target_kind", "target_id", "status": active|suspended, "access_from", "suspended_since"}. A sink makes its
    state equal to it, so applying it twice changes nothing, and a newer operation of the same member and sink
    makes an older one pointless: the older is marked superseded, never applied after it. `changes` says what
    this operation changes compared with the one before it ({"action": enroll|suspend|resume|unenroll, ...}),
    for people reading the outbox.
    """

    PENDING = "pending"
    HELD = "held"  # a mass removal waiting for an operator's confirmation (sync/brake.py)
    DONE = "done"
    SUPERSEDED = "superseded"
    DEAD = "dead"
    UNFINISHED = (PENDING, HELD)

    sink = models.CharField(max_length=96, default="builtin")
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="operations")
    wanted = models.JSONField(default=list)
    changes = models.JSONField()
    # The fingerprint of the member's enrollments once this operation is applied.
    result_digest = models.CharField(max_length=32, blank=True)
    idempotency_key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=16, default=PENDING)
    superseded_by = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    leased_until = models.DateTimeField(null=True, blank=True)
    leased_by = models.CharField(max_length=64, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    # The request's or delivery's correlation id that made it (membersync/correlation.py): the outbox logs under it.
    correlation_id = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["member", "sink", "status"], name="operation_member_sink"),
        ]


class MirrorEntry(models.Model):
    """What a remote sink (a LearnDash site) holds for a member, as its last answers said: the reconciler diffs
    wanted access against it, as it diffs against the Enrollment rows for the built-in sink."""

    sink = models.CharField(max_length=96)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="+")
    target_kind = models.CharField(max_length=16)
    target_id = models.CharField(max_length=64)
    status = models.CharField(max_length=16)
    access_from = models.DateTimeField()
    suspended_since = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "mirror entries"
        constraints = [
            models.UniqueConstraint(fields=["sink", "member", "target_kind", "target_id"], name="mirror_unique_target")
        ]


class SinkState(models.Model):
    """Per sink: when an operator last confirmed its held removals (the brake counts removals since then)."""

    sink = models.CharField(max_length=96, primary_key=True)
    # The brake's count: members whose access the sink's operations removed since `removals_since`.
    removals_since = models.DateTimeField(null=True, blank=True)
    removals = models.PositiveIntegerField(default=0)
    brake_released_at = models.DateTimeField(null=True, blank=True)
    brake_alerted_at = models.DateTimeField(null=True, blank=True)
