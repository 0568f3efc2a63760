from django.contrib import admin

from .keys import apikey_revoke
from .models import ApiKey, ResyncJob


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made with `membersync apikey create` (the token is shown once); here they are seen and revoked."""

    list_display = ("name", "prefix", "scope", "organization", "last_used_at", "revoked_at")
    list_filter = ("scope",)
    readonly_fields = ("name", "prefix", "scope", "organization", "rate_per_minute", "created_at", "last_used_at")
    exclude = ("digest",)
    actions = ["revoke"]

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            apikey_revoke(name=key.name)
        self.message_user(request, f"{queryset.count()} key(s) revoked")

    def has_add_permission(self, request):
        return False


@admin.register(ResyncJob)
class ResyncJobAdmin(admin.ModelAdmin):
    list_display = ("pk", "status", "quick", "done", "total", "members_changed", "created_at", "finished_at")
    readonly_fields = [f.name for f in ResyncJob._meta.fields]

    def has_add_permission(self, request):
        return False
