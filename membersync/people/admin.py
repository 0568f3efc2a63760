"""Admin for connections and identities.

A connection's credentials and webhook secret are write-only here: the pages say "set" or "not set", and an
operator replaces a secret by typing a new one into a field that is never filled back in. Identities are the
connections' records: viewed, never edited (member_for_identity writes them).
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin

from membersync import wiring
from membersync.admin_mixins import ReadOnlyAdminMixin

from . import services
from .models import Connection, Identity, Member


class ConnectionForm(forms.ModelForm):
    url = forms.URLField(required=False, max_length=500, assume_scheme="https")
    new_credentials = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text='replace the credentials: a JSON object, e.g. {"consumer_key": "ck_...", "consumer_secret": '
        '"cs_..."}; empty: keep them',
    )
    new_webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="replace the webhook secret; empty: keep it",
    )
    clear_secrets = forms.BooleanField(required=False, help_text="remove both secrets")

    class Meta:
        model = Connection
        fields = ("kind", "name", "url", "settings")

    def clean_new_credentials(self):
        text = self.cleaned_data["new_credentials"].strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            raise forms.ValidationError("the credentials must be a JSON object") from None
        if not isinstance(value, dict):
            raise forms.ValidationError("the credentials must be a JSON object")
        return value


class IdentityInline(ReadOnlyAdminMixin, admin.TabularInline):
    """The ids connections know a member by (for the member's page)."""

    model = Identity
    fk_name = "member"
    fields = ("connection", "kind", "external_id", "email", "created_at")
    readonly_fields = fields
    extra = 0


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = ConnectionForm
    list_display = (
        "name",
        "kind",
        "url",
        "credentials_state",
        "webhook_secret_state",
        "last_delivery_at",
        "last_success_at",
        "consecutive_failures",
        "refused_signatures",
    )
    list_filter = ("kind",)
    search_fields = ("name", "url")
    readonly_fields = (
        "credentials_state",
        "webhook_secret_state",
        "last_delivery_at",
        "last_success_at",
        "consecutive_failures",
        "refused_signatures",
        "last_error",
        "created_at",
    )
    fieldsets = (
        (None, {"fields": ("kind", "name", "url", "settings")}),
        (
            "Secrets (write-only)",
            {
                "fields": (
                    "credentials_state",
                    "new_credentials",
                    "webhook_secret_state",
                    "new_webhook_secret",
                    "clear_secrets",
                )
            },
        ),
        (
            "Health",
            {
                "fields": (
                    "last_delivery_at",
                    "last_success_at",
                    "consecutive_failures",
                    "refused_signatures",
                    "last_error",
                    "created_at",
                )
            },
        ),
    )

    def has_delete_permission(self, request, obj=None):
        return False  # identities (and through them members' history) hang on it

    @admin.display(description="credentials")
    def credentials_state(self, connection):
        return "set" if connection.has_credentials else "not set"

    @admin.display(description="webhook secret")
    def webhook_secret_state(self, connection):
        return "set" if connection.has_webhook_secret else "not set"

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        credentials, secret = data.get("new_credentials"), data.get("new_webhook_secret") or None
        if data.get("clear_secrets"):
            credentials, secret = {}, ""
        if change:
            obj.save(update_fields=["kind", "name", "url", "settings"])
        else:
            created = services.connection_create(kind=obj.kind, name=obj.name, url=obj.url, settings=obj.settings or {})
            obj.pk, obj.created_at = created.pk, created.created_at
        services.connection_secrets_set(connection=obj, credentials=credentials, webhook_secret=secret)


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("external_id", "kind", "connection", "member", "email", "created_at")
    list_filter = ("kind", "connection")
    search_fields = ("external_id", "email", "member__external_id", "member__email", "member__name")
    list_select_related = ("connection", "member")


def member_admin_inlines_install(site: admin.AdminSite | None = None) -> None:
    """Give the member admin, wherever it is registered, the inlines other apps wire for her page
    (wiring.member_admin_inlines): run once the admin's modules are loaded (PeopleConfig.ready)."""
    model_admin = (site or admin.site)._registry.get(Member)
    if model_admin is None:
        return
    extra = [inline for inline in wiring.member_admin_inlines() if inline not in model_admin.inlines]
    model_admin.inlines = [*model_admin.inlines, *extra]
