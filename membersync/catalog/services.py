"""Writes to the catalog: courses, groups, plans and the grant rules of every template."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError

from membersync.access.durations import Duration, DurationError
from membersync.access.rules import FIXED, SPECIFIC, SUBSCRIPTION, TARGET_KINDS, UNLIMITED
from membersync.errors import ServiceError
from membersync.lookups import by_external_id

from .models import AccessRule, Course, Group, LicenseType, Plan, SeatType, SiteSettings

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
        _grant_check(spec, where, allowed=GRANT_KEYS)
        rule = _rule_fill(AccessRule(**template), spec, where)
        rule.save()
        rules.append(rule)
    return rules


def rules_set(grants: list[dict], *, field: str, **template) -> list[AccessRule]:
    """Make a template's rules these. A grant with the `id` of one of its rules changes that rule in place (so
    the members' grants from it keep their history); one without an id is new; a rule not named is removed."""
    ((owner_field, owner),) = template.items()
    existing = {rule.pk: rule for rule in AccessRule.objects.filter(**{owner_field: owner})}
    kept, rules = set(), []
    for index, spec in enumerate(grants or ()):
        where = f"{field}[{index}]"
        _grant_check(spec, where, allowed=GRANT_KEYS | {"id"})
        rule_id = spec.get("id")
        if rule_id is not None:
            if rule_id not in existing or rule_id in kept:
                raise ServiceError("not_found", f"this template has no grant rule {rule_id!r}", field=f"{where}.id")
            kept.add(rule_id)
            rule = existing[rule_id]
            rule.course = rule.group = rule.on_date = None
            rule.after = ""
        else:
            rule = AccessRule(**template)
        rules.append(_rule_fill(rule, spec, where))
    AccessRule.objects.filter(pk__in=set(existing) - kept).delete()
    for rule in rules:
        rule.save()
    return rules


def _grant_check(spec: Any, where: str, *, allowed: set[str]) -> None:
    if not isinstance(spec, dict):
        raise ServiceError("invalid_value", "a grant is a mapping such as {course: intro}", field=where)
    unknown = set(spec) - allowed
    if unknown:
        raise ServiceError("invalid_value", f"unknown key {sorted(unknown)[0]!r}", field=where)


def _rule_fill(rule: AccessRule, spec: dict, where: str) -> AccessRule:
    targets = [k for k in TARGET_KINDS if k in spec]
    if len(targets) != 1:
        raise ServiceError("invalid_value", "a grant names exactly one course, group or group_leader", field=where)
    kind = targets[0]
    rule.target_kind, rule.after_trial = kind, bool(spec.get("after_trial", False))
    if kind == "course":
        rule.course = _course(spec["course"], field=f"{where}.course")
    else:
        rule.group = _group(spec[kind], field=f"{where}.{kind}")
    if "after" in spec and "on" in spec:
        raise ServiceError("invalid_value", "a grant opens either after a delay or on a date, not both", field=where)
    if "after" in spec:
        rule.after = str(duration_parse(spec["after"], field=f"{where}.after"))
    if "on" in spec:
        if not isinstance(spec["on"], datetime):
            raise ServiceError("invalid_value", f"{spec['on']!r} is not a date", field=f"{where}.on")
        rule.on_date = spec["on"]
    return rule


# --- changes an operator makes in the admin (operations.services wraps each in an event) -------------------------


def course_update(*, external_id: str, title: str) -> Course:
    course = _course(external_id, field="course")
    course.title = title_check(title, field="title")
    course.save(update_fields=["title"])
    return course


def group_update(*, external_id: str, title: str, course_ids: list[str]) -> Group:
    group = _group(external_id, field="group")
    group.title = title_check(title, field="title")
    courses = [_course(cid, field="courses") for cid in course_ids]
    group.save(update_fields=["title"])
    group.courses.set(courses)
    return group


def plan_update(
    *,
    external_id: str,
    name: str,
    length: Any,
    grants: list[dict],
    on_hold_grace: Any = None,
    product_ids: list[str] | None = None,
) -> Plan:
    """A plan's name, length, grace and grant rules (rules_set); its store products too when given."""
    plan = by_external_id(Plan.objects.select_for_update(), external_id, what="plan", field="plan")
    plan.name = title_check(name, field="name")
    plan.on_hold_grace = str(duration_parse(on_hold_grace, field="on_hold_grace")) if on_hold_grace else ""
    if product_ids is not None:
        plan.product_ids = sorted({str(p).strip() for p in product_ids if str(p).strip()})
    _length_set(plan, length_fields(length, field="length", allow_subscription=True))
    plan.save()
    rules_set(grants, field="grants", plan=plan)
    return plan


def seat_type_update(*, external_id: str, name: str, grants: list[dict]) -> SeatType:
    seat_type = by_external_id(SeatType.objects.select_for_update(), external_id, what="seat type", field="seat_type")
    seat_type.name = title_check(name, field="name")
    seat_type.save(update_fields=["name"])
    rules_set(grants, field="grants", seat_type=seat_type)
    return seat_type


def license_type_update(*, external_id: str, name: str, length: Any, grants: list[dict]) -> LicenseType:
    found = by_external_id(
        LicenseType.objects.select_for_update(), external_id, what="license type", field="license_type"
    )
    found.name = title_check(name, field="name")
    _length_set(found, length_fields(length, field="length", allow_subscription=False))
    found.save()
    rules_set(grants, field="grants", license_type=found)
    return found


def catalog_delete(record: Course | Group | Plan | SeatType | LicenseType, *, field: str) -> None:
    """Delete a catalog record nothing uses; refused with `in_use` naming what still uses it."""
    users = _users_of(record)
    if users:
        shown = "; ".join(users[:5]) + (f"; and {len(users) - 5} more" if len(users) > 5 else "")
        raise ServiceError("in_use", f"{record} is in use: {shown}", field=field)
    try:
        with transaction.atomic():
            record.delete()
    except (ProtectedError, RestrictedError) as error:
        used = sorted({f"{obj._meta.verbose_name} {obj}" for obj in error.protected_objects if obj})
        raise ServiceError("in_use", f"{record} is in use: {'; '.join(used[:5])}", field=field) from None


def _users_of(record) -> list[str]:
    """What uses a record beyond what the database protects: a grant rule, a group's courses, a subscription."""
    users = []
    if isinstance(record, Course):
        users += [f"grant rule of {_owner(rule)}" for rule in AccessRule.objects.filter(course=record)]
        users += [f"LearnDash group {group}" for group in record.groups.all()]
    if isinstance(record, Group):
        users += [f"grant rule of {_owner(rule)}" for rule in AccessRule.objects.filter(group=record)]
    if isinstance(record, Plan):
        users += [f"subscription {sub.external_id}" for sub in record.subscriptions.all()[:6]]
    return users


def _owner(rule: AccessRule) -> str:
    owner = rule.plan or rule.seat_type or rule.license_type
    return f"{owner._meta.verbose_name} {owner}"


def site_settings_update(*, timezone: str, plan_change_confirm_above: int) -> SiteSettings:
    try:
        ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError):
        raise ServiceError(
            "invalid_value",
            f"{timezone!r} is not a time zone (e.g. Europe/Berlin, America/New_York, UTC)",
            field="timezone",
        ) from None
    if not isinstance(plan_change_confirm_above, int) or plan_change_confirm_above < 0:
        raise ServiceError(
            "invalid_value",
            "the confirmation threshold is a number of members, 0 or more",
            field="plan_change_confirm_above",
        )
    found, _ = SiteSettings.objects.select_for_update().get_or_create(pk=1)
    found.timezone, found.plan_change_confirm_above = str(timezone), plan_change_confirm_above
    found.save()
    return found


def title_check(text: Any, *, field: str) -> str:
    text = str(text or "").strip()
    if not text:
        raise ServiceError("invalid_value", "give it a name people will read", field=field)
    if len(text) > 200:
        raise ServiceError("invalid_value", "at most 200 characters", field=field)
    return text


def _length_set(template: Plan | LicenseType, fields: dict) -> None:
    template.length_duration, template.fixed_start, template.fixed_end = "", None, None
    for name, value in fields.items():
        setattr(template, name, value)


def _course(external_id: Any, *, field: str) -> Course:
    return by_external_id(Course, external_id, what="course", field=field)


def _group(external_id: Any, *, field: str) -> Group:
    return by_external_id(Group, external_id, what="group", field=field)
