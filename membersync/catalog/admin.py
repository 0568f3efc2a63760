"""Admin for the catalog: the list of every grant rule, read-only.

Courses, groups, plans, seat types, license types and the site's settings are edited in the admin registered by
membersync/operations/admin.py: each change there is an event with the operator as actor, and a change to what
a template grants re-reconciles its members, which needs the engine (a layer above the catalog).
"""

from django.contrib import admin

from membersync.admin_mixins import ReadOnlyAdminMixin

from .models import AccessRule


@admin.register(AccessRule)
class AccessRuleAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "template", "target_kind", "course", "group", "after", "on_date", "after_trial")
    list_filter = ("target_kind", "after_trial", "plan", "seat_type", "license_type")
    search_fields = ("plan__external_id", "course__external_id", "group__external_id", "course__title")
    list_select_related = ("plan", "seat_type", "license_type", "course", "group")

    @admin.display(description="template")
    def template(self, rule):
        owner = rule.plan or rule.seat_type or rule.license_type
        return f"{owner._meta.verbose_name} {owner}"
