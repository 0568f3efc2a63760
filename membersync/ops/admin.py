"""The admin's side of operations: a member's data exported or erased, the alerts sent, the workers seen."""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.http import HttpResponse
from django.template.response import TemplateResponse

from membersync import clock
from membersync.actors import Actor
from membersync.admin_mixins import ReadOnlyAdminMixin
from membersync.errors import ServiceError

from .models import Alert, MemberPrivacy, WorkerHeartbeat
from .privacy import member_data_export, member_erase


@admin.register(MemberPrivacy)
class MemberPrivacyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("external_id", "name", "email", "created_at")
    search_fields = ("external_id", "email", "name")
    actions = ("export_data", "erase_data")

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    @admin.action(description="Export the selected member's data (JSON)")
    def export_data(self, request, queryset):
        members = list(queryset[:2])
        if len(members) != 1:
            self.message_user(request, "Choose one member to export: one file per person.", messages.ERROR)
            return None
        member = members[0]
        data = member_data_export(member_id=member.external_id, now=clock.now())
        response = HttpResponse(json.dumps(data, indent=2, ensure_ascii=False), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="member-{member.pk}.json"'
        return response

    @admin.action(description="Erase the selected members' personal data…")
    def erase_data(self, request, queryset):
        members = list(queryset.order_by("pk"))
        if request.POST.get("confirm") != "erase":
            context = {
                **self.admin_site.each_context(request),
                "title": "Erase personal data",
                "members": members,
                "opts": self.model._meta,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "admin/ops/erase_confirm.html", context)
        actor = Actor.operator(request.user.get_username())
        for member in members:
            who = member.external_id
            try:
                result = member_erase(member_id=who, actor=actor, now=clock.now())
            except ServiceError as error:
                self.message_user(request, f"{who} was not erased: {error.message}.", messages.ERROR)
            else:
                self.message_user(request, f"{who} is erased: now {result.pseudonym}.", messages.SUCCESS)
        return None


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("subject", "opened_at", "last_seen_at", "resolved_at", "emailed_to")
    list_filter = ("resolved_at",)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("worker", "started_at", "seen_at", "passes")
