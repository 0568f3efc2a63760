"""What running MemberSync needs to remember about itself: which workers are alive, when each periodic job last
ran, and the alerts sent to operators (one per incident)."""

from django.db import models
from django.db.models import Q

from membersync.people.models import Member


class WorkerHeartbeat(models.Model):
    """One row per worker process (host:pid), touched at every pass: /healthz and the alerts read the newest."""

    worker = models.CharField(max_length=64, primary_key=True)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)
    passes = models.PositiveBigIntegerField(default=0)
    # What it reconciled since it started (sync/stats.py): counters for /metrics.
    reconciles = models.PositiveBigIntegerField(default=0)
    reconciled_members = models.PositiveBigIntegerField(default=0)
    reconcile_seconds = models.FloatField(default=0)

    def __str__(self):
        return f"worker {self.worker} last seen {self.seen_at:%Y-%m-%d %H:%M:%S}"


class JobRun(models.Model):
    """When a job of the worker that runs on its own schedule (alerts, retention) last ran: claimed by a
    conditional update, so two workers never run it at once."""

    name = models.CharField(max_length=64, primary_key=True)
    last_run_at = models.DateTimeField()


class Alert(models.Model):
    """One incident an operator was told about: opened (and emailed) once, resolved when its cause went away.
    `key` names the incident's cause ("worker", "dead:builtin", "connection:shop", "silent:shop")."""

    key = models.CharField(max_length=128)
    subject = models.CharField(max_length=200)
    message = models.TextField()
    opened_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    emailed_to = models.TextField(blank=True, help_text="who was told (empty: OPERATOR_EMAILS is not set)")
    # For dead operations: the newest dead operation this incident covers; a newer one extends it.
    watermark = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=Q(resolved_at__isnull=True), name="alert_one_open")
        ]

    def __str__(self):
        return self.subject


class MemberPrivacy(Member):
    """Members as the privacy page lists them: export a member's data, or erase it."""

    class Meta:
        proxy = True
        verbose_name = "member's data (export, erase)"
        verbose_name_plural = "members' data (export, erase)"
