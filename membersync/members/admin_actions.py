"""The member page's actions on each of her memberships: pause, resume and cancel at a click; extend, move to
another plan and transfer through a short form. Each calls members.services (one event by the operator, her access
reconciled in it); a refusal names its field and changes nothing. A membership that follows a subscription or that
a store owns (WooCommerce Memberships) shows why it is not changed here, with a link to where it is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from membersync import clock
from membersync.actors import Actor
from membersync.catalog.models import Plan
from membersync.datebounds import BoundedDateTimeField
from membersync.errors import ServiceError
from membersync.people.models import WOOCOMMERCE, Connection, Member

from . import services
from .models import Membership
from .selectors import membership_states

CLICKS = {
    "pause": (services.membership_pause, "Paused"),
    "resume": (services.membership_resume, "Resumed"),
    "cancel": (services.membership_cancel, "Cancelled"),
}


class ExtendForm(forms.Form):
    until = BoundedDateTimeField(
        label="new end", help_text="in the site's time zone; later than its current end (YYYY-MM-DD HH:MM)"
    )


class MoveForm(forms.Form):
    to_plan = forms.ModelChoiceField(
        Plan.objects.none(),
        to_field_name="external_id",
        label="new plan",
        help_text="her membership ends now and one in this plan starts now; a course both plans grant keeps her place",
    )


class TransferForm(forms.Form):
    to_member = forms.CharField(
        label="to member", help_text="the other member's id: she gets what is left of it, from now to the same end"
    )


FORMS = {
    "extend": (ExtendForm, "Extend", "Save the new end"),
    "move": (MoveForm, "Move to another plan", "Move"),
    "transfer": (TransferForm, "Transfer", "Transfer"),
}


@dataclass
class MembershipRow:
    membership: Membership
    status: str
    end: datetime | None
    locked: str = ""  # why it is not changed here
    where: str = ""  # the link to where it is changed
    actions: tuple[str, ...] = ()


def locked_because(membership: Membership) -> tuple[str, str]:
    """(why an operator cannot change it here, where it is changed), or ("", "") when she can."""
    if membership.managed_by:
        return f"store_managed: store {membership.managed_by} owns it (WooCommerce Memberships)", membership.store_url
    if membership.subscription_id is not None:
        sub = membership.subscription
        return f"subscription_tied: it follows subscription {sub.external_id}", _subscription_link(sub)
    return "", ""


def _subscription_link(sub) -> str:
    """The subscription's edit page in its store when its id names a connected store, else its page here."""
    namespace, _, store_id = sub.external_id.partition("/subscription/")
    if store_id.isdigit():
        store = Connection.objects.filter(name=namespace, kind=WOOCOMMERCE).exclude(url="").first()
        if store is not None:
            return f"{store.url.rstrip('/')}/wp-admin/post.php?post={store_id}&action=edit"
    return reverse("admin:members_subscription_change", args=[sub.pk])


def membership_rows(member: Member) -> list[MembershipRow]:
    """Her memberships, newest first, each with what an operator may do to it now."""
    states = membership_states(member, clock.now())
    rows = []
    memberships = member.memberships.select_related("plan", "subscription").order_by("-start", "-pk")
    for membership in memberships:
        _, state = states[membership.pk]
        row = MembershipRow(membership, state.status, state.window.end)
        row.locked, row.where = locked_because(membership)
        extend = ("extend",) if state.window.end is not None else ()
        if row.locked:
            pass
        elif state.ended:
            row.actions = extend if membership.ended_at is None else ()
        elif state.status == "paused":
            row.actions = ("resume", "cancel", *extend)
        else:
            row.actions = ("pause", "cancel", *extend, "move", "transfer")
        rows.append(row)
    return rows


def membership_action_view(modeladmin, request, object_id: str, membership_pk: int, action: str):
    member = modeladmin.get_object(request, object_id)
    page = reverse("admin:people_member_change", args=[object_id])
    membership = Membership.objects.filter(pk=membership_pk, member=member).first() if member else None
    if membership is None or not modeladmin.has_change_permission(request, member):
        messages.error(request, "No such membership of this member.")
        return redirect(page if member else "admin:people_member_changelist")
    actor = Actor.operator(request.user.get_username())
    ident = {"membership_id": membership.external_id or str(membership.pk)}
    if not membership.external_id and Membership.objects.filter(external_id=str(membership.pk)).exists():
        messages.error(request, f"{membership}: its number is another membership's id; act on it from its own page")
        return redirect(page)
    if action in CLICKS:
        service, done = CLICKS[action]
        if request.method == "POST":
            try:
                service(actor=actor, source="admin", **ident)
            except ServiceError as error:
                _refused(request, membership, error)
            else:
                messages.success(request, f"{done} the membership in plan {membership.plan.name}.")
        return redirect(page)
    if action not in FORMS:
        messages.error(request, f"{action!r} is not something the member page does to a membership")
        return redirect(page)
    form_class, title, submit = FORMS[action]
    form = form_class(request.POST or None)
    if action == "move":
        form.fields["to_plan"].queryset = Plan.objects.exclude(pk=membership.plan_id).order_by("name")
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if action == "extend":
                services.membership_extend(until=data["until"], actor=actor, **ident)
                done = f"Extended the membership in plan {membership.plan.name}."
            elif action == "move":
                services.membership_plan_change(to_plan_id=data["to_plan"].external_id, actor=actor, **ident)
                done = f"Moved the membership from plan {membership.plan.name} to plan {data['to_plan'].name}."
            else:
                services.membership_transfer(to_member_id=data["to_member"].strip(), actor=actor, **ident)
                done = f"Transferred the membership in plan {membership.plan.name} to {data['to_member'].strip()}."
        except ServiceError as error:
            if error.field in form.fields:
                form.add_error(error.field, error.message)
            elif error.code in ("subscription_tied", "store_managed"):
                _refused(request, membership, error)
                return redirect(page)
            else:
                form.add_error(None, f"{error.code}: {error.message}")
        else:
            messages.success(request, done)
            return redirect(page)
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": Member._meta,
        "title": f"{title}: {member} in plan {membership.plan.name}",
        "form": form,
        "intro": _intro(action, membership),
        "submit_label": submit,
    }
    return TemplateResponse(request, "admin/membersync/service_form.html", context)


def _intro(action: str, membership: Membership) -> str:
    if action == "extend":
        return (
            "The membership lasts until the new end instead of the end its plan gives it. One that ran out goes on "
            "where it stopped: the time it was over counts as a pause, so her drips are not restarted."
        )
    if action == "move":
        return (
            f"Like a subscription switch: the membership in plan {membership.plan.name} is cancelled now and one in "
            "the new plan starts now. Courses both plans grant stay open without a break (her place in them is "
            "kept); the new plan's other courses open on its own schedule from now."
        )
    return (
        "The membership ends now for its holder; the other member gets one in the same plan from now until the same "
        "end: what is left of it. Her drips count from now."
    )


def _refused(request, membership: Membership, error: ServiceError) -> None:
    """A refusal, with a link to where the membership is changed when it is not changed here."""
    _, where = locked_because(membership)
    if error.code in ("subscription_tied", "store_managed") and where:
        messages.error(
            request, format_html('{}: {} <a href="{}">Change it there</a>', error.code, error.message, where)
        )
    else:
        messages.error(request, f"{error.code}: {error.message}")
