from django.contrib import admin

from membersync.admin_mixins import ReadOnlyAdminMixin

from .models import LmsEnrollment


@admin.register(LmsEnrollment)
class LmsEnrollmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("member", "target_kind", "target_id", "origin", "connection", "started_at", "ended_at")
    list_filter = ("origin", "target_kind", "connection")
    search_fields = ("member__email", "member__external_id", "target_id")
