"""The catalog in the admin: courses, LearnDash groups, plans, seat types and license types, and the site's
settings. Every save and delete goes through operations.services.catalog (one event, the operator as actor); a
refusal is shown on the field it names and changes nothing. A plan's (seat type's, license type's) page edits its
grant rules inline; saving a change first shows whose access it changes (operations.template_changes)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse

from membersync.actors import Actor
from membersync.catalog.forms import LicenseTypeForm, PlanForm, RuleForm, RuleFormSet, TemplateForm, template_initial
from membersync.catalog.models import Course, Group, LicenseType, Plan, SeatType, SiteSettings
from membersync.catalog.selectors import length_of
from membersync.errors import ServiceError

from .models import PlanChangeJob
from .services import catalog as services


def _actor(request) -> Actor:
    return Actor.operator(request.user.get_username())


class CatalogDeleteMixin:
    """Delete through the service: refused with what uses the record."""

    kind = ""

    def delete_view(self, request, object_id, extra_context=None):
        record = self.get_object(request, object_id)
        if record is None or not self.has_delete_permission(request, record):
            return redirect(f"admin:catalog_{self.model._meta.model_name}_changelist")
        if request.method == "POST":
            try:
                services.catalog_record_remove(kind=self.kind, external_id=record.external_id, actor=_actor(request))
            except ServiceError as error:
                messages.error(request, error.message)
                return redirect(f"admin:catalog_{self.model._meta.model_name}_change", object_id)
            messages.success(request, f"Deleted {record}.")
            return redirect(f"admin:catalog_{self.model._meta.model_name}_changelist")
        return super().delete_view(request, object_id, extra_context)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, through the service
        return actions


def _form_error(form, error: ServiceError, fields: set[str]) -> None:
    name = (error.field or "").rsplit(".", 1)[-1]
    form.add_error(name if name in fields else None, error.message)


@admin.register(Course)
class CourseAdmin(CatalogDeleteMixin, admin.ModelAdmin):
    kind = "course"
    list_display = ("title", "external_id", "group_list")
    search_fields = ("external_id", "title")

    def get_readonly_fields(self, request, obj=None):
        return ("external_id",) if obj else ()

    @admin.display(description="LearnDash groups")
    def group_list(self, course):
        return ", ".join(g.title for g in course.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def save_model(self, request, obj, form, change):
        if change:
            result = services.course_change(external_id=obj.external_id, title=obj.title, actor=_actor(request))
        else:
            result = services.course_add(external_id=obj.external_id, title=obj.title, actor=_actor(request))
        obj.pk = result.value.pk

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return _refusals_on_form(super().changeform_view, self, request, object_id, form_url, extra_context)


@admin.register(Group)
class GroupAdmin(CatalogDeleteMixin, admin.ModelAdmin):
    kind = "group"
    list_display = ("title", "external_id", "course_list")
    search_fields = ("external_id", "title", "courses__external_id", "courses__title")
    filter_horizontal = ("courses",)

    def get_readonly_fields(self, request, obj=None):
        return ("external_id",) if obj else ()

    @admin.display(description="courses")
    def course_list(self, group):
        return ", ".join(c.title for c in group.courses.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("courses")

    def save_model(self, request, obj, form, change):
        courses = [c.external_id for c in form.cleaned_data.get("courses", [])]
        write = services.group_change if change else services.group_add
        result = write(external_id=obj.external_id, title=obj.title, course_ids=courses, actor=_actor(request))
        obj.pk = result.value.pk

    def save_related(self, request, form, formsets, change):
        pass  # the service set the courses

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return _refusals_on_form(super().changeform_view, self, request, object_id, form_url, extra_context)


def _names_a_target(row) -> bool:
    """An added row counts once it names a course or group: a browser sends every row's selects with their first
    choice, so an untouched empty row differs from its (empty) initial data."""
    data = getattr(row, "cleaned_data", None) or {}
    return bool(data.get("course") or data.get("group"))


def _refusals_on_form(view, modeladmin, request, object_id, form_url, extra_context):
    """A ServiceError from save_model becomes a message on the same page, and nothing is saved."""
    try:
        return view(request, object_id, form_url, extra_context)
    except ServiceError as error:
        modeladmin.message_user(request, f"Not saved: {error.message} ({error.field})", messages.ERROR)
        return redirect(request.get_full_path())


# --- templates: plans, seat types, license types, with their grant rules -----------------------------------------


class TemplateAdmin(CatalogDeleteMixin, admin.ModelAdmin):
    """The add and change pages are one form of the template and its grant rules, saved through the services."""

    form_class = TemplateForm
    search_fields = ("external_id", "name")

    def rule_count(self, template):
        return template.rules.count()

    rule_count.short_description = "grant rules"

    def add_view(self, request, form_url="", extra_context=None):
        return self._edit(request, None)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        template = self.get_object(request, object_id)
        if template is None:
            return redirect(f"admin:catalog_{self.model._meta.model_name}_changelist")
        return self._edit(request, template)

    def _fields(self, form) -> dict:
        data = form.cleaned_data
        fields = {"name": data["name"]}
        if hasattr(form, "length"):
            fields["length"] = form.length()
        if isinstance(form, PlanForm):
            fields["on_hold_grace"] = data.get("on_hold_grace") or None
            fields["product_ids"] = [p.strip() for p in (data.get("product_ids") or "").split(",") if p.strip()]
        return fields

    def _edit(self, request, template):
        opts = self.model._meta
        can_change = self.has_change_permission(request, template) if template else self.has_add_permission(request)
        initial = template_initial(template) if template else {}
        rules = (
            [RuleForm.initial_of(r) for r in template.rules.select_related("course", "group").order_by("pk")]
            if template
            else []
        )
        form = self.form_class(request.POST or None, initial=initial)
        if template:
            form.fields["external_id"].disabled = True
        formset = RuleFormSet(request.POST or None, initial=rules, prefix="rules")
        preview = None
        if request.method == "POST" and can_change and form.is_valid() and formset.is_valid():
            rows = [f for f in formset.forms if (f.initial or _names_a_target(f)) and f.spec() is not None]
            grants = [f.spec() for f in rows]
            fields = self._fields(form)
            actor = _actor(request)
            try:
                if template is None:
                    self._add(form.cleaned_data["external_id"], grants, fields, actor)
                    messages.success(request, f"Created {opts.verbose_name} {fields['name']}.")
                    return redirect(f"admin:catalog_{opts.model_name}_changelist")
                if "_save" not in request.POST:
                    preview = services.template_change_check(
                        kind=self.kind, external_id=template.external_id, actor=actor, grants=grants, **fields
                    )
                else:
                    result = services.template_change(
                        kind=self.kind,
                        external_id=template.external_id,
                        actor=actor,
                        confirm_removals=request.POST.get("confirm_removals") == "on",
                        grants=grants,
                        **fields,
                    )
                    messages.success(
                        request,
                        f"Saved {opts.verbose_name} {fields['name']}: {result.value.summary()}. "
                        + (
                            "The worker re-reconciles them now (progress on the admin home)."
                            if result.value.changes
                            else ""
                        ),
                    )
                    return redirect(f"admin:catalog_{opts.model_name}_changelist")
            except ServiceError as error:
                self._place_error(form, rows, error)
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "title": f"Change {opts.verbose_name} {template}" if template else f"Add {opts.verbose_name}",
            "form": form,
            "formset": formset,
            "template_record": template,
            "preview": preview,
            "can_change": can_change,
            "jobs": PlanChangeJob.objects.filter(template=f"{opts.verbose_name} {template}")[:5] if template else [],
        }
        return TemplateResponse(request, "admin/membersync/template_edit.html", context)

    def _place_error(self, form, rows: list, error: ServiceError) -> None:
        field = error.field or ""
        if field.startswith("grants["):
            index = int(field[len("grants[") : field.index("]")])
            name = field.rsplit(".", 1)[-1] if "." in field else None
            name = {"on": "on_date", "group_leader": "group"}.get(name, name)
            if index < len(rows):
                rows[index].add_error(name if name in rows[index].fields else None, error.message)
                return
        name = field.rsplit(".", 1)[-1]
        name = {"length": "length_kind"}.get(name, name)
        form.add_error(name if name in form.fields else None, error.message)


@admin.register(Plan)
class PlanAdmin(TemplateAdmin):
    kind = "plan"
    form_class = PlanForm
    list_display = ("name", "external_id", "length", "on_hold_grace", "rule_count", "members")
    list_filter = ("length_kind",)

    @admin.display(description="access length")
    def length(self, plan):
        return length_of(plan).describe()

    @admin.display(description="active members")
    def members(self, plan):
        return plan.memberships.filter(status__in=("active", "complimentary", "free_trial", "pending_cancel")).count()

    def _add(self, external_id, grants, fields, actor):
        services.plan_add(external_id=external_id, grants=grants, actor=actor, **fields)


@admin.register(SeatType)
class SeatTypeAdmin(TemplateAdmin):
    kind = "seat_type"
    list_display = ("name", "external_id", "rule_count")

    def _add(self, external_id, grants, fields, actor):
        services.seat_type_add(external_id=external_id, grants=grants, actor=actor, **fields)


@admin.register(LicenseType)
class LicenseTypeAdmin(TemplateAdmin):
    kind = "license_type"
    form_class = LicenseTypeForm
    list_display = ("name", "external_id", "length", "rule_count")

    @admin.display(description="access length")
    def length(self, license_type):
        return length_of(license_type).describe()

    def _add(self, external_id, grants, fields, actor):
        services.license_type_add(external_id=external_id, grants=grants, actor=actor, **fields)


@admin.register(SiteSettings)
class SiteSettingsAdmin(admin.ModelAdmin):
    fields = ("timezone", "plan_change_confirm_above")

    list_display = ("__str__", "timezone", "plan_change_confirm_above")

    def has_add_permission(self, request):
        return not SiteSettings.objects.exists()  # one row: added once, then changed

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        saved = services.site_settings_change(
            timezone=obj.timezone, plan_change_confirm_above=obj.plan_change_confirm_above, actor=_actor(request)
        )
        obj.pk = saved.value.pk

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return _refusals_on_form(super().changeform_view, self, request, object_id, form_url, extra_context)


@admin.register(PlanChangeJob)
class PlanChangeJobAdmin(admin.ModelAdmin):
    list_display = ("created_at", "template", "summary", "done", "total", "status", "requested_by", "finished_at")
    list_filter = ("status",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
