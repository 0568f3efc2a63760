"""Admin for members and their sources.

Memberships, orders and subscriptions are sources of access: the admin never edits their rows. An operator
creates, pauses, resumes, cancels and deletes memberships, and refunds orders, through members.services, so
each change is stored as an event and the member is reconciled in the same transaction.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from membersync import clock, wiring
from membersync.access.statuses import DELAYED
from membersync.actors import Actor
from membersync.admin_mixins import DateHierarchyBoundsMixin, ReadOnlyAdminMixin
from membersync.catalog.models import Plan
from membersync.datebounds import BoundedDateTimeField, out_of_range
from membersync.errors import ServiceError
from membersync.people.admin import IdentityInline
from membersync.people.models import Member
from membersync.sync.selectors import member_explain
from membersync.sync.timeline import member_timeline

from . import services
from .admin_actions import membership_action_view, membership_rows
from .history import MEMBERSHIP_HISTORY
from .models import Membership, MembershipPause, Notification, Order, Subscription, SubscriptionChange


def admin_actor(request) -> Actor:
    return Actor.operator(request.user.get_username())


# --- the member's page: her explanation and a timeline of her access -------------------------------------------


def _preview_moment(request, now: datetime) -> tuple[datetime, bool]:
    text = request.GET.get("at", "").strip()
    if not text:
        return now, False
    try:
        day = date.fromisoformat(text)
    except ValueError:
        messages.error(request, f"at: {text!r} is not a date (YYYY-MM-DD); showing now")
        return now, False
    if problem := out_of_range(day):
        messages.error(request, f"at: {problem} Showing now.")
        return now, False
    return datetime.combine(day, time.min, tzinfo=UTC), True


class MembershipInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Membership
    fk_name = "member"
    fields = ("plan", "status", "status_rule", "start", "ended_at", "subscription", "order")
    readonly_fields = fields
    extra = 0
    show_change_link = True


class OrderInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Order
    fields = ("external_id", "plan", "license_type", "license_quantity", "status", "completed_at", "refunded_at")
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("external_id", "name", "email", "membership_count", "created_at")
    search_fields = ("external_id", "email", "name")
    list_filter = ("memberships__status", "memberships__plan")
    inlines = [MembershipInline, OrderInline, IdentityInline]
    change_form_template = "admin/members/member/change_form.html"  # her access explained, her memberships' actions
    autocomplete_fields = ("user",)

    def get_readonly_fields(self, request, obj=None):
        return ("external_id", "created_at") if obj else ("created_at",)

    def has_delete_permission(self, request, obj=None):
        return False  # her history (ledger, events) hangs on her

    @admin.display(description="memberships")
    def membership_count(self, member):
        return member.memberships.count()

    def get_queryset(self, request):
        return super().get_queryset(request).distinct()

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["email", "name", "user"])
            return
        created = services.member_get_or_create(external_id=obj.external_id, email=obj.email, name=obj.name)
        obj.pk = created.pk

    def change_view(self, request, object_id, form_url="", extra_context=None):
        member = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if member is not None:
            now = clock.now()
            moment, preview = _preview_moment(request, now)
            explanation = member_explain(member=member, at=moment, now=now, history=(MEMBERSHIP_HISTORY,))
            extra_context.update(
                explanation=explanation,
                explain_preview=preview,
                timeline=member_timeline(explanation),
                membership_rows=membership_rows(member),
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        action = self.admin_site.admin_view(partial(membership_action_view, self))
        own = [
            path(
                "<path:object_id>/memberships/<int:membership_pk>/<slug:action>/",
                action,
                name="people_member_membership_action",
            )
        ]
        return own + super().get_urls()


# --- memberships: every change through members.services -------------------------------------------------------


class MembershipCreateForm(forms.Form):
    member = forms.CharField(help_text="the member's id (created if new)")
    plan = forms.ModelChoiceField(queryset=Plan.objects.all(), to_field_name="external_id")
    status = forms.ChoiceField(choices=[(s, s) for s in services.ADMIN_CREATE_STATUSES])
    start = BoundedDateTimeField(required=False, help_text="empty: now; delayed needs a start in the future")
    external_id = forms.CharField(required=False, label="membership id")


class LinkedSubscriptionFilter(admin.SimpleListFilter):
    title = "linked subscription"
    parameter_name = "linked"

    def lookups(self, request, model_admin):
        return [("yes", "linked to a subscription"), ("no", "standalone")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(subscription__isnull=False)
        if self.value() == "no":
            return queryset.filter(subscription__isnull=True)
        return queryset


class MembershipPauseInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = MembershipPause
    fields = ("start", "end", "reason")
    readonly_fields = fields
    extra = 0


def _membership_ident(membership: Membership) -> dict:
    return {"membership_id": membership.external_id or str(membership.pk)}


def _run_on_memberships(modeladmin, request, queryset, service, verb: str) -> None:
    actor, done = admin_actor(request), 0
    for membership in queryset.select_related("member", "plan"):
        if not membership.external_id and Membership.objects.filter(external_id=str(membership.pk)).exists():
            messages.error(request, f"{membership}: its number is another membership's id; use that one's page")
            continue
        try:
            service(actor=actor, source="admin", **_membership_ident(membership))
            done += 1
        except ServiceError as error:
            messages.error(request, f"{membership}: {error.message}")
    if done:
        messages.success(request, f"{verb} {done} membership(s)")


@admin.action(description="Pause selected memberships")
def pause_memberships(modeladmin, request, queryset):
    _run_on_memberships(modeladmin, request, queryset, services.membership_pause, "Paused")


@admin.action(description="Resume selected memberships")
def resume_memberships(modeladmin, request, queryset):
    _run_on_memberships(modeladmin, request, queryset, services.membership_resume, "Resumed")


@admin.action(description="Cancel selected memberships")
def cancel_memberships(modeladmin, request, queryset):
    _run_on_memberships(modeladmin, request, queryset, services.membership_cancel, "Cancelled")


@admin.action(description="Delete selected memberships (their grants close; the ledger keeps them)")
def delete_memberships(modeladmin, request, queryset):
    _run_on_memberships(modeladmin, request, queryset, services.membership_delete, "Deleted")


class NotificationInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Notification
    fields = ("kind", "sent_at", "to_email", "subject")
    readonly_fields = fields
    extra = 0


@admin.register(Membership)
class MembershipAdmin(DateHierarchyBoundsMixin, admin.ModelAdmin):
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # store_url
    list_display = ("__str__", "member", "plan", "status", "start", "ended_at", "subscription", "status_at")
    list_filter = ("status", "plan", LinkedSubscriptionFilter, "base_status")
    search_fields = (
        "external_id",
        "member__external_id",
        "member__email",
        "member__name",
        "plan__external_id",
        "plan__name",
        "subscription__external_id",
    )
    list_select_related = ("member", "plan", "subscription")
    date_hierarchy = "start"
    inlines = [MembershipPauseInline, NotificationInline]
    actions = [pause_memberships, resume_memberships, cancel_memberships, delete_memberships]

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # delete through the action, which goes through members.services

    def add_view(self, request, form_url="", extra_context=None):
        """Create a membership through members.services.membership_create, never by saving a row."""
        if not self.has_add_permission(request):
            return redirect("admin:members_membership_changelist")
        form = MembershipCreateForm(request.POST or None, initial={"member": request.GET.get("member", "")})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if data["status"] == DELAYED and data["start"] is None:
                form.add_error("start", "a delayed membership needs a start in the future")
            else:
                try:
                    services.membership_create(
                        member_id=data["member"].strip(),
                        plan_id=data["plan"].external_id,
                        status=data["status"],
                        start=data["start"],
                        external_id=data["external_id"].strip() or None,
                        actor=admin_actor(request),
                        source="admin",
                    )
                except ServiceError as error:
                    field = (error.field or "").rsplit(".", 1)[-1]
                    form.add_error(field if field in form.fields else None, error.message)
                else:
                    messages.success(
                        request, f"Created a {data['status']} membership of {data['member']} in {data['plan']}"
                    )
                    return redirect(reverse("admin:people_member_changelist") + f"?q={data['member'].strip()}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Add membership",
            "form": form,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/members/membership/add_via_service.html", context)


@admin.action(description="Refund selected orders (cancels the membership they granted)")
def refund_orders(modeladmin, request, queryset):
    actor, done = admin_actor(request), 0
    for order in queryset:
        try:
            services.order_refund(order_id=order.external_id, actor=actor, source="admin")
            done += 1
        except ServiceError as error:
            messages.error(request, f"{order}: {error.message}")
    if done:
        messages.success(request, f"Refunded {done} order(s)")


class OrderCreateForm(forms.Form):
    order_id = forms.CharField(
        label="order id", max_length=64, help_text="your reference for the sale, e.g. its invoice"
    )
    member = forms.CharField(help_text="the buyer's member id (created if new)")
    plan = forms.ModelChoiceField(queryset=Plan.objects.order_by("name"), to_field_name="external_id")
    paid_at = BoundedDateTimeField(required=False, label="paid", help_text="empty: now; her access counts from then")


@admin.register(Order)
class OrderAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "external_id",
        "member",
        "plan",
        "license_type",
        "license_quantity",
        "status",
        "completed_at",
        "refunded_at",
    )
    list_filter = ("status", "plan", "license_type")
    search_fields = (
        "external_id",
        "member__external_id",
        "member__email",
        "member__name",
        "plan__external_id",
        "license_type__external_id",
    )
    list_select_related = ("member", "plan", "license_type")
    actions = [refund_orders]

    def get_inlines(self, request, obj):
        return [*super().get_inlines(request, obj), *wiring.order_admin_inlines()]

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("members.add_order")

    def add_view(self, request, form_url="", extra_context=None):
        """A sale made outside a store: members.services.order_complete grants its plan (an event by the operator)."""
        if not self.has_add_permission(request):
            return redirect("admin:members_order_changelist")
        form = OrderCreateForm(request.POST or None, initial={"member": request.GET.get("member", "")})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                services.order_complete(
                    order_id=data["order_id"].strip(),
                    member_id=data["member"].strip(),
                    plan_id=data["plan"].external_id,
                    paid_at=data["paid_at"],
                    actor=admin_actor(request),
                    source="admin",
                )
            except ServiceError as error:
                field = {"id": "order_id"}.get(
                    (error.field or "").rsplit(".", 1)[-1], (error.field or "").rsplit(".", 1)[-1]
                )
                form.add_error(field if field in form.fields else None, error.message)
            else:
                messages.success(
                    request,
                    f"Order {data['order_id'].strip()} completed: {data['member'].strip()} holds {data['plan']}.",
                )
                return redirect("admin:members_order_changelist")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Add order",
            "form": form,
            "intro": "A completed sale of a plan, made outside a connected store: the buyer gets a membership in the "
            "plan from when it was paid, and her access is reconciled at once. Refunding it cancels the membership.",
            "submit_label": "Complete the order",
        }
        return TemplateResponse(request, "admin/membersync/service_form.html", context)


class SubscriptionChangeInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = SubscriptionChange
    fields = ("at", "status", "trial_end", "next_payment", "end", "event")
    readonly_fields = fields
    extra = 0


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Subscriptions follow the store's webhooks; the admin only shows them."""

    list_display = ("external_id", "member", "status", "status_since", "start", "trial_end", "next_payment", "end")
    list_filter = ("status", "plans")
    search_fields = ("external_id", "member__external_id", "member__email", "member__name")
    list_select_related = ("member",)
    inlines = [SubscriptionChangeInline]


@admin.register(SubscriptionChange)
class SubscriptionChangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("subscription", "at", "status", "trial_end", "next_payment", "end")
    list_filter = ("status",)
    search_fields = ("subscription__external_id", "subscription__member__external_id")
    list_select_related = ("subscription",)


@admin.register(MembershipPause)
class MembershipPauseAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("membership", "start", "end", "reason")
    search_fields = ("membership__member__external_id", "membership__plan__external_id", "reason")
    list_select_related = ("membership__member", "membership__plan")


@admin.register(Notification)
class NotificationAdmin(DateHierarchyBoundsMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("membership", "kind", "to_email", "subject", "sent_at")
    list_filter = ("kind",)
    search_fields = ("to_email", "membership__member__external_id", "membership__member__name", "subject")
    list_select_related = ("membership__member", "membership__plan")
    date_hierarchy = "sent_at"
