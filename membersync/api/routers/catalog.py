"""The catalog: courses, groups, plans with their grant rules, seat and license types. Read with any key; write
with the write scope (catalog.services)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from ninja import Router, Schema, Status

from membersync.catalog import services
from membersync.catalog.models import Course, Group, LicenseType, Plan, SeatType
from membersync.lookups import by_external_id

from .. import auth
from ..common import WRITE, Id, Moment, Name, answers

router = Router(tags=["catalog"])


class CourseIn(Schema):
    id: Id
    title: Name = ""


class CourseOut(Schema):
    id: str
    title: str


class GroupIn(CourseIn):
    courses: list[Id] = []


class GroupOut(CourseOut):
    courses: list[str]


class GrantIn(Schema):
    """One grant rule: exactly one of course, group, group_leader; opening `after` a delay ("14 days") or `on` a
    date, counted from the trial's end with `after_trial`."""

    course: Id | None = None
    group: Id | None = None
    group_leader: Id | None = None
    after: Name | None = None
    on: Moment | None = None
    after_trial: bool = False


class GrantOut(Schema):
    target_kind: str
    target: str
    after: str
    on: datetime | None
    after_trial: bool


class TemplateIn(Schema):
    id: Id
    name: Name = ""
    grants: list[GrantIn] = []


class LengthIn(TemplateIn):
    """`length`: unlimited, a duration ("1 year"), or fixed between `fixed_from` and `fixed_until`."""

    length: Name = "unlimited"
    fixed_from: Moment | None = None
    fixed_until: Moment | None = None


class PlanIn(LengthIn):
    """A plan's `length` may also be `subscription` (it lasts as long as its subscription)."""

    on_hold_grace: Name | None = None


class TemplateOut(Schema):
    id: str
    name: str
    grants: list[GrantOut]


class LengthOut(TemplateOut):
    length: str
    fixed_from: datetime | None
    fixed_until: datetime | None


class PlanOut(LengthOut):
    on_hold_grace: str
    products: list[str]


def _grants(template) -> list[dict]:
    return [
        {
            "target_kind": r.target_kind,
            "target": r.course.external_id if r.course_id else r.group.external_id,
            "after": r.after,
            "on": r.on_date,
            "after_trial": r.after_trial,
        }
        for r in template.rules.select_related("course", "group").order_by("pk")
    ]


def _length(template) -> dict:
    length = template.length_duration if template.length_kind == "specific" else template.length_kind
    return {"length": length, "fixed_from": template.fixed_start, "fixed_until": template.fixed_end}


def plan_out(plan: Plan) -> dict:
    return {
        "id": plan.external_id,
        "name": plan.name,
        "grants": _grants(plan),
        **_length(plan),
        "on_hold_grace": plan.on_hold_grace,
        "products": list(plan.product_ids or []),
    }


def seat_type_out(seat_type: SeatType) -> dict:
    return {"id": seat_type.external_id, "name": seat_type.name, "grants": _grants(seat_type)}


def license_type_out(license_type: LicenseType) -> dict:
    return {
        "id": license_type.external_id,
        "name": license_type.name,
        "grants": _grants(license_type),
        **_length(license_type),
    }


def _grant_specs(grants: list[GrantIn]) -> list[dict]:
    return [{k: v for k, v in g.dict().items() if v is not None and not (k == "after_trial" and not v)} for g in grants]


def _length_spec(payload: LengthIn):
    if payload.fixed_from is not None or payload.fixed_until is not None:
        return {"from": payload.fixed_from, "until": payload.fixed_until}
    return payload.length


@router.get("/catalog/courses", response=answers(list[CourseOut]), auth=auth.read, summary="Courses")
def courses(request):
    return [{"id": c.external_id, "title": c.title} for c in Course.objects.order_by("external_id")]


@router.post("/catalog/courses", response=answers(CourseOut, 201), auth=auth.write, summary="Add a course", **WRITE)
def course_add(request, payload: CourseIn):
    with transaction.atomic():
        course = services.course_create(external_id=payload.id, title=payload.title)
    return Status(201, {"id": course.external_id, "title": course.title})


def _group_out(group: Group) -> dict:
    courses = sorted(group.courses.values_list("external_id", flat=True))
    return {"id": group.external_id, "title": group.title, "courses": courses}


@router.get("/catalog/groups", response=answers(list[GroupOut]), auth=auth.read, summary="Groups")
def groups(request):
    return [_group_out(g) for g in Group.objects.order_by("external_id")]


@router.post("/catalog/groups", response=answers(GroupOut, 201), auth=auth.write, summary="Add a group", **WRITE)
def group_add(request, payload: GroupIn):
    with transaction.atomic():
        group = services.group_create(external_id=payload.id, title=payload.title, course_ids=payload.courses)
    return Status(201, _group_out(group))


@router.get("/catalog/plans", response=answers(list[PlanOut]), auth=auth.read, summary="Plans")
def plans(request):
    return [plan_out(p) for p in Plan.objects.order_by("external_id")]


@router.get("/catalog/plans/{plan}", response=answers(PlanOut), auth=auth.read, summary="A plan")
def plan_read(request, plan: str):
    return plan_out(by_external_id(Plan, plan, what="plan", field="plan"))


@router.post("/catalog/plans", response=answers(PlanOut, 201), auth=auth.write, summary="Add a plan", **WRITE)
def plan_add(request, payload: PlanIn):
    with transaction.atomic():
        plan = services.plan_create(
            external_id=payload.id,
            name=payload.name,
            length=_length_spec(payload),
            grants=_grant_specs(payload.grants),
            on_hold_grace=payload.on_hold_grace,
        )
    return Status(201, plan_out(plan))


@router.get("/catalog/seat-types", response=answers(list[TemplateOut]), auth=auth.read, summary="Seat types")
def seat_types(request):
    return [seat_type_out(s) for s in SeatType.objects.order_by("external_id")]


@router.post(
    "/catalog/seat-types", response=answers(TemplateOut, 201), auth=auth.write, summary="Add a seat type", **WRITE
)
def seat_type_add(request, payload: TemplateIn):
    with transaction.atomic():
        seat_type = services.seat_type_create(
            external_id=payload.id, name=payload.name, grants=_grant_specs(payload.grants)
        )
    return Status(201, seat_type_out(seat_type))


@router.get("/catalog/license-types", response=answers(list[LengthOut]), auth=auth.read, summary="License types")
def license_types(request):
    return [license_type_out(t) for t in LicenseType.objects.order_by("external_id")]


@router.post(
    "/catalog/license-types", response=answers(LengthOut, 201), auth=auth.write, summary="Add a license type", **WRITE
)
def license_type_add(request, payload: LengthIn):
    with transaction.atomic():
        license_type = services.license_type_create(
            external_id=payload.id, name=payload.name, grants=_grant_specs(payload.grants), length=_length_spec(payload)
        )
    return Status(201, license_type_out(license_type))
