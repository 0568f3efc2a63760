"""The admin's LearnDash sites: connect a site (its password checked), then one page per site with its health,
shadow mode (the would-send list, turned off there), the brake's held operations (confirmed or discarded), the
open courses a rule grants, and the adoption dry run with its adopt button."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from membersync import clock
from membersync.actors import Actor
from membersync.errors import ServiceError
from membersync.people.models import LEARNDASH

from .adoption import adoption_plan, learndash_adopt
from .catalog_import import open_courses_granted
from .connect import learndash_connect, learndash_shadow_set, learndash_site_check
from .models import LearnDashSite, SiteTarget
from .selectors import site_operations

SHOWN = 100


class LearnDashConnectForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https", help_text="the WordPress site's address")
    user = forms.CharField(help_text="a WordPress administrator's user name")
    app_password = forms.CharField(
        widget=forms.PasswordInput(render_value=False),
        help_text="Users → Profile → Application Passwords in WordPress",
        label="Application password",
    )

    class Meta:
        model = LearnDashSite
        fields = ("name",)

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            learndash_site_check(url=data["url"], user=data["user"], app_password=data["app_password"])
        except ServiceError as error:
            raise forms.ValidationError(error.message) from None
        return data

    def connect(self):
        data = self.cleaned_data
        return learndash_connect(
            name=data["name"], url=data["url"], user=data["user"], app_password=data["app_password"]
        )


def _actor(request) -> Actor:
    return Actor.operator(request.user.get_username())


@admin.register(LearnDashSite)
class LearnDashSiteAdmin(admin.ModelAdmin):
    list_display = ("name", "url", "mode", "health")
    fields = ("name", "url", "user", "app_password")

    def get_queryset(self, request):
        return super().get_queryset(request).filter(kind=LEARNDASH)

    def get_form(self, request, obj=None, **kwargs):
        return LearnDashConnectForm

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="mode")
    def mode(self, site):
        return "shadow (sends nothing)" if site.settings.get("shadow") else "live"

    @admin.display(description="health")
    def health(self, site):
        return site.last_error or "ok"

    def save_model(self, request, obj, form, change):
        obj.pk = form.connect().connection.pk
        messages.info(request, "Connected in shadow mode: import the site, review the adoption dry run, then go live.")

    def response_add(self, request, obj, post_url_continue=None):
        return redirect(reverse("admin:learndash_learndashsite_change", args=[obj.pk]))

    def get_urls(self):
        own = [
            path("<int:pk>/adoption/", self.admin_site.admin_view(self.adoption_view), name="learndash_adoption"),
            path("<int:pk>/adopt/", self.admin_site.admin_view(require_POST(self.adopt_view)), name="learndash_adopt"),
            path(
                "<int:pk>/shadow/", self.admin_site.admin_view(require_POST(self.shadow_view)), name="learndash_shadow"
            ),
            path("<int:pk>/held/", self.admin_site.admin_view(require_POST(self.held_view)), name="learndash_held"),
        ]
        return own + super().get_urls()

    def _site(self, request, pk: int, *, change: bool = False) -> LearnDashSite:
        site = get_object_or_404(self.get_queryset(request), pk=pk)
        allowed = self.has_change_permission(request, site) if change else self.has_view_permission(request, site)
        if not allowed:
            raise PermissionDenied
        return site

    def change_view(self, request, object_id, form_url="", extra_context=None):
        site = self._site(request, int(object_id))
        from .sinks import sink_name

        sink = sink_name(site)
        would_send, held = site_operations(sink=sink, limit=SHOWN)
        context = {
            **self.admin_site.each_context(request),
            "title": f"LearnDash site {site.name}",
            "site": site,
            "opts": self.model._meta,
            "sink": sink,
            "shadow": bool(site.settings.get("shadow")),
            "companion": bool(site.settings.get("has_companion")),
            "brake_students": site.settings.get("brake_students", 50),
            "brake_percent": site.settings.get("brake_percent", 5),
            "would_send": would_send,
            "held": held,
            "open_flags": open_courses_granted(connection=site),
            "targets": SiteTarget.objects.filter(connection=site).order_by("kind", "title"),
            "can_change": self.has_change_permission(request, site),
        }
        return TemplateResponse(request, "admin/learndash/site.html", context)

    def shadow_view(self, request, pk: int):
        site = self._site(request, pk, change=True)
        shadow = request.POST.get("shadow") == "on"
        learndash_shadow_set(connection=site, shadow=shadow, actor=_actor(request))
        said = "Shadow mode is on: nothing is sent." if shadow else "Live: the worker now sends each member's latest."
        messages.info(request, said)
        return redirect(reverse("admin:learndash_learndashsite_change", args=[pk]))

    def held_view(self, request, pk: int):
        from membersync.sync.brake import operations_discard_held, operations_release_held

        from .sinks import sink_name

        site = self._site(request, pk, change=True)
        ids = [int(i) for i in request.POST.getlist("operation") if i.isdigit()] or None
        action = request.POST.get("action")
        if action == "confirm":
            count = operations_release_held(
                sink=sink_name(site), actor=_actor(request), now=clock.now(), operation_ids=ids
            )
            messages.info(request, f"Confirmed {count} held operations: the worker sends them.")
        elif action == "discard":
            count = operations_discard_held(
                sink=sink_name(site), actor=_actor(request), now=clock.now(), operation_ids=ids
            )
            messages.info(request, f"Discarded {count} held operations: nothing was sent for them.")
        else:
            messages.error(request, "Choose confirm or discard.")
        return redirect(reverse("admin:learndash_learndashsite_change", args=[pk]))

    def adoption_view(self, request, pk: int):
        site = self._site(request, pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Adoption dry run: {site.name}",
            "site": site,
            "opts": self.model._meta,
            "plan": adoption_plan(connection=site),
            "can_change": self.has_change_permission(request, site),
        }
        return TemplateResponse(request, "admin/learndash/adoption.html", context)

    def adopt_view(self, request, pk: int):
        site = self._site(request, pk, change=True)
        remote_ids = [int(i) for i in request.POST.getlist("target") if i.isdigit()]
        try:
            adopted = learndash_adopt(
                connection=site,
                actor=_actor(request),
                remote_ids=remote_ids,
                all_extra=request.POST.get("all_extra") == "on",
                source="admin",
            )
        except ServiceError as error:
            messages.error(request, error.message)
        else:
            messages.info(request, f"Adopted {adopted.recorded} enrollments as lms sources ({adopted.already} before).")
        return redirect(reverse("admin:learndash_adoption", args=[pk]))
