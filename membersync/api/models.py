"""API keys, the answers stored for Idempotency-Keys, and resync jobs started through the API."""

from django.db import models

READ = "read"
WRITE = "write"
ADMIN = "admin"
SCOPES = (READ, WRITE, ADMIN)


class ApiKey(models.Model):
    """A program's key. The token is shown once; only its SHA-256 is kept (a random 256-bit token cannot be
    guessed, so a slow hash would buy nothing and cost every request). `prefix` is its public start, to find it."""

    name = models.SlugField(max_length=64, unique=True)
    prefix = models.CharField(max_length=16, unique=True)
    digest = models.CharField(max_length=64)
    scope = models.CharField(max_length=8, choices=[(s, s) for s in SCOPES])
    organization = models.ForeignKey(
        "orgs.Organization",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="api_keys",
        help_text="set: the key acts as this organization's manager and reaches nothing else",
    )
    rate_per_minute = models.PositiveIntegerField(default=0, help_text="0: the site's default (API_RATE_PER_MINUTE)")
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True, help_text="written at most once a minute")

    class Meta:
        verbose_name = "API key"

    def __str__(self):
        return f"API key {self.name} ({self.prefix}…)"


class IdempotentAnswer(models.Model):
    """The first answer to a write sent with an Idempotency-Key, replayed when the same key and body come again
    within API_IDEMPOTENCY_HOURS; older ones are deleted (idempotency.idempotent_answers_prune)."""

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField()
    body = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key", "key"], name="idempotent_answer_once_per_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotent_answer_created")]


class ResyncJob(models.Model):
    """A resync of every member asked through the API; the worker carries it out and records its progress."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    status = models.CharField(max_length=8, default=QUEUED)
    quick = models.BooleanField(default=False)
    requested_by = models.CharField(max_length=200)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    members_changed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
