"""The catalog, changed by an operator: each change one event with the operator as actor, in one transaction,
refused with a ServiceError naming the field and changing nothing (the writes themselves: catalog.services).

A change to what a template grants (a plan's, a seat type's or a license type's rules or length) is saved with a
job that re-reconciles exactly the members it changes (operations.template_changes)."""

from __future__ import annotations

from typing import Any

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.catalog.models import Course, Group, LicenseType, Plan, SeatType
from membersync.errors import ServiceError
from membersync.lookups import by_external_id
from membersync.results import Applied, ServiceResult
from membersync.sync.services import event_apply

from ..template_changes import (
    ChangePreview,
    template_change_effect,
    template_change_job_create,
    template_change_preview,
    template_change_refuse_unconfirmed,
)


def _event(kind: str, payload: dict, actor: Actor, source: str, write) -> ServiceResult:
    return event_apply(
        kind=kind, payload=payload, actor=actor, source=source, apply=lambda event: Applied(value=write(event))
    )


def course_add(*, external_id: str, title: str, actor: Actor, source: str = "admin") -> ServiceResult:
    def write(event):
        catalog.title_check(title, field="title")
        if not str(external_id or "").strip():
            raise ServiceError("invalid_value", "give the course an id", field="external_id")
        return catalog.course_create(external_id=str(external_id).strip(), title=title)

    return _event("course.create", {"id": external_id, "title": title}, actor, source, write)


def course_change(*, external_id: str, title: str, actor: Actor, source: str = "admin") -> ServiceResult:
    def write(event):
        return catalog.course_update(external_id=external_id, title=title)

    return _event("course.update", {"id": external_id, "title": title}, actor, source, write)


def group_add(
    *, external_id: str, title: str, course_ids: list[str], actor: Actor, source: str = "admin"
) -> ServiceResult:
    def write(event):
        catalog.title_check(title, field="title")
        if not str(external_id or "").strip():
            raise ServiceError("invalid_value", "give the group an id", field="external_id")
        return catalog.group_create(external_id=str(external_id).strip(), title=title, course_ids=list(course_ids))

    payload = {"id": external_id, "title": title, "courses": list(course_ids)}
    return _event("group.create", payload, actor, source, write)


def group_change(
    *, external_id: str, title: str, course_ids: list[str], actor: Actor, source: str = "admin"
) -> ServiceResult:
    def write(event):
        return catalog.group_update(external_id=external_id, title=title, course_ids=list(course_ids))

    payload = {"id": external_id, "title": title, "courses": list(course_ids)}
    return _event("group.update", payload, actor, source, write)


MODELS = {
    "course": Course,
    "group": Group,
    "plan": Plan,
    "seat_type": SeatType,
    "license_type": LicenseType,
}


def catalog_record_remove(*, kind: str, external_id: str, actor: Actor, source: str = "admin") -> ServiceResult:
    """Delete a course, group, plan, seat type or license type that nothing uses (refused with `in_use`, naming
    what uses it)."""

    def write(event):
        if kind not in MODELS:
            raise ServiceError("invalid_value", f"{kind!r} is not in the catalog", field="kind")
        record = by_external_id(MODELS[kind], external_id, what=kind.replace("_", " "), field=kind)
        catalog.catalog_delete(record, field=kind)
        return external_id

    return _event(f"{kind}.delete", {"id": external_id}, actor, source, write)


def site_settings_change(
    *, timezone: str, plan_change_confirm_above: int, actor: Actor, source: str = "admin"
) -> ServiceResult:
    def write(event):
        return catalog.site_settings_update(timezone=timezone, plan_change_confirm_above=plan_change_confirm_above)

    payload = {"timezone": timezone, "plan_change_confirm_above": plan_change_confirm_above}
    return _event("site_settings.update", payload, actor, source, write)


# --- templates: what they grant ------------------------------------------------------------------------------


def plan_add(
    *,
    external_id: str,
    name: str,
    length: Any,
    grants: list[dict],
    on_hold_grace: Any = None,
    product_ids: list[str] = (),
    actor: Actor,
    source: str = "admin",
) -> ServiceResult:
    """A new plan (nobody holds it yet: nothing to re-reconcile)."""

    def write(event):
        catalog.title_check(name, field="name")
        if not str(external_id or "").strip():
            raise ServiceError("invalid_value", "give the plan an id", field="external_id")
        plan = catalog.plan_create(
            external_id=str(external_id).strip(), name=name, length=length, grants=grants, on_hold_grace=on_hold_grace
        )
        plan.product_ids = sorted({str(p).strip() for p in product_ids if str(p).strip()})
        plan.save(update_fields=["product_ids"])
        return plan

    payload = _template_payload(external_id, name, length, grants, on_hold_grace=on_hold_grace)
    return _event("plan.create", payload, actor, source, write)


def seat_type_add(*, external_id: str, name: str, grants: list[dict], actor: Actor, source: str = "admin"):
    def write(event):
        catalog.title_check(name, field="name")
        return catalog.seat_type_create(external_id=str(external_id).strip(), name=name, grants=grants)

    return _event("seat_type.create", _template_payload(external_id, name, None, grants), actor, source, write)


def license_type_add(
    *, external_id: str, name: str, length: Any, grants: list[dict], actor: Actor, source: str = "admin"
):
    def write(event):
        catalog.title_check(name, field="name")
        return catalog.license_type_create(
            external_id=str(external_id).strip(), name=name, grants=grants, length=length
        )

    return _event("license_type.create", _template_payload(external_id, name, length, grants), actor, source, write)


def _change_of(kind: str, external_id: str, **fields) -> tuple[int, str, Any]:
    """(pk, label, the write) of a template change."""
    record = by_external_id(MODELS[kind], external_id, what=kind.replace("_", " "), field=kind)
    label = f"{record._meta.verbose_name} {record}"
    writes = {
        "plan": catalog.plan_update,
        "seat_type": catalog.seat_type_update,
        "license_type": catalog.license_type_update,
    }
    return record.pk, label, lambda: writes[kind](external_id=external_id, **fields)


def template_change_check(*, kind: str, external_id: str, actor: Actor, **fields) -> ChangePreview:
    """What changing a plan, seat type or license type this way would do, changing nothing (a refused change
    raises its ServiceError)."""
    pk, label, write = _change_of(kind, external_id, **fields)
    return template_change_preview(kind=kind, pk=pk, label=label, change=write, actor=actor)


def template_change(
    *, kind: str, external_id: str, actor: Actor, confirm_removals: bool = False, source: str = "admin", **fields
) -> ServiceResult:
    """Change a plan (name, length, on_hold_grace, grants, product_ids), a seat type (name, grants) or a license
    type (name, length, grants). The members it changes are re-reconciled by the worker; more removals than the
    site's threshold need `confirm_removals`. The result's value is the ChangePreview of what it did."""

    def apply(event) -> Applied:
        pk, label, write = _change_of(kind, external_id, **fields)
        preview = template_change_effect(kind=kind, pk=pk, label=label, change=write, actor=actor)
        template_change_refuse_unconfirmed(preview, confirmed=confirm_removals)
        template_change_job_create(preview=preview, event_id=event.pk, actor=actor)
        return Applied(value=preview)

    payload = {"id": external_id, **{k: _plain(v) for k, v in fields.items()}, "confirm_removals": confirm_removals}
    return event_apply(kind=f"{kind}.update", payload=payload, actor=actor, source=source, apply=apply)


def _template_payload(external_id, name, length, grants, **extra) -> dict:
    return {
        "id": external_id,
        "name": name,
        "length": _plain(length),
        "grants": _plain(grants),
        **{k: _plain(v) for k, v in extra.items()},
    }


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
