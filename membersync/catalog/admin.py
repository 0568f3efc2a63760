"""Admin for the catalog.

Courses and groups can be created here (through catalog.services) and renamed. What a template grants is
read-only: changing a plan's rules or a group's courses would change many members' access without
reconciling them, so those changes go through services and a resync.
"""

from django.contrib import admin

from membersync.admin_mixins import ReadOnlyAdminMixin

from . import services
from .models import AccessRule, Course, Group, LicenseType, Plan, SeatType


class AccessRuleInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = AccessRule
    fields = ("target_kind", "course", "group", "after", "on_date", "after_trial")
    readonly_fields = fields
    extra = 0
    show_change_link = False


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = ("external_id", "title", "group_list")
    search_fields = ("external_id", "title")
    ordering = ("title",)

    def get_readonly_fields(self, request, obj=None):
        return ("external_id",) if obj else ()

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="groups")
    def group_list(self, course):
        return ", ".join(g.external_id for g in course.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["title"])
            return
        created = services.course_create(external_id=obj.external_id, title=obj.title)
        obj.pk = created.pk


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ("external_id", "title", "course_list")
    search_fields = ("external_id", "title", "courses__external_id", "courses__title")
    list_filter = ("courses",)
    filter_horizontal = ("courses",)

    def get_readonly_fields(self, request, obj=None):
        # A group's courses decide members' access: they are set once, through catalog.services.
        return ("external_id", "courses") if obj else ()

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="courses")
    def course_list(self, group):
        return ", ".join(c.external_id for c in group.courses.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("courses")

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["title"])
            return
        courses = [c.external_id for c in form.cleaned_data.get("courses", [])]
        created = services.group_create(external_id=obj.external_id, title=obj.title, course_ids=courses)
        obj.pk = created.pk

    def save_related(self, request, form, formsets, change):
        # group_create already set the courses.
        pass


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("external_id", "name", "length_kind", "length", "on_hold_grace", "rule_count")
    list_filter = ("length_kind",)
    search_fields = ("external_id", "name")
    inlines = [AccessRuleInline]

    @admin.display(description="length")
    def length(self, plan):
        from .selectors import length_of

        return length_of(plan).describe()

    @admin.display(description="grants")
    def rule_count(self, plan):
        return plan.rules.count()


@admin.register(SeatType)
class SeatTypeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("external_id", "name")
    search_fields = ("external_id", "name")
    inlines = [AccessRuleInline]


@admin.register(LicenseType)
class LicenseTypeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("external_id", "name", "length_kind", "length_duration", "fixed_start", "fixed_end")
    list_filter = ("length_kind",)
    search_fields = ("external_id", "name")
    inlines = [AccessRuleInline]


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
