"""The portal's pages. Each view reads its input, calls one service or selector, and renders; the services
decide what is allowed (they see the logged-in person as the actor) and the views only turn their refusals into
messages beside the field they name."""

from __future__ import annotations

import io
from collections import Counter
from functools import wraps
from urllib.parse import urlsplit

from django import forms
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from membersync.actors import Actor
from membersync.errors import ServiceError
from membersync.orgs import selectors as org_selectors
from membersync.orgs import services as org_services
from membersync.orgs.models import OWNER
from membersync.orgs.permissions import can_manage

from . import selectors
from .charts import ACCESS_PARTS, SEAT_PARTS, Bar, bar_chart_svg
from .csv_people import TEMPLATE as PEOPLE_TEMPLATE
from .csv_people import people_csv_parse, people_csv_write, report_csv_write
from .forms import (
    ROLE_CHOICES,
    InviteForm,
    OwnershipTransferForm,
    PeopleImportForm,
    RoleChangeForm,
    SeatAssignForm,
    SeatMoveForm,
    SetPasswordForm,
)
from .services import INVITED, REFUSED, RowOutcome, invitation_resend, invitations_send, people_import
from .throttle import ThrottledAuthenticationForm

SOURCE = "portal"


class PortalAuthenticationForm(ThrottledAuthenticationForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "Email or username"


class PortalLoginView(LoginView):
    template_name = "portal/login.html"
    authentication_form = PortalAuthenticationForm
    redirect_authenticated_user = True

    def get_redirect_url(self):
        # A `next` back to this login page would loop (Django raises on it): go to the default page instead.
        url = super().get_redirect_url()
        return "" if url and urlsplit(url).path == self.request.path else url


def _member_of(user):
    try:
        return user.member
    except (ObjectDoesNotExist, AttributeError):
        return None


def org_manager_required(view):
    """Open the organization's pages to its owners and managers. Someone outside it gets a 404 (the page does
    not tell them the organization exists), a plain member of it a 403."""

    @login_required
    @wraps(view)
    def wrapper(request, org_id, *args, **kwargs):
        org = org_selectors.org_by_external_id(org_id)
        member = _member_of(request.user)
        role = org_selectors.org_role(org, member) if org is not None else None
        if org is None or role is None:
            raise Http404("No such organization")
        if not can_manage(role):
            raise PermissionDenied("Only the organization's owners and managers can open this page.")
        request.org, request.org_role, request.actor = org, role, Actor.member(member.external_id)
        return view(request, org, *args, **kwargs)

    return wrapper


def _attach_error(form: forms.Form, error: ServiceError, field_map: dict[str, str]) -> None:
    target = field_map.get(error.field or "")
    form.add_error(target if target in form.fields else None, error.message)


# ---- account ----


@login_required
def home(request):
    orgs = org_selectors.orgs_for_user(request.user)
    managed = [(org, role) for org, role in orgs if can_manage(role)]
    if len(managed) == 1 and len(orgs) == 1:
        return redirect("portal:org_dashboard", org_id=managed[0][0].external_id)
    return render(request, "portal/home.html", {"orgs": orgs, "can_manage": can_manage})


@never_cache
@require_GET
def invitation_accept(request, token):
    """The emailed link. It only shows the invitation: its form POSTs the token in the body to invitation_join, so
    the one URL with a token that access logs keep is this page's, and that token stops working once used."""
    return _invitation_page(request, selectors.invitation_by_token(token), token)


@never_cache
@require_POST
def invitation_join(request):
    token = request.POST.get("token", "")
    invitation = selectors.invitation_by_token(token)
    if selectors.invitation_problem(invitation):
        return _invitation_page(request, invitation, token)
    has_login = selectors.login_exists_for(invitation.email)
    form = SetPasswordForm(request.POST) if not has_login else None
    if has_login or form.is_valid():
        try:
            member = org_services.invitation_accept(
                token=token,
                password=form.cleaned_data["password1"] if form else "",
                source=SOURCE,
            ).value
        except ServiceError as error:
            if error.field == "password" and form is not None:
                form.add_error("password1", error.message)
            else:
                return render(request, "portal/invitation.html", {"problem": error.message.capitalize()}, status=410)
        else:
            joined = f"You joined {invitation.organization.name}."
            if has_login:
                messages.success(request, f"{joined} Log in with your usual password.")
                return redirect("portal:login")
            login(request, member.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"{joined} Your password is set; log in with {invitation.email} next time.")
            return redirect("portal:home")
    return _invitation_page(request, invitation, token, form)


def _invitation_page(request, invitation, token: str, form=None):
    """The invitation and its form, or why it cannot be used (unknown: 404; used, withdrawn or expired: 410)."""
    problem = selectors.invitation_problem(invitation)
    if problem:
        response = render(request, "portal/invitation.html", {"problem": problem}, status=410 if invitation else 404)
    else:
        has_login = selectors.login_exists_for(invitation.email)
        form = form if form is not None or has_login else SetPasswordForm()
        context = {"invitation": invitation, "form": form, "has_login": has_login, "token": token}
        status = 400 if form is not None and form.errors else 200
        response = render(request, "portal/invitation.html", context, status=status)
    # The page's URL carries the token: send only the origin on (no-referrer would make the form's POST Origin
    # "null", which the CSRF check refuses).
    response["Referrer-Policy"] = "strict-origin"
    return response


# ---- an organization ----


@org_manager_required
def org_dashboard(request, org):
    seat_use = org_selectors.org_dashboard(org)
    people = org_selectors.org_people(org)
    licenses = org_selectors.org_licenses(org)
    seat_bars = [
        Bar(
            use.name,
            (use.used, use.held, use.free),
            f"{use.used} used, {use.held} held, {use.free} free of {use.total}",
        )
        for use in seat_use
    ]
    access_bars = selectors.course_access_bars(org, people)
    seat_chart = bar_chart_svg(
        chart_id="seat-chart",
        title="Seat use per seat type",
        description="For each seat type: seats held by people, held for pending invitations, and free.",
        parts=SEAT_PARTS,
        bars=seat_bars,
    )
    access_chart = bar_chart_svg(
        chart_id="access-chart",
        title="Course access across the organization",
        description=f"For each course or group: how many of the {len(people.people)} people can open it.",
        parts=ACCESS_PARTS,
        bars=access_bars,
    )
    license_counts: dict[str, int] = {}
    for _, status in licenses:
        license_counts[status] = license_counts.get(status, 0) + 1
    context = {
        "org": org,
        "seat_use": seat_use,
        "seats_total": sum(u.total for u in seat_use),
        "seats_used": sum(u.used for u in seat_use),
        "seats_free": sum(u.free for u in seat_use),
        "people_count": len(people.people),
        "invitation_count": len(people.invitations),
        "license_counts": sorted(license_counts.items()),
        "seat_chart": seat_chart,
        "access_chart": access_chart,
    }
    return render(request, "portal/dashboard.html", context)


def _seat_type_choices(org) -> list[tuple[str, str]]:
    return [(use.seat_type_id, f"{use.name} ({use.free} free)") for use in org_selectors.org_dashboard(org)]


def _transfer_choices(people) -> list[tuple[str, str]]:
    return [(p.member.external_id, _person_label(p.member)) for p in people.people if p.role != OWNER]


PEOPLE_PER_PAGE = 50


def _people_page(request, org, invite_form=None, transfer_form=None, status=200):
    people = org_selectors.org_people(org)
    viewer_id = request.actor.member_id
    query = request.GET.get("q", "").strip()[:200]
    found = selectors.people_matching(people.people, query)
    page = Paginator(found, PEOPLE_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        (
            person,
            selectors.person_actions(
                viewer_id=viewer_id,
                viewer_role=request.org_role,
                person_id=person.member.external_id,
                person_role=person.role,
            ),
        )
        for person in page.object_list
    ]
    is_owner = request.org_role == OWNER
    context = {
        "org": org,
        "rows": rows,
        "viewer_id": viewer_id,
        "people": people.people,
        "found": found,
        "page": page,
        "query": query,
        "invitations": people.invitations,
        "access": selectors.people_access(org),
        "role_choices": ROLE_CHOICES,
        "invite_form": invite_form or InviteForm(seat_type_choices=_seat_type_choices(org)),
        "is_owner": is_owner,
        # Only an owner is offered the transfer; anyone else sees the form only to read why theirs was refused.
        "transfer_form": transfer_form
        or (OwnershipTransferForm(member_choices=_transfer_choices(people)) if is_owner else None),
    }
    return render(request, "portal/people.html", context, status=status)


@org_manager_required
def org_people(request, org):
    return _people_page(request, org)


@require_POST
@org_manager_required
def org_invite(request, org):
    form = InviteForm(request.POST, seat_type_choices=_seat_type_choices(org))
    if form.is_valid():
        data = form.cleaned_data
        try:
            invitation = org_services.invitation_create(
                org_id=org.external_id,
                email=data["email"],
                role=data["role"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                hold_seat_type_id=data["hold_seat_type"] or None,
                actor=request.actor,
                source=SOURCE,
            ).value
        except ServiceError as error:
            _attach_error(
                form,
                error,
                {"email": "email", "role": "role", "hold_seat_type": "hold_seat_type", "seat_type": "hold_seat_type"},
            )
        else:
            invitations_send(invitations=[invitation], accept_url=_accept_url(request))
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("portal:org_people", org_id=org.external_id)
    return _people_page(request, org, invite_form=form, status=400)


@require_POST
@org_manager_required
def org_person_remove(request, org):
    role = selectors.person_in_org(org, request.POST.get("member", ""))
    if role is None:
        raise Http404("No such person in this organization")
    who = _person_label(role.member)
    try:
        org_services.org_member_remove(
            org_id=org.external_id, member_id=role.member.external_id, actor=request.actor, source=SOURCE
        )
    except ServiceError as error:
        messages.error(request, f"{who} was not removed: {error.message}.")
    else:
        messages.success(request, f"{who} was removed from {org.name}; their seats are free again.")
    return redirect("portal:org_people", org_id=org.external_id)


@require_POST
@org_manager_required
def org_person_role(request, org):
    form = RoleChangeForm(request.POST)
    role = selectors.person_in_org(org, request.POST.get("member", ""))
    if role is None:
        raise Http404("No such person in this organization")
    who = _person_label(role.member)
    if not form.is_valid():
        messages.error(request, f"The role of {who} was not changed: choose member or manager.")
    elif form.cleaned_data["role"] == role.role:
        messages.info(request, f"{who} is already {role.role}.")
    else:
        try:
            org_services.org_member_set(
                org_id=org.external_id,
                member_id=role.member.external_id,
                role=form.cleaned_data["role"],
                actor=request.actor,
                source=SOURCE,
            )
        except ServiceError as error:
            messages.error(request, f"The role of {who} was not changed: {error.message}.")
        else:
            messages.success(request, f"{who} is now {form.cleaned_data['role']}.")
    return redirect("portal:org_people", org_id=org.external_id)


@require_POST
@org_manager_required
def org_invitation_cancel(request, org):
    invitation = selectors.pending_invitation_in_org(org, request.POST.get("invitation", ""))
    if invitation is None:
        raise Http404("No such pending invitation in this organization")
    try:
        org_services.invitation_cancel(invitation_id=invitation.pk, actor=request.actor, source=SOURCE)
    except ServiceError as error:
        messages.error(request, f"The invitation of {invitation.email} was not cancelled: {error.message}.")
    else:
        messages.success(request, f"The invitation of {invitation.email} is cancelled; a seat it held is free again.")
    return redirect("portal:org_people", org_id=org.external_id)


@require_POST
@org_manager_required
def org_invitation_resend(request, org):
    invitation = selectors.pending_invitation_in_org(org, request.POST.get("invitation", ""))
    if invitation is None:
        raise Http404("No such pending invitation in this organization")
    try:
        resent = invitation_resend(org=org, invitation_id=invitation.pk, actor=request.actor, source=SOURCE)
    except ServiceError as error:
        messages.error(request, f"The invitation of {invitation.email} was not sent again: {error.message}.")
    else:
        invitations_send(invitations=[resent], accept_url=_accept_url(request))
        messages.success(
            request,
            f"The invitation was sent again to {resent.email}, with a new link until {resent.expires_at:%d %B %Y}; "
            "the earlier link no longer works.",
        )
    return redirect("portal:org_people", org_id=org.external_id)


@require_POST
@org_manager_required
def org_ownership_transfer(request, org):
    people = org_selectors.org_people(org)
    form = OwnershipTransferForm(request.POST, member_choices=_transfer_choices(people))
    if form.is_valid():
        new_owner = form.cleaned_data["to_member"]
        try:
            org_services.org_ownership_transfer(
                org_id=org.external_id, to_member_id=new_owner, actor=request.actor, source=SOURCE
            )
        except ServiceError as error:
            _attach_error(form, error, {"to": "to_member", "member": "to_member", "actor": "to_member"})
        else:
            who = dict(form.fields["to_member"].choices)[new_owner]
            messages.success(request, f"{who} is now the owner of {org.name}; you stay on as a manager.")
            return redirect("portal:org_people", org_id=org.external_id)
    return _people_page(request, org, transfer_form=form, status=400)


def _accept_url(request):
    return lambda token: request.build_absolute_uri(reverse("portal:invitation_accept", args=[token]))


def _seat_forms(org, people, data=None, which=None):
    seat_choices = _seat_type_choices(org)
    everyone = [(p.member.external_id, _person_label(p.member)) for p in people.people]
    holders = [(p.member.external_id, _person_label(p.member)) for p in people.people if p.seat_types]
    return {
        "assign_form": SeatAssignForm(
            data if which == "assign" else None,
            member_choices=everyone,
            seat_type_choices=seat_choices,
            initial=_seat_assign_defaults(org, people),
        ),
        "move_form": SeatMoveForm(
            data if which == "move" else None,
            holder_choices=holders,
            member_choices=everyone,
            seat_type_choices=seat_choices,
            prefix="move",
        ),
    }


def _seat_assign_defaults(org, people) -> dict:
    """A free seat goes to someone without one: the first person holding no seat, and a seat type with free
    seats."""
    without = next((p.member.external_id for p in people.people if not p.seat_types), None)
    free = next((use.seat_type_id for use in org_selectors.org_dashboard(org) if use.free > 0), None)
    return {key: value for key, value in (("member", without), ("seat_type", free)) if value is not None}


def _person_label(member) -> str:
    if member.name and member.email:
        return f"{member.name} <{member.email}>"
    return member.name or member.email or member.external_id


def _seats_page(request, org, data=None, which=None, forms_override=None, status=200):
    people = org_selectors.org_people(org)
    seat_forms = forms_override or _seat_forms(org, people, data, which)
    holders = [(p, p.seat_types) for p in people.people if p.seat_types]
    seat_type_ids = {use.name: use.seat_type_id for use in org_selectors.org_dashboard(org)}
    context = {
        "org": org,
        "seat_use": org_selectors.org_dashboard(org),
        "holders": [(p, [(name, seat_type_ids.get(name, "")) for name in names]) for p, names in holders],
        "invitations": [i for i in people.invitations if getattr(i, "held_seat", None) is not None],
        **seat_forms,
    }
    return render(request, "portal/seats.html", context, status=status)


@org_manager_required
def org_seats(request, org):
    return _seats_page(request, org)


@require_POST
@org_manager_required
def org_seat_assign(request, org):
    people = org_selectors.org_people(org)
    seat_forms = _seat_forms(org, people, request.POST, "assign")
    form = seat_forms["assign_form"]
    if form.is_valid():
        try:
            org_services.seat_assign(
                org_id=org.external_id,
                member_id=form.cleaned_data["member"],
                seat_type_id=form.cleaned_data["seat_type"],
                actor=request.actor,
                source=SOURCE,
            )
        except ServiceError as error:
            _attach_error(form, error, {"member": "member", "seat_type": "seat_type"})
        else:
            who = dict(form.fields["member"].choices)[form.cleaned_data["member"]]
            messages.success(request, f"Seat assigned to {who}.")
            return redirect("portal:org_seats", org_id=org.external_id)
    return _seats_page(request, org, forms_override=seat_forms, status=400)


@require_POST
@org_manager_required
def org_seat_release(request, org):
    member_id, seat_type_id = request.POST.get("member", ""), request.POST.get("seat_type") or None
    try:
        org_services.seat_release(
            org_id=org.external_id, member_id=member_id, seat_type_id=seat_type_id, actor=request.actor, source=SOURCE
        )
    except ServiceError as error:
        messages.error(request, f"The seat was not released: {error.message}.")
    else:
        messages.success(request, "Seat released: it is free again.")
    return redirect("portal:org_seats", org_id=org.external_id)


@require_POST
@org_manager_required
def org_seat_move(request, org):
    people = org_selectors.org_people(org)
    seat_forms = _seat_forms(org, people, request.POST, "move")
    form = seat_forms["move_form"]
    if form.is_valid():
        try:
            org_services.seat_move(
                org_id=org.external_id,
                from_member_id=form.cleaned_data["from_member"],
                to_member_id=form.cleaned_data["to_member"],
                seat_type_id=form.cleaned_data["seat_type"],
                actor=request.actor,
                source=SOURCE,
            )
        except ServiceError as error:
            _attach_error(
                form, error, {"from": "from_member", "to": "to_member", "seat_type": "seat_type", "member": "to_member"}
            )
        else:
            messages.success(request, "Seat moved.")
            return redirect("portal:org_seats", org_id=org.external_id)
    return _seats_page(request, org, forms_override=seat_forms, status=400)


@org_manager_required
def org_licenses(request, org):
    people = org_selectors.org_people(org)
    licenses = org_selectors.org_licenses(org)
    context = {
        "org": org,
        "licenses": licenses,
        "people": [(p.member.external_id, _person_label(p.member)) for p in people.people],
        "is_owner": request.org_role == OWNER,
    }
    return render(request, "portal/licenses.html", context)


@require_POST
@org_manager_required
def org_license_assign(request, org):
    license_id, to = request.POST.get("license", ""), request.POST.get("to", "")
    try:
        if to == "__org__":
            org_services.license_assign(
                license_id=license_id, org_id=org.external_id, actor=request.actor, source=SOURCE
            )
        elif to:
            org_services.license_assign(license_id=license_id, member_id=to, actor=request.actor, source=SOURCE)
        else:
            org_services.license_unassign(license_id=license_id, actor=request.actor, source=SOURCE)
    except ServiceError as error:
        messages.error(request, f"License {license_id} was not changed: {error.message}.")
    else:
        messages.success(request, f"License {license_id} updated.")
    return redirect("portal:org_licenses", org_id=org.external_id)


def _org_license(org, license_id):
    lic = selectors.license_in_org(org, license_id)
    if lic is None:
        raise Http404("No such license in this organization")
    return lic


@require_POST
@org_manager_required
def org_license_take_back(request, org):
    lic = _org_license(org, request.POST.get("license", ""))
    try:
        org_services.license_unassign(license_id=lic.external_id, actor=request.actor, source=SOURCE)
    except ServiceError as error:
        messages.error(request, f"License {lic.external_id} was not taken back: {error.message}.")
    else:
        messages.success(request, f"License {lic.external_id} was taken back: it is available to assign again.")
    return redirect("portal:org_licenses", org_id=org.external_id)


@org_manager_required
def org_license_revoke(request, org, license_id):
    """A confirmation page (GET) and the revocation (POST): revoking cannot be undone, so it takes two steps
    that work without JavaScript."""
    lic = _org_license(org, license_id)
    if request.method == "POST":
        try:
            org_services.license_revoke(license_id=lic.external_id, actor=request.actor, source=SOURCE)
        except ServiceError as error:
            messages.error(request, f"License {lic.external_id} was not revoked: {error.message}.")
        else:
            messages.success(request, f"License {lic.external_id} is revoked: the access it gave has ended.")
        return redirect("portal:org_licenses", org_id=org.external_id)
    status = dict(org_selectors.org_licenses(org)).get(lic)
    context = {"org": org, "license": lic, "status": status, "is_owner": request.org_role == OWNER}
    return render(request, "portal/license_revoke.html", context)


REPORT_ROWS_PER_PAGE = 100


def _import_key(org) -> str:
    return f"portal-import-{org.external_id}"


class _Preview(Exception):
    """Raised inside the preview's transaction so that everything the import did is rolled back."""


def _import_run(request, org, text: str, *, preview: bool):
    """Run the import of `text`; a preview runs the very same service and rolls it all back (no event, no
    invitation, no email). Returns (report, error)."""
    parsed = people_csv_parse(text)
    if parsed.file_error:
        return None, parsed.file_error
    try:
        if not preview:
            return people_import(org=org, parsed=parsed, actor=request.actor, source=SOURCE), None
        with transaction.atomic():
            report = people_import(org=org, parsed=parsed, actor=request.actor, source=SOURCE)
            raise _Preview
    except _Preview:
        return report, None
    except ServiceError as error:
        return None, error.message


@org_manager_required
def org_import(request, org):
    """Upload (POST with a file): a preview of what the import will do, nothing done yet; "Import" (POST with
    confirm): the same file, imported. The report stays for the session: paged (?page=N) and as CSV."""
    form = PeopleImportForm(request.POST or None, request.FILES or None)
    key = _import_key(org)
    stored = request.session.get(key) or {}
    status = 200
    if request.method == "POST" and request.POST.get("confirm"):
        text = stored.get("text")
        if not text:
            messages.error(request, "Nothing to import: upload the file again.")
            return redirect("portal:org_import", org_id=org.external_id)
        report, error = _import_run(request, org, text, preview=False)
        if error:
            messages.error(request, f"Nothing was imported: {error}")
        else:
            invitations_send(invitations=report.invitations, accept_url=_accept_url(request))
            stored = {"preview": False, "rows": [_row_list(row) for row in report.rows]}
            request.session[key] = stored
            messages.success(request, f"Imported: {report.done} rows done, {report.count_refused} refused.")
        return redirect("portal:org_import", org_id=org.external_id)
    if request.method == "POST":
        if form.is_valid():
            raw = form.cleaned_data["file"].read()
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = None
                form.add_error("file", "The file is not UTF-8 text. Save it from your spreadsheet as CSV UTF-8.")
            if text is not None:
                report, error = _import_run(request, org, text, preview=True)
                if error:
                    form.add_error("file", error)
                else:
                    stored = {"preview": True, "text": text, "rows": [_row_list(row) for row in report.rows]}
                    request.session[key] = stored
                    return redirect("portal:org_import", org_id=org.external_id)
        status = 400
        stored = {}
    rows = [RowOutcome(*row) for row in stored.get("rows", [])]
    page = Paginator(rows, REPORT_ROWS_PER_PAGE).get_page(request.GET.get("page")) if rows else None
    counts = Counter(row.outcome for row in rows)
    context = {
        "org": org,
        "form": form,
        "page": page,
        "preview": stored.get("preview"),
        "total": len(rows),
        "done": len(rows) - counts.get(REFUSED, 0),
        "refused": counts.get(REFUSED, 0),
        "invited": counts.get(INVITED, 0),
        "REFUSED": REFUSED,
    }
    return render(request, "portal/import.html", context, status=status)


def _row_list(row: RowOutcome) -> list:
    return [row.row, row.email, row.outcome, row.detail]


@org_manager_required
def org_import_report(request, org):
    """The last import's (or preview's) report as CSV: row, email, result, why."""
    stored = request.session.get(_import_key(org)) or {}
    if not stored.get("rows"):
        raise Http404("No import report in this session")
    out = io.StringIO()
    report_csv_write(stored["rows"], out)
    name = "preview" if stored.get("preview") else "report"
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{org.external_id}-import-{name}.csv"'
    return response


@org_manager_required
def org_import_template(request, org):
    response = HttpResponse(PEOPLE_TEMPLATE, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="people-template.csv"'
    return response


@org_manager_required
def org_export(request, org):
    out = io.StringIO()
    people_csv_write(selectors.people_rows_for_export(org), out)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{org.external_id}-people.csv"'
    return response
