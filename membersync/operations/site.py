"""MemberSync's admin site: its home answers "is everything in step?", every page shows what needs an operator
in red at the top, dates are shown and entered in the site's time zone, and the reports hang under /admin/reports/."""

from __future__ import annotations

from functools import wraps

from django.contrib import admin
from django.urls import path
from django.utils import timezone

from membersync import clock
from membersync.catalog.selectors import site_settings_get


class MemberSyncAdminSite(admin.AdminSite):
    site_header = "MemberSync"
    site_title = "MemberSync"
    index_title = "Is everything in step?"
    index_template = "admin/membersync/home.html"

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def in_site_timezone(request, *args, **kwargs):
            with timezone.override(site_settings_get().timezone):
                response = inner(request, *args, **kwargs)
                if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                    response.render()  # a TemplateResponse renders after the view: render it in the zone
                return response

        return in_site_timezone

    def each_context(self, request):
        from .selectors import alerts_get

        context = super().each_context(request)
        if request.user.is_active and request.user.is_staff:
            context["membersync_alerts"] = alerts_get(clock.now())
            context["site_timezone"] = site_settings_get().timezone
        return context

    def index(self, request, extra_context=None):
        from .selectors import site_status_get

        return super().index(request, {"status": site_status_get(clock.now()), **(extra_context or {})})

    def get_urls(self):
        from . import views

        own = [
            path("reports/", self.admin_view(views.reports), name="reports"),
            path("reports/course-access/", self.admin_view(views.course_access), name="report_course_access"),
            path("reports/expiries/", self.admin_view(views.expiries), name="report_expiries"),
            path("reports/plans/", self.admin_view(views.plan_status), name="report_plans"),
            path("reports/organization/", self.admin_view(views.organization), name="report_organization"),
        ]
        return own + super().get_urls()
