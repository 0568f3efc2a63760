"""Admin pages for organizations, seats, invitations and licenses: searchable and filterable lists.

Changes that affect access go through the services (as the actions below do), so they are events in the
ledger; the raw rows are read-only here.
"""

from django.contrib import admin, messages
from django.db.models import Count, Q

from membersync.actors import Actor
from membersync.admin_mixins import DateHierarchyBoundsMixin, ReadOnlyAdminMixin
from membersync.errors import ServiceError

from . import services
from .models import Invitation, License, LicenseAssignment, Organization, OrgRole, Seat, SeatHolding, SeatPool


def _actor(request) -> Actor:
    return Actor.operator(request.user.get_username())


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrgRoleInline(admin.TabularInline):
    model = OrgRole
    extra = 0
    fields = ("member", "role", "since")
    readonly_fields = fields
    raw_id_fields = ("member",)
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class SeatPoolInline(admin.TabularInline):
    model = SeatPool
    extra = 0
    fields = ("seat_type", "subscription", "created_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Organization)
class OrganizationAdmin(ReadOnlyAdmin):
    list_display = ("name", "external_id", "people", "seats_total", "seats_used", "created_at")
    search_fields = ("name", "external_id", "roles__member__external_id", "roles__member__email")
    list_filter = ("created_at",)
    inlines = [OrgRoleInline, SeatPoolInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                people_count=Count("roles", distinct=True),
                seat_count=Count("seats", distinct=True),
                used_count=Count("seats", filter=Q(seats__holder__isnull=False), distinct=True),
            )
        )

    @admin.display(ordering="people_count")
    def people(self, obj):
        return obj.people_count

    @admin.display(ordering="seat_count")
    def seats_total(self, obj):
        return obj.seat_count

    @admin.display(ordering="used_count")
    def seats_used(self, obj):
        return obj.used_count


@admin.register(OrgRole)
class OrgRoleAdmin(ReadOnlyAdmin):
    list_display = ("member", "organization", "role", "since")
    list_filter = ("role",)
    search_fields = (
        "member__external_id",
        "member__email",
        "member__name",
        "organization__name",
        "organization__external_id",
    )
    list_select_related = ("member", "organization")


@admin.register(SeatPool)
class SeatPoolAdmin(ReadOnlyAdmin):
    list_display = ("organization", "seat_type", "subscription", "created_at")
    list_filter = ("seat_type", "subscription__status")
    search_fields = ("organization__name", "organization__external_id", "subscription__external_id")
    list_select_related = ("organization", "seat_type", "subscription")


@admin.register(Seat)
class SeatAdmin(ReadOnlyAdmin):
    list_display = ("pk", "organization", "seat_type", "holder", "held_since", "invitation")
    list_filter = ("seat_type", ("holder", admin.EmptyFieldListFilter), ("invitation", admin.EmptyFieldListFilter))
    search_fields = (
        "organization__name",
        "organization__external_id",
        "holder__external_id",
        "holder__email",
        "invitation__email",
    )
    list_select_related = ("organization", "seat_type", "holder", "invitation")
    actions = ["release"]

    @admin.action(description="Release the selected seats (an event, in the ledger)")
    def release(self, request, queryset):
        done = 0
        for seat in queryset.filter(holder__isnull=False).select_related("organization", "holder", "seat_type"):
            try:
                services.seat_release(
                    org_id=seat.organization.external_id,
                    member_id=seat.holder.external_id,
                    seat_type_id=seat.seat_type.external_id,
                    actor=_actor(request),
                )
                done += 1
            except ServiceError as error:
                self.message_user(request, str(error), messages.ERROR)
        self.message_user(request, f"{done} seat(s) released")


@admin.register(SeatHolding)
class SeatHoldingAdmin(DateHierarchyBoundsMixin, ReadOnlyAdmin):
    list_display = ("member", "organization", "seat_type", "start", "end", "ended_by")
    list_filter = ("seat_type", ("end", admin.EmptyFieldListFilter))
    search_fields = ("member__external_id", "member__email", "organization__name", "organization__external_id")
    list_select_related = ("member", "organization", "seat_type")
    date_hierarchy = "start"


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ("email", "organization", "role", "status", "created_at", "expires_at", "accepted_at")
    list_filter = ("status", "role")
    search_fields = ("email", "first_name", "last_name", "organization__name", "organization__external_id")
    list_select_related = ("organization",)
    exclude = ("token_hash",)


class LicenseAssignmentInline(admin.TabularInline):
    model = LicenseAssignment
    extra = 0
    fields = ("member", "organization", "start", "end", "ended_by")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(License)
class LicenseAdmin(ReadOnlyAdmin):
    list_display = (
        "external_id",
        "license_type",
        "status",
        "assigned_to",
        "member",
        "organization",
        "assigned_at",
        "subscription",
        "order",
    )
    list_filter = ("status", "license_type", "assigned_to")
    search_fields = (
        "external_id",
        "member__external_id",
        "member__email",
        "organization__name",
        "organization__external_id",
        "subscription__external_id",
        "order__external_id",
    )
    list_select_related = ("license_type", "member", "organization", "subscription", "order")
    readonly_fields = ("status_rule", "status_at")
    inlines = [LicenseAssignmentInline]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected licenses (an event, in the ledger)")
    def revoke(self, request, queryset):
        done = 0
        for lic in queryset.filter(revoked_at__isnull=True):
            try:
                services.license_revoke(license_id=lic.external_id, actor=_actor(request))
                done += 1
            except ServiceError as error:
                self.message_user(request, str(error), messages.ERROR)
        self.message_user(request, f"{done} license(s) revoked")


@admin.register(LicenseAssignment)
class LicenseAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("license", "member", "organization", "start", "end")
    list_filter = (("end", admin.EmptyFieldListFilter),)
    search_fields = ("license__external_id", "member__external_id", "member__email", "organization__name")
    list_select_related = ("license", "member", "organization")


class OrderLicenseInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = License
    fk_name = "order"
    fields = ("external_id", "license_type", "status", "assigned_to", "member", "organization", "revoked_by")
    readonly_fields = fields
    extra = 0
    show_change_link = True
