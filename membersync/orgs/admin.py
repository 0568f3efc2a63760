"""Admin pages for organizations, seats, invitations and licenses: searchable and filterable lists.

Changes go through orgs.services, so each is one event by the operator in the ledger; the raw rows are read-only
here. An organization is created from its add page; its page has the forms that change it: the owner, people and
their roles, seats added or removed, licenses issued (one or many) and assigned, a person invited by email.
"""

from dataclasses import dataclass
from functools import partial

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from membersync.actors import Actor
from membersync.admin_mixins import DateHierarchyBoundsMixin, ReadOnlyAdminMixin
from membersync.catalog.models import LicenseType, SeatType
from membersync.errors import ServiceError

from . import services
from .models import (
    ROLES,
    Invitation,
    License,
    LicenseAssignment,
    Organization,
    OrgRole,
    Seat,
    SeatHolding,
    SeatPool,
)


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


# --- the forms on an organization's page, each calling one service ----------------------------------------------

MEMBER_HELP = "the person's member id (created if new)"


class OrgCreateForm(forms.Form):
    org_id = forms.CharField(label="organization id", max_length=64, help_text="a short id of yours, fixed once saved")
    name = forms.CharField(max_length=200, required=False, help_text="what people read; empty: the id")
    owner = forms.CharField(help_text="the owner's member id (created if new): they manage it in the portal")


class OwnerForm(forms.Form):
    to_member = forms.CharField(label="new owner", help_text=MEMBER_HELP + "; the owners before stay on as managers")


class PersonForm(forms.Form):
    member = forms.CharField(help_text=MEMBER_HELP)
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES if r != "owner"], initial="member")


class PersonRemoveForm(forms.Form):
    member = forms.CharField(help_text="their seats are freed and the organization's licenses they had go back")


class SeatsForm(forms.Form):
    seat_type = forms.ModelChoiceField(SeatType.objects.order_by("name"), to_field_name="external_id")
    quantity = forms.IntegerField(min_value=1, initial=1)


class SeatsAddForm(SeatsForm):
    subscription = forms.CharField(
        required=False, help_text="a subscription id: the seats then follow its status; empty: bought outright"
    )


class SeatAssignForm(forms.Form):
    member = forms.CharField(help_text="a person in the organization: they take a free seat")
    seat_type = forms.ModelChoiceField(SeatType.objects.order_by("name"), to_field_name="external_id")


class LicenseIssueForm(forms.Form):
    license_type = forms.ModelChoiceField(LicenseType.objects.order_by("name"), to_field_name="external_id")
    quantity = forms.IntegerField(min_value=1, initial=1, help_text="several get ids ending -1, -2, ...")
    to = forms.ChoiceField(
        choices=[
            ("available", "available: its owners and managers assign them"),
            ("org", "the whole organization: every seat holder gets its access"),
            ("member", "a person"),
        ],
        label="assigned to",
    )
    member = forms.CharField(required=False, help_text="for 'a person': " + MEMBER_HELP)
    license_id = forms.CharField(required=False, label="license id", help_text="empty: one is made up")


class LicenseAssignForm(forms.Form):
    license = forms.ModelChoiceField(License.objects.none(), to_field_name="external_id")
    member = forms.CharField(required=False, help_text="a person; empty: the whole organization")


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES if r != "owner"], initial="manager")
    first_name = forms.CharField(required=False, max_length=100)
    last_name = forms.CharField(required=False, max_length=100)
    hold_seat_type = forms.ModelChoiceField(
        SeatType.objects.order_by("name"),
        to_field_name="external_id",
        required=False,
        label="hold a seat",
        help_text="a free seat of this type is kept for them until they accept",
    )


@dataclass(frozen=True)
class OrgAction:
    title: str
    form: type[forms.Form]
    submit: str
    aliases: dict  # a service's field name -> the form's


ORG_ACTIONS = {
    "owner": OrgAction("Set the owner", OwnerForm, "Make them the owner", {}),
    "person": OrgAction("Add a person or change a role", PersonForm, "Save", {}),
    "person_remove": OrgAction("Remove a person", PersonRemoveForm, "Remove", {}),
    "seats_add": OrgAction("Add seats", SeatsAddForm, "Add seats", {}),
    "seats_remove": OrgAction("Remove free seats", SeatsForm, "Remove seats", {}),
    "seat_assign": OrgAction("Give a person a seat", SeatAssignForm, "Give the seat", {}),
    "licenses_issue": OrgAction(
        "Issue licenses", LicenseIssueForm, "Issue", {"type": "license_type", "to_org": "to", "id": "license_id"}
    ),
    "license_assign": OrgAction("Assign a license", LicenseAssignForm, "Assign", {"id": "license", "org": "member"}),
    "invite": OrgAction("Invite a person by email", InviteForm, "Send the invitation", {}),
}


def _org_write(action: str, org: Organization, data: dict, actor: Actor, request) -> str:
    """Call the action's service; returns what to tell the operator."""
    org_id = org.external_id
    if action == "owner":
        services.org_ownership_transfer(org_id=org_id, to_member_id=data["to_member"].strip(), actor=actor)
        return f"{data['to_member'].strip()} owns {org.name} now."
    if action == "person":
        services.org_member_set(org_id=org_id, member_id=data["member"].strip(), role=data["role"], actor=actor)
        return f"{data['member'].strip()} is a {data['role']} of {org.name}."
    if action == "person_remove":
        services.org_member_remove(org_id=org_id, member_id=data["member"].strip(), actor=actor)
        return f"{data['member'].strip()} was removed from {org.name}."
    if action in ("seats_add", "seats_remove"):
        kind, count = data["seat_type"].external_id, data["quantity"]
        if action == "seats_add":
            subscription = (data.get("subscription") or "").strip() or None
            services.seats_add(
                org_id=org_id, seat_type_id=kind, quantity=count, subscription_id=subscription, actor=actor
            )
            return f"Added {count} {data['seat_type'].name} seat(s)."
        services.seats_remove(org_id=org_id, seat_type_id=kind, quantity=count, actor=actor)
        return f"Removed {count} free {data['seat_type'].name} seat(s)."
    if action == "seat_assign":
        member = data["member"].strip()
        services.seat_assign(org_id=org_id, member_id=member, seat_type_id=data["seat_type"].external_id, actor=actor)
        return f"{member} holds a {data['seat_type'].name} seat."
    if action == "licenses_issue":
        member = (data.get("member") or "").strip()
        if data["to"] == "member" and not member:
            raise ServiceError("invalid_value", "name the person the licenses go to", field="member")
        issued = services.license_issue(
            license_id=(data.get("license_id") or "").strip() or None,
            type_id=data["license_type"].external_id,
            quantity=data["quantity"],
            to_member_id=member if data["to"] == "member" else None,
            to_org_id=org_id if data["to"] == "org" else None,
            owner_org_id=org_id if data["to"] == "available" else None,
            actor=actor,
        ).value
        return f"Issued {len(issued)} license(s): {', '.join(lic.external_id for lic in issued[:5])}" + (
            ", ..." if len(issued) > 5 else ""
        )
    if action == "license_assign":
        member = (data.get("member") or "").strip()
        services.license_assign(
            license_id=data["license"].external_id,
            member_id=member or None,
            org_id=None if member else org_id,
            actor=actor,
        )
        return f"License {data['license'].external_id} is assigned to {member or 'the whole organization'}."
    invitation = services.invitation_create(
        org_id=org_id,
        email=data["email"],
        role=data["role"],
        first_name=data["first_name"],
        last_name=data["last_name"],
        hold_seat_type_id=data["hold_seat_type"].external_id if data["hold_seat_type"] else None,
        actor=actor,
        source="admin",
    ).value
    from membersync.portal.services import invitations_send  # the portal's email and link; the admin only asks

    accept = partial(_accept_url, request)
    invitations_send(invitations=[invitation], accept_url=accept)
    return f"Invitation sent to {invitation.email} (as {invitation.role})."


def _accept_url(request, token: str) -> str:
    return request.build_absolute_uri(reverse("portal:invitation_accept", args=[token]))


def _place_error(form: forms.Form, error: ServiceError, aliases: dict) -> None:
    name = (error.field or "").rsplit(".", 1)[-1]
    name = aliases.get(name, name)
    form.add_error(name if name in form.fields else None, error.message)


@admin.register(Organization)
class OrganizationAdmin(ReadOnlyAdmin):
    list_display = ("name", "external_id", "people", "seats_total", "seats_used", "created_at")
    search_fields = ("name", "external_id", "roles__member__external_id", "roles__member__email")
    list_filter = ("created_at",)
    inlines = [OrgRoleInline, SeatPoolInline]
    change_form_template = "admin/orgs/organization/change_form.html"

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

    def has_add_permission(self, request):
        return request.user.has_perm("orgs.add_organization")

    def has_change_permission(self, request, obj=None):
        return False  # its page shows it; the forms under it change it, through the services

    def _may_act(self, request) -> bool:
        return request.user.has_perm("orgs.change_organization")

    def get_urls(self):
        view = self.admin_site.admin_view(self.action_view)
        own = [path("<path:object_id>/do/<slug:action>/", view, name="orgs_organization_action")]
        return own + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "org_actions": ORG_ACTIONS if self._may_act(request) else {}}
        return super().change_view(request, object_id, form_url, extra_context)

    def add_view(self, request, form_url="", extra_context=None):
        """Create the organization through orgs.services.org_create, with its owner."""
        if not self.has_add_permission(request):
            return redirect("admin:orgs_organization_changelist")
        form = OrgCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                org = services.org_create(
                    org_id=data["org_id"].strip(),
                    name=data["name"].strip(),
                    owner_id=data["owner"].strip(),
                    actor=_actor(request),
                ).value
            except ServiceError as error:
                _place_error(form, error, {"id": "org_id"})
            else:
                messages.success(request, f"Created organization {org.name}, owned by {data['owner'].strip()}.")
                return redirect("admin:orgs_organization_change", org.pk)
        return self._form_page(request, form, "Add organization", "Create", "The owner manages it in the portal.")

    def action_view(self, request, object_id: str, action: str):
        org = Organization.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if org is None or action not in ORG_ACTIONS or not self._may_act(request):
            messages.error(request, "No such organization or action.")
            return redirect("admin:orgs_organization_changelist")
        spec = ORG_ACTIONS[action]
        form = spec.form(request.POST or None)
        if "license" in form.fields:
            form.fields["license"].queryset = License.objects.filter(
                Q(organization=org) | Q(organization__isnull=True), revoked_at__isnull=True
            ).order_by("external_id")
        if request.method == "POST" and form.is_valid():
            try:
                done = _org_write(action, org, form.cleaned_data, _actor(request), request)
            except ServiceError as error:
                _place_error(form, error, spec.aliases)
            else:
                messages.success(request, done)
                return redirect("admin:orgs_organization_change", org.pk)
        return self._form_page(request, form, f"{spec.title}: {org.name}", spec.submit, "")

    def _form_page(self, request, form, title: str, submit: str, intro: str):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "form": form,
            "intro": intro or "Saved as one event by you; nothing changes if it is refused.",
            "submit_label": submit,
        }
        return TemplateResponse(request, "admin/membersync/service_form.html", context)


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
