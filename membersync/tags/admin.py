"""Admin for CRM tags: the CRM's tags, course and group tag settings (editable), tags applied as sources."""

from django.contrib import admin

from .models import MemberTag, Tag, TargetTagSettings


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "title")
    search_fields = ("name", "title")


@admin.register(TargetTagSettings)
class TargetTagSettingsAdmin(admin.ModelAdmin):
    list_display = (
        "target_kind",
        "target_id",
        "link_tag",
        "leader_tag",
        "unenroll_on_link_removed",
        "remove_tags_on_unenrollment",
    )
    list_filter = ("target_kind",)
    search_fields = ("target_id", "link_tag")


@admin.register(MemberTag)
class MemberTagAdmin(admin.ModelAdmin):
    """Tags applied to members as sources, with their origin; the CRM's mirrored tags are on the member's page."""

    list_display = ("member", "tag", "origin", "connection", "applied_at", "removed_at")
    list_filter = ("origin", "connection")
    search_fields = ("member__external_id", "member__email", "tag")
    raw_id_fields = ("member",)

    def has_change_permission(self, request, obj=None):
        return False  # applied and removed through the services (tag_operator_apply / tag_operator_remove)
