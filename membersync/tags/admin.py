"""Admin for CRM tags: the CRM's tags, course and group tag settings (edited through the service that checks them),
tags applied as sources, CRM connections with their health, and a member's tags with their origins on her page
(wiring.member_admin_inlines)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html

from membersync.access.tags import CRM, MIRROR, OPERATOR
from membersync.actors import Actor
from membersync.admin_mixins import ReadOnlyAdminMixin
from membersync.errors import ServiceError
from membersync.people.models import ACTIVECAMPAIGN, FLUENTCRM, LEARNDASH, Connection

from .connect import crm_connection_check, crm_connection_store, crm_webhook_urls
from .models import CrmConnection, MemberTag, Tag, TargetTagSettings
from .selectors import CRM_KINDS, member_crm_tags
from .services import tag_settings_check, tag_settings_set

ORIGIN_LABELS = {
    CRM: "applied in the CRM",
    OPERATOR: "applied by an operator",
    MIRROR: "applied by MemberSync (mirrors an enrollment)",
}


def _actor(request) -> Actor:
    return Actor.operator(request.user.get_username())


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "title")
    search_fields = ("name", "title")


# ---- course and group tag settings --------------------------------------------------------------------------


class TargetTagSettingsForm(forms.ModelForm):
    tags_on_enrollment = forms.CharField(
        required=False, help_text="tags applied on enrollment, separated by commas", max_length=2000
    )

    class Meta:
        model = TargetTagSettings
        fields = (
            "target_kind",
            "target_id",
            "link_tag",
            "leader_tag",
            "unenroll_on_link_removed",
            "tags_on_enrollment",
            "remove_tags_on_unenrollment",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["tags_on_enrollment"] = ", ".join(self.instance.tags_on_enrollment or [])

    def clean_tags_on_enrollment(self):
        return [t.strip() for t in self.cleaned_data["tags_on_enrollment"].split(",") if t.strip()]

    def validate_unique(self):
        pass  # the service replaces a target's settings: one row per course or group, never a second

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            tag_settings_check(**{name: data[name] for name in self.Meta.fields})
        except ServiceError as error:
            field = {"kind": "target_kind", "course": "target_id", "group": "target_id"}.get(error.field, error.field)
            self.add_error(field if field in self.fields else None, error.message)
        return data


@admin.register(TargetTagSettings)
class TargetTagSettingsAdmin(admin.ModelAdmin):
    form = TargetTagSettingsForm
    list_display = (
        "target_kind",
        "target_id",
        "link_tag",
        "leader_tag",
        "unenroll_on_link_removed",
        "enrollment_tags",
        "remove_tags_on_unenrollment",
    )
    list_filter = ("target_kind",)
    search_fields = ("target_id", "link_tag")

    @admin.display(description="tags on enrollment")
    def enrollment_tags(self, settings):
        return ", ".join(settings.tags_on_enrollment or [])

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = tag_settings_set(**{name: data[name] for name in form.Meta.fields}, actor=_actor(request))
        obj.pk = saved.pk
        messages.info(
            request,
            "Saved. Members' tags follow at their next reconcile; `membersync batch course-tags` (or group-tags) "
            "brings every member's now, calling the CRM only for the differences.",
        )


@admin.register(MemberTag)
class MemberTagAdmin(admin.ModelAdmin):
    """Tags applied to members as sources, with their origin; the tags each CRM holds are on the member's page."""

    list_display = ("member", "tag", "origin", "connection", "applied_at", "removed_at")
    list_filter = ("origin", "connection")
    search_fields = ("member__external_id", "member__email", "tag")
    raw_id_fields = ("member",)

    def has_change_permission(self, request, obj=None):
        return False  # applied and removed through the services (tag_operator_apply / tag_operator_remove)


# ---- a member's tags, on her page ---------------------------------------------------------------------------


class MemberTagInline(ReadOnlyAdminMixin, admin.TabularInline):
    """Tags applied to her as sources of access, in a CRM or by an operator, current and past."""

    model = MemberTag
    fk_name = "member"
    fields = ("tag", "origin", "connection", "applied_at", "applied_by", "removed_at", "removed_by")
    readonly_fields = fields
    ordering = ("-applied_at",)
    extra = 0
    verbose_name = "tag applied as a source"
    verbose_name_plural = "tags applied as sources (in a CRM or by an operator)"


class CrmTagHeldInline(ReadOnlyAdminMixin, admin.TabularInline):
    """What each CRM holds for her, and why: a source (applied in the CRM or by an operator) or MemberSync's
    mirror of an enrollment (never a source of access). Read through selectors.member_crm_tags."""

    model = MemberTag
    fk_name = "member"
    template = "admin/tags/crm_tags_held.html"
    verbose_name_plural = "tags each CRM holds, with their origin"

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        held = member_crm_tags(member=obj) if obj is not None else []
        formset.held = [
            (crm.crm, tag.tag, ORIGIN_LABELS[tag.origin], tag.since, tag.by) for crm in held for tag in crm.tags
        ]
        return formset


# ---- CRM connections ----------------------------------------------------------------------------------------


class CrmConnectForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=[(ACTIVECAMPAIGN, "ActiveCampaign"), (FLUENTCRM, "FluentCRM")])
    url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        help_text="ActiveCampaign: the API URL (https://ACCOUNT.api-us1.com); FluentCRM: the WordPress site",
    )
    api_token = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text="ActiveCampaign's API token"
    )
    user = forms.CharField(required=False, help_text="FluentCRM: a WordPress user allowed to manage FluentCRM")
    app_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        label="Application password",
        help_text="FluentCRM: that user's application password",
    )
    companion = forms.ModelChoiceField(
        queryset=Connection.objects.filter(kind=LEARNDASH),
        required=False,
        to_field_name="name",
        help_text="FluentCRM: the LearnDash site whose companion plugin reports its tag changes",
    )

    class Meta:
        model = CrmConnection
        fields = ("name",)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            self.checked = crm_connection_check(
                kind=data["kind"],
                name=data["name"],
                url=data["url"],
                api_token=data.get("api_token") or "",
                user=data.get("user") or "",
                app_password=data.get("app_password") or "",
                companion=data["companion"].name if data.get("companion") else "",
            )
        except ServiceError as error:
            field = error.field if error.field in self.fields else None
            self.add_error(field, error.message)
        return data


@admin.register(CrmConnection)
class CrmConnectionAdmin(admin.ModelAdmin):
    """Connect a CRM (its credentials checked, stored sealed); each one's health and webhook addresses."""

    list_display = (
        "name",
        "kind",
        "url",
        "last_success_at",
        "consecutive_failures",
        "short_error",
        "last_delivery_at",
        "refused_signatures",
    )
    list_filter = ("kind",)
    readonly_fields = (
        "kind",
        "url",
        "webhook_addresses",
        "last_success_at",
        "consecutive_failures",
        "last_error",
        "last_delivery_at",
        "refused_signatures",
        "created_at",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).filter(kind__in=CRM_KINDS)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            return CrmConnectForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("kind", "name", "url", "api_token", "user", "app_password", "companion")
        return ("name", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return ("name", *self.readonly_fields) if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False  # identities and tags hang on it

    @admin.display(description="last error")
    def short_error(self, connection):
        return (connection.last_error or "")[:120] or "-"

    @admin.display(description="webhook addresses")
    def webhook_addresses(self, connection):
        native, generic = crm_webhook_urls(connection)
        lines = []
        if native:
            lines.append(format_html("ActiveCampaign (Tag added, Tag removed): <code>{}</code>", native))
        elif connection.kind == FLUENTCRM:
            lines.append("FluentCRM: tag changes come through the companion plugin (or `membersync crm pull`)")
        lines.append(format_html("Signed JSON (X-MemberSync-Signature): <code>{}</code>", generic))
        return format_html("<br>".join(["{}"] * len(lines)), *lines)

    def save_model(self, request, obj, form, change):
        if change:
            return  # nothing on a connected CRM's page is edited here (secrets: Connections)
        obj.pk = crm_connection_store(checked=form.checked).connection.pk
        messages.info(request, "Connected: the CRM accepted the credentials. Set up its webhooks as shown below.")

    def response_add(self, request, obj, post_url_continue=None):
        return redirect(reverse("admin:tags_crmconnection_change", args=[obj.pk]))
