"""A member is one person across every system MemberSync connects to.

This app sits below the sources (memberships, organizations) and the engine (sync): everything that is about a
person references `Member`, and nothing here knows what she bought.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.db import models
from django.db.models import Q

from .cipher import secret_open, secret_seal

# The kinds of connection: one external system each.
WOOCOMMERCE = "woocommerce"
LEARNDASH = "learndash"
ACTIVECAMPAIGN = "activecampaign"
FLUENTCRM = "fluentcrm"
CONNECTION_KINDS = (WOOCOMMERCE, LEARNDASH, ACTIVECAMPAIGN, FLUENTCRM)

# The kinds of id a connection knows a person by. MERGED_MEMBER_ID has no connection: the external id of a member
# that was merged into another one, so that events still naming it find the member it became.
CUSTOMER = "customer"
WP_USER = "wp_user"
CONTACT = "contact"
MERGED_MEMBER_ID = "merged_member_id"
IDENTITY_KINDS = (CUSTOMER, WP_USER, CONTACT, MERGED_MEMBER_ID)


def email_normalize(email: str | None) -> str:
    """The form emails are matched in: stripped and lower-cased (the whole address: hosts treat the local part
    case-insensitively in practice, and a person typing Alice@ or alice@ is one person)."""
    return (email or "").strip().lower()


class Member(models.Model):
    external_id = models.CharField(max_length=64, unique=True, help_text="WordPress user id (or a name of yours)")
    email = models.EmailField(blank=True, db_index=True)
    # email_normalize(email), kept in step by save(): what a store customer or an invited person is matched by.
    email_normalized = models.CharField(max_length=254, blank=True, db_index=True, editable=False)
    name = models.CharField(max_length=200, blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="member"
    )
    created_at = models.DateTimeField()

    class Meta:
        # The table keeps the name it had when members lived in the members app (docs/decisions/0002).
        db_table = "members_member"

    def __str__(self):
        return self.name or self.email or self.external_id

    def save(self, *args, **kwargs):
        self.email_normalized = email_normalize(self.email)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "email" in update_fields and "email_normalized" not in update_fields:
            kwargs["update_fields"] = [*update_fields, "email_normalized"]
        super().save(*args, **kwargs)


class Connection(models.Model):
    """One external system: a WooCommerce store, a LearnDash site, a CRM account.

    Its credentials (a JSON object: e.g. {"consumer_key": ..., "consumer_secret": ...}) and webhook secret are
    stored encrypted (cipher.py); read and write them through `credentials`, `webhook_secret` and the setters,
    never through the *_sealed columns. Neither appears in str(), repr() or the admin.
    """

    KIND_CHOICES = [(k, k) for k in CONNECTION_KINDS]

    kind = models.CharField(max_length=16, choices=KIND_CHOICES)
    name = models.SlugField(max_length=64, unique=True, help_text="in URLs: /webhooks/<kind>/<name>")
    url = models.URLField(max_length=500, blank=True)
    credentials_sealed = models.TextField(blank=True, editable=False)
    webhook_secret_sealed = models.TextField(blank=True, editable=False)
    settings = models.JSONField(default=dict, blank=True, help_text='e.g. {"memberships": true}')
    # Health
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    refused_signatures = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.kind} {self.name}"

    @property
    def credentials(self) -> dict:
        """The plaintext credentials ({} when not set). Raises cipher.SecretsKeyError under the wrong key."""
        text = secret_open(self.credentials_sealed, what=f"connection {self.name}'s credentials")
        return json.loads(text) if text else {}

    def set_credentials(self, credentials: dict | None) -> None:
        """Seal `credentials` (None or {}: not set). The caller saves."""
        self.credentials_sealed = secret_seal(json.dumps(credentials, sort_keys=True) if credentials else "")

    @property
    def webhook_secret(self) -> str:
        return secret_open(self.webhook_secret_sealed, what=f"connection {self.name}'s webhook secret")

    def set_webhook_secret(self, secret: str | None) -> None:
        self.webhook_secret_sealed = secret_seal(secret or "")

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials_sealed)

    @property
    def has_webhook_secret(self) -> bool:
        return bool(self.webhook_secret_sealed)


class Identity(models.Model):
    """How one connection knows a member: a store's customer id, a WordPress user id, a CRM contact id.
    An id is unique within its connection and kind; a member may have any number of identities."""

    KIND_CHOICES = [(k, k) for k in IDENTITY_KINDS]

    connection = models.ForeignKey(
        Connection,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="identities",
        help_text="empty: one of MemberSync's own ids (a merged member's external id)",
    )
    kind = models.CharField(max_length=24, choices=KIND_CHOICES)
    external_id = models.CharField(max_length=191)
    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="identities")
    email = models.EmailField(blank=True, help_text="the address the connection last gave for this id")
    created_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "identities"
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "kind", "external_id"], name="identity_unique_per_connection"
            ),
            models.UniqueConstraint(
                fields=["kind", "external_id"], condition=Q(connection__isnull=True), name="identity_unique_own"
            ),
        ]

    def __str__(self):
        where = self.connection.name if self.connection_id else "membersync"
        return f"{where} {self.kind} {self.external_id}"
