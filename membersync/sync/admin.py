"""Admin for the sync records. All read-only: events, the ledger, grant records and enrollments are written by
the reconciler and the worker alone (the ledger is append-only). The outbox has one operator action, "retry now",
which goes through sync.outbox."""

from django.contrib import admin, messages
from django.utils.html import format_html_join

from membersync import clock
from membersync.admin_mixins import DateHierarchyBoundsMixin, ReadOnlyAdminMixin

from .models import Enrollment, Event, GrantRecord, LedgerEntry, MemberAccess, Operation
from .outbox import operations_retry_now

MEMBER_SEARCH = ("member__external_id", "member__email", "member__name")


@admin.register(Event)
class EventAdmin(DateHierarchyBoundsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("pk", "kind", "outcome", "source", "actor", "occurred_at", "error")
    list_filter = ("kind", "outcome", "source")
    search_fields = ("idempotency_key", "kind", "actor", "error")
    date_hierarchy = "occurred_at"
    ordering = ("-occurred_at", "-pk")


@admin.register(LedgerEntry)
class LedgerEntryAdmin(DateHierarchyBoundsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "at",
        "member",
        "action",
        "target_kind",
        "target_id",
        "source_kind",
        "source_id",
        "reason",
        "cause",
        "actor",
    )
    list_filter = ("action", "source_kind", "target_kind")
    search_fields = (*MEMBER_SEARCH, "target_id", "source_id", "actor", "cause")
    list_select_related = ("member",)
    date_hierarchy = "at"
    ordering = ("-at", "-pk")


@admin.register(GrantRecord)
class GrantRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("member", "target_kind", "target_id", "state", "source_kind", "source_id", "opens_at", "closes_at")
    list_filter = ("state", "source_kind", "target_kind")
    search_fields = (*MEMBER_SEARCH, "target_id", "source_id", "key")
    list_select_related = ("member",)


@admin.register(Enrollment)
class EnrollmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """The built-in LMS table. It mirrors derived access: to change it, change a source (or run a resync)."""

    list_display = ("member", "target_kind", "target_id", "status", "access_from", "suspended_since", "updated_at")
    list_filter = ("status", "target_kind")
    search_fields = (*MEMBER_SEARCH, "target_id")
    list_select_related = ("member",)


@admin.register(MemberAccess)
class MemberAccessAdmin(DateHierarchyBoundsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("member", "computed_at", "next_change_at")
    search_fields = MEMBER_SEARCH
    list_select_related = ("member",)
    date_hierarchy = "next_change_at"


class LeasedFilter(admin.SimpleListFilter):
    title = "lease"
    parameter_name = "leased"

    def lookups(self, request, model_admin):
        return [("yes", "leased by a worker now"), ("no", "not leased")]

    def queryset(self, request, queryset):
        now = clock.now()
        if self.value() == "yes":
            return queryset.filter(leased_until__gt=now)
        if self.value() == "no":
            return queryset.exclude(leased_until__gt=now)
        return queryset


@admin.action(description="Retry now")
def retry_now(modeladmin, request, queryset):
    requeued, done = operations_retry_now(
        operation_ids=queryset.values_list("pk", flat=True),
        now=clock.now(),
        worker=f"admin:{request.user.get_username()}",
    )
    if not requeued:
        messages.warning(request, "Nothing to retry: the selected operations are already done")
        return
    messages.success(request, f"{requeued} operation(s) made due now; this pass carried out {done}")


@admin.register(Operation)
class OperationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "pk",
        "member",
        "sink",
        "status",
        "change_summary",
        "attempts",
        "next_attempt_at",
        "leased_by",
        "last_error",
        "created_at",
        "done_at",
    )
    list_filter = ("status", "sink", LeasedFilter)
    search_fields = (*MEMBER_SEARCH, "idempotency_key", "last_error")
    list_select_related = ("member",)
    actions = [retry_now]
    ordering = ("-pk",)

    @admin.display(description="changes")
    def change_summary(self, operation):
        return format_html_join(
            ", ", "{} {} {}", ((c["action"], c["target_kind"], c["target_id"]) for c in operation.changes)
        )
