"""Enrollments made in the LMS: recorded as sources when the LMS reports them, ended when it reports them undone."""

from __future__ import annotations

from datetime import datetime

from membersync import clock
from membersync.access.lms import ORIGINS
from membersync.access.rules import COURSE, GROUP, GROUP_LEADER, TARGET_KINDS
from membersync.actors import Actor
from membersync.catalog.models import Course, Group
from membersync.errors import ServiceError
from membersync.lookups import by_external_id
from membersync.people.models import Connection, Member
from membersync.results import Applied, ServiceResult
from membersync.sync.services import event_apply

from .models import LmsEnrollment


def _target_check(target_kind: str, target_id: str) -> None:
    if target_kind not in TARGET_KINDS:
        raise ServiceError(
            "invalid_value", f"target kind must be one of {', '.join(TARGET_KINDS)}, not {target_kind!r}", field="kind"
        )
    if target_kind == COURSE:
        by_external_id(Course, target_id, what="course", field="course")
    elif target_kind in (GROUP, GROUP_LEADER):
        by_external_id(Group, target_id, what="group", field="group")


def _payload(member: Member, target_kind: str, target_id: str, at: datetime, connection: Connection | None) -> dict:
    return {
        "member": member.external_id,
        target_kind: target_id,
        "at": at.isoformat(),
        "site": connection.name if connection else "",
    }


def lms_enrollment_record(
    *,
    member: Member,
    target_kind: str,
    target_id: str,
    at: datetime,
    origin: str,
    actor: Actor,
    source: str,
    connection: Connection | None = None,
    note: str = "",
    idempotency_key: str | None = None,
) -> ServiceResult:
    """She was enrolled in the LMS without MemberSync (by hand, or found there and adopted): keep that as a source
    of access from `at` (never later than now) until the LMS reports it undone. Enrolled that way already: the
    same source stays, and the result is a duplicate."""
    if origin not in ORIGINS:
        raise ServiceError(
            "invalid_value", f"origin must be one of {', '.join(ORIGINS)}, not {origin!r}", field="origin"
        )
    target_id = str(target_id)
    _target_check(target_kind, target_id)
    now = clock.now()
    started = min(at, now)

    def apply(event) -> Applied:
        open_ = LmsEnrollment.objects.filter(
            member=member, target_kind=target_kind, target_id=target_id, connection=connection, ended_at=None
        ).first()
        if open_ is not None:
            return Applied(members=(), value=open_)
        enrollment = LmsEnrollment.objects.create(
            member=member,
            target_kind=target_kind,
            target_id=target_id,
            connection=connection,
            origin=origin,
            started_at=started,
            note=note[:400],
            created_at=now,
        )
        return Applied(members=[member.pk], value=enrollment)

    payload = {**_payload(member, target_kind, target_id, started, connection), "origin": origin}
    return event_apply(
        kind="lms.enroll", payload=payload, actor=actor, source=source, apply=apply, idempotency_key=idempotency_key
    )


def lms_enrollment_end(
    *,
    member: Member,
    target_kind: str,
    target_id: str,
    at: datetime,
    actor: Actor,
    source: str,
    connection: Connection | None = None,
    idempotency_key: str | None = None,
) -> ServiceResult:
    """She was unenrolled in the LMS: end the source that enrollment made (only that one: her other sources keep
    her enrolled, and MemberSync enrolls her again). Refused with not_found when the LMS never reported such an
    enrollment (an unenrollment of access MemberSync gave: a drift that `verify` reports)."""
    target_id = str(target_id)
    _target_check(target_kind, target_id)
    ended = min(at, clock.now())

    def apply(event) -> Applied:
        open_ = LmsEnrollment.objects.filter(
            member=member, target_kind=target_kind, target_id=target_id, connection=connection, ended_at=None
        ).first()
        if open_ is None:
            where = f" on {connection.name}" if connection else ""
            raise ServiceError(
                "not_found",
                f"{member} has no enrollment in {target_kind} {target_id} made in the LMS{where} to end",
                field=target_kind,
            )
        open_.ended_at = max(ended, open_.started_at)
        open_.ended_by = str(actor)[:200]
        open_.save(update_fields=["ended_at", "ended_by"])
        return Applied(members=[member.pk], value=open_)

    return event_apply(
        kind="lms.unenroll",
        payload=_payload(member, target_kind, target_id, ended, connection),
        actor=actor,
        source=source,
        apply=apply,
        idempotency_key=idempotency_key,
    )
