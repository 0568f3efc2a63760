"""Manual access in the admin: an operator grants a member a course or LearnDash group (with an optional start,
end and note) and ends it, each through membersync.manual.services (an event; the member is reconciled)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse

from membersync.actors import Actor
from membersync.catalog.models import Course, Group
from membersync.errors import ServiceError

from . import services
from .models import ManualGrant


class ManualGrantForm(forms.Form):
    member = forms.CharField(help_text="the member's id")
    target_kind = forms.ChoiceField(choices=ManualGrant.KIND_CHOICES, label="grant a")
    course = forms.ModelChoiceField(Course.objects.all(), required=False, to_field_name="external_id")
    group = forms.ModelChoiceField(
        Group.objects.all(), required=False, to_field_name="external_id", label="LearnDash group"
    )
    starts_at = forms.DateTimeField(required=False, label="from", help_text="empty: now (in the site's time zone)")
    ends_at = forms.DateTimeField(required=False, label="until", help_text="empty: until an operator ends it")
    note = forms.CharField(required=False, max_length=400, help_text="why (shown in her access explanation)")


@admin.action(description="End selected manual grants now")
def end_grants(modeladmin, request, queryset):
    done = 0
    for grant in queryset:
        try:
            services.manual_grant_end(grant_id=grant.pk, actor=Actor.operator(request.user.get_username()))
            done += 1
        except ServiceError as error:
            messages.error(request, f"{grant}: {error.message}")
    if done:
        messages.success(request, f"Ended {done} manual grant{'s' if done != 1 else ''}.")


@admin.register(ManualGrant)
class ManualGrantAdmin(admin.ModelAdmin):
    list_display = ("member", "target_kind", "target_id", "starts_at", "ends_at", "ended_at", "note", "granted_by")
    list_filter = ("target_kind",)
    search_fields = ("member__external_id", "member__email", "member__name", "target_id", "note")
    list_select_related = ("member",)
    actions = [end_grants]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # ended, never deleted: the ledger keeps what it gave

    def add_view(self, request, form_url="", extra_context=None):
        form = ManualGrantForm(request.POST or None, initial={"member": request.GET.get("member", "")})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            kind = data["target_kind"]
            chosen = data["course"] if kind == "course" else data["group"]
            try:
                services.manual_grant_create(
                    member_id=data["member"].strip(),
                    target_kind=kind,
                    target_id=chosen.external_id if chosen else "",
                    starts_at=data["starts_at"],
                    ends_at=data["ends_at"],
                    note=data["note"],
                    actor=Actor.operator(request.user.get_username()),
                )
            except ServiceError as error:
                field = {"target_id": "course" if kind == "course" else "group"}.get(error.field, error.field)
                form.add_error(field if field in form.fields else None, error.message)
            else:
                messages.success(request, f"Granted {data['member']} {chosen} by hand.")
                return redirect(reverse("admin:people_member_changelist") + f"?q={data['member'].strip()}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Grant access by hand",
            "form": form,
            "intro": "The member can open the course or group from the start until the end (or until you end it "
            "here), whatever else she holds. Her access explanation shows it as a manual grant, with the note.",
            "submit_label": "Grant",
        }
        return TemplateResponse(request, "admin/membersync/service_form.html", context)
