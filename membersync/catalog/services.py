"""Writes to the catalog: courses, groups, plans and the grant rules of every template."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction

from membersync.access.durations import Duration, DurationError
from membersync.access.rules import FIXED, SPECIFIC, SUBSCRIPTION, TARGET_KINDS, UNLIMITED
from membersync.errors import ServiceError
from membersync.lookups import by_external_id

from .models import AccessRule, Course, Group, LicenseType, Plan, SeatType

GRANT_KEYS = {"course", "group", "group_leader", "after", "on", "after_trial"}


def duration_parse(text: Any, *, field: str) -> Duration:
    try:
        return Duration.parse(text)
    except DurationError as error:
        raise ServiceError("invalid_value", str(error), field=field) from None


def course_create(*, external_id: str, title: str = "") -> Course:
    if Course.objects.filter(external_id=external_id).exists():
        raise ServiceError("duplicate_id", f"course {external_id!r} already exists", field="courses")
    return Course.objects.create(external_id=external_id, title=title or external_id)


def group_create(*, external_id: str, title: str = "", course_ids: list[str] = ()) -> Group:
    if Group.objects.filter(external_id=external_id).exists():
        raise ServiceError("duplicate_id", f"group {external_id!r} already exists", field="groups")
    courses = [_course(cid, field=f"groups.{external_id}.courses") for cid in course_ids]
    group = Group.objects.create(external_id=external_id, title=title or external_id)
    group.courses.set(courses)
    return group


def length_fields(spec: Any, *, field: str, allow_subscription: bool) -> dict:
    """A length as written ("unlimited", "subscription", "30 days", {from, until}) -> the template's fields."""
    if spec in (None, UNLIMITED):
        return {"length_kind": UNLIMITED}
    if spec == SUBSCRIPTION:
        if not allow_subscription:
            raise ServiceError(
                "invalid_value", "only a membership plan can last as long as a subscription", field=field
            )
        return {"length_kind": SUBSCRIPTION}
    if isinstance(spec, dict):
        unknown = set(spec) - {"from", "until"}
        if unknown or not {"from", "until"} <= set(spec):
            raise ServiceError("invalid_value", "a fixed length is {from: DATE, until: DATE}", field=field)
        starts, ends = spec["from"], spec["until"]
        if not isinstance(starts, datetime) or not isinstance(ends, datetime):
            raise ServiceError("invalid_value", "from and until must be dates", field=field)
        if ends <= starts:
            raise ServiceError(
                "invalid_value", f"the end {ends:%Y-%m-%d} is not after the start {starts:%Y-%m-%d}", field=field
            )
        return {"length_kind": FIXED, "fixed_start": starts, "fixed_end": ends}
    duration = duration_parse(spec, field=field)
    return {"length_kind": SPECIFIC, "length_duration": str(duration)}


@transaction.atomic
def plan_create(
    *, external_id: str, name: str = "", length: Any = UNLIMITED, grants: list[dict] = (), on_hold_grace: Any = None
) -> Plan:
    if Plan.objects.filter(external_id=external_id).exists():
        raise ServiceError("duplicate_id", f"plan {external_id!r} already exists", field="plans")
    where = f"plans.{external_id}"
    grace = str(duration_parse(on_hold_grace, field=f"{where}.on_hold_grace")) if on_hold_grace else ""
    plan = Plan.objects.create(
        external_id=external_id,
        name=name or external_id,
        on_hold_grace=grace,
        **length_fields(length, field=f"{where}.length", allow_subscription=True),
    )
    rules_create(grants, field=f"{where}.grants", plan=plan)
    return plan


@transaction.atomic
def plan_sync(*, external_id: str, name: str, length: Any, product_ids: list[str]) -> tuple[Plan, bool]:
    """A plan as a store describes it (WooCommerce Memberships): created with the site's default on-hold grace
    (settings.DEFAULT_ON_HOLD_GRACE: a renewal's brief on-hold flicker is never felt), or updated in name,
    length and products. Its grant rules are MemberSync's own and stay as they are. (plan, created)"""
    where = f"plans.{external_id}"
    fields = {
        "name": name or external_id,
        "product_ids": sorted({str(p) for p in product_ids}),
        "fixed_start": None,
        "fixed_end": None,
        "length_duration": "",
        **length_fields(length, field=f"{where}.length", allow_subscription=True),
    }
    plan = Plan.objects.select_for_update().filter(external_id=external_id).first()
    if plan is None:
        grace = settings.DEFAULT_ON_HOLD_GRACE
        grace = str(duration_parse(grace, field="DEFAULT_ON_HOLD_GRACE")) if grace else ""
        return Plan.objects.create(external_id=external_id, on_hold_grace=grace, **fields), True
    for name_, value in fields.items():
        setattr(plan, name_, value)
    plan.save()
    return plan, False


@transaction.atomic
def seat_type_create(*, external_id: str, name: str = "", grants: list[dict] = ()) -> SeatType:
    if SeatType.objects.filter(external_id=external_id).exists():
        raise ServiceError("duplicate_id", f"seat type {external_id!r} already exists", field="seat_types")
    seat_type = SeatType.objects.create(external_id=external_id, name=name or external_id)
    rules_create(grants, field=f"seat_types.{external_id}.grants", seat_type=seat_type)
    return seat_type


@transaction.atomic
def license_type_create(
    *, external_id: str, name: str = "", grants: list[dict] = (), length: Any = UNLIMITED
) -> LicenseType:
    if LicenseType.objects.filter(external_id=external_id).exists():
        raise ServiceError("duplicate_id", f"license type {external_id!r} already exists", field="license_types")
    where = f"license_types.{external_id}"
    license_type = LicenseType.objects.create(
        external_id=external_id,
        name=name or external_id,
        **length_fields(length, field=f"{where}.length", allow_subscription=False),
    )
    rules_create(grants, field=f"{where}.grants", license_type=license_type)
    return license_type


def rules_create(grants: list[dict], *, field: str, **template) -> list[AccessRule]:
    rules = []
    for index, spec in enumerate(grants or ()):
        where = f"{field}[{index}]"
        if not isinstance(spec, dict):
            raise ServiceError("invalid_value", "a grant is a mapping such as {course: intro}", field=where)
        unknown = set(spec) - GRANT_KEYS
        if unknown:
            raise ServiceError("invalid_value", f"unknown key {sorted(unknown)[0]!r}", field=where)
        targets = [k for k in TARGET_KINDS if k in spec]
        if len(targets) != 1:
            raise ServiceError("invalid_value", "a grant names exactly one course, group or group_leader", field=where)
        kind = targets[0]
        rule = AccessRule(target_kind=kind, after_trial=bool(spec.get("after_trial", False)), **template)
        if kind == "course":
            rule.course = _course(spec["course"], field=f"{where}.course")
        else:
            rule.group = _group(spec[kind], field=f"{where}.{kind}")
        if "after" in spec and "on" in spec:
            raise ServiceError(
                "invalid_value", "a grant opens either after a delay or on a date, not both", field=where
            )
        if "after" in spec:
            rule.after = str(duration_parse(spec["after"], field=f"{where}.after"))
        if "on" in spec:
            if not isinstance(spec["on"], datetime):
                raise ServiceError("invalid_value", f"{spec['on']!r} is not a date", field=f"{where}.on")
            rule.on_date = spec["on"]
        rule.save()
        rules.append(rule)
    return rules


def _course(external_id: Any, *, field: str) -> Course:
    return by_external_id(Course, external_id, what="course", field=field)


def _group(external_id: Any, *, field: str) -> Group:
    return by_external_id(Group, external_id, what="group", field=field)
