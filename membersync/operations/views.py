"""The reports an operator asks for, each as a page and as CSV (`?format=csv`)."""

from __future__ import annotations

import csv
from datetime import datetime

from django.contrib import admin
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from membersync import clock
from membersync.catalog.models import Course
from membersync.orgs.models import Organization

from . import selectors


def _cell(value) -> str:
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    return "" if value is None else str(value)


def _csv(name: str, columns: list[str], rows: list[dict]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    writer = csv.writer(response)
    writer.writerow(columns)
    for row in rows:
        # A cell a spreadsheet would run as a formula is kept as text.
        writer.writerow([("'" + c if c[:1] in "=+-@" else c) for c in (_cell(row.get(col)) for col in columns)])
    return response


def _page(request, title: str, columns: list[str], rows: list[dict], **extra) -> TemplateResponse:
    context = {
        **admin.site.each_context(request),
        "title": title,
        "columns": columns,
        "rows": [[_cell(row.get(col)) for col in columns] for row in rows],
        "csv_query": (request.GET.urlencode() + "&" if request.GET else "") + "format=csv",
        **extra,
    }
    return TemplateResponse(request, "admin/membersync/report.html", context)


def _respond(request, name: str, title: str, columns: list[str], rows: list[dict], **extra):
    if request.GET.get("format") == "csv":
        return _csv(name, columns, rows)
    return _page(request, title, columns, rows, **extra)


def reports(request):
    context = {**admin.site.each_context(request), "title": "Reports"}
    return TemplateResponse(request, "admin/membersync/reports.html", context)


def course_access(request):
    courses = list(Course.objects.order_by("title"))
    chosen = next((c for c in courses if c.external_id == request.GET.get("course")), None)
    rows = selectors.course_access_report(chosen, clock.now()) if chosen else []
    columns = ["member", "name", "email", "through", "source", "since", "until"]
    title = f"Who can open {chosen.title}" if chosen else "Who can open a course"
    return _respond(
        request,
        f"course-access-{chosen.external_id if chosen else ''}",
        title,
        columns,
        rows,
        choices=[(c.external_id, c.title) for c in courses],
        chosen=chosen.external_id if chosen else "",
        choice_name="course",
        choice_label="Course",
    )


def expiries(request):
    days = request.GET.get("days", "30")
    days = int(days) if days.isdigit() and 0 < int(days) <= 366 else 30
    rows = selectors.expiries_report(clock.now(), days=days)
    columns = ["closes", "member", "name", "email", "what", "through"]
    return _respond(request, "expiries", f"Access ending in the next {days} days", columns, rows)


def plan_status(request):
    rows = selectors.plan_status_report()
    statuses = sorted({k for row in rows for k in row} - {"plan", "total"})
    return _respond(request, "members-per-plan", "Members per plan and status", ["plan", *statuses, "total"], rows)


def organization(request):
    orgs = list(Organization.objects.order_by("name"))
    chosen = next((o for o in orgs if o.external_id == request.GET.get("org")), None)
    report = selectors.org_access_report(chosen) if chosen else {"seat_use": [], "people": []}
    columns = ["member", "name", "email", "role", "seats", "access"]
    title = f"{chosen.name}: seats and each person's access" if chosen else "An organization's seats and access"
    return _respond(
        request,
        f"organization-{chosen.external_id if chosen else ''}",
        title,
        columns,
        report["people"],
        choices=[(o.external_id, o.name) for o in orgs],
        chosen=chosen.external_id if chosen else "",
        choice_name="org",
        choice_label="Organization",
        seat_use=report["seat_use"],
    )
