"""Reads of the catalog, turned into the access engine's plain facts."""

from __future__ import annotations

from collections import defaultdict
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from membersync import memo
from membersync.access.durations import Duration
from membersync.access.rules import FIXED, SPECIFIC, GrantRule, Length, Schedule, Target
from membersync.access.sources import PlanFacts

from .models import AccessRule, Group, LicenseType, Plan, SiteSettings


def site_settings_get() -> SiteSettings:
    """The site's settings (unsaved defaults until an operator saves them)."""
    return SiteSettings.objects.filter(pk=1).first() or SiteSettings(pk=1)


def site_timezone() -> ZoneInfo:
    try:
        return ZoneInfo(site_settings_get().timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _rule(rule: AccessRule, target_ids: dict[tuple[str, int], str]) -> GrantRule:
    if rule.target_kind == "course":
        target = Target("course", target_ids[("course", rule.course_id)])
    else:
        target = Target(rule.target_kind, target_ids[("group", rule.group_id)])
    return GrantRule(
        key=str(rule.pk),
        target=target,
        schedule=Schedule(
            after=Duration.parse(rule.after) if rule.after else None,
            on=rule.on_date,
            after_trial=rule.after_trial,
        ),
    )


@memo.scoped
def template_rules() -> dict[tuple[str, int], tuple[GrantRule, ...]]:
    """Every template's grant rules, keyed by ("plan" | "seat_type" | "license_type", pk). One query each."""
    from .models import Course

    target_ids = {("course", pk): ext for pk, ext in Course.objects.values_list("pk", "external_id")}
    target_ids |= {("group", pk): ext for pk, ext in Group.objects.values_list("pk", "external_id")}
    rules: dict[tuple[str, int], list[GrantRule]] = defaultdict(list)
    for rule in AccessRule.objects.order_by("pk"):
        if rule.plan_id:
            owner = ("plan", rule.plan_id)
        elif rule.seat_type_id:
            owner = ("seat_type", rule.seat_type_id)
        else:
            owner = ("license_type", rule.license_type_id)
        rules[owner].append(_rule(rule, target_ids))
    return {owner: tuple(rs) for owner, rs in rules.items()}


def length_of(template: Plan | LicenseType) -> Length:
    if template.length_kind == SPECIFIC:
        return Length(SPECIFIC, duration=Duration.parse(template.length_duration))
    if template.length_kind == FIXED:
        return Length(FIXED, starts=template.fixed_start, ends=template.fixed_end)
    return Length(template.length_kind)


@memo.scoped
def plan_facts_all() -> dict[int, PlanFacts]:
    rules = template_rules()
    return {
        plan.pk: PlanFacts(
            id=plan.external_id,
            name=plan.name,
            length=length_of(plan),
            rules=rules.get(("plan", plan.pk), ()),
            on_hold_grace=Duration.parse(plan.on_hold_grace) if plan.on_hold_grace else None,
        )
        for plan in Plan.objects.all()
    }


@memo.scoped
def group_courses() -> dict[str, set[str]]:
    """Group external id -> the external ids of the courses it gives."""
    through = Group.courses.through.objects.values_list("group__external_id", "course__external_id")
    courses: dict[str, set[str]] = defaultdict(set)
    for group_id, course_id in through:
        courses[group_id].add(course_id)
    return courses


@memo.scoped
def _plans_by_product() -> dict[str, list[Plan]]:
    by_product: dict[str, list[Plan]] = defaultdict(list)
    for plan in Plan.objects.exclude(product_ids=[]):
        for product in {str(p) for p in plan.product_ids}:
            by_product[product].append(plan)
    return by_product


def plans_for_products(product_ids) -> list[Plan]:
    """The plans that any of these store products (or variations) grant, each once, in name order."""
    by_product = _plans_by_product()
    found = {plan.pk: plan for p in product_ids if p not in (None, "", 0, "0") for plan in by_product.get(str(p), [])}
    return sorted(found.values(), key=lambda plan: (plan.name, plan.pk))
