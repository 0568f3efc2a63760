"""An operator grants a member a course or group by hand, and ends it: each one event (sync.services.event_apply)."""

from __future__ import annotations

from datetime import datetime

from membersync.access.rules import COURSE, GROUP
from membersync.actors import Actor
from membersync.catalog.models import Course, Group
from membersync.errors import ServiceError
from membersync.lookups import by_external_id
from membersync.people.models import Member
from membersync.results import Applied, ServiceResult
from membersync.sync.services import event_apply

from .models import ManualGrant


def manual_grant_create(
    *,
    member_id: str,
    target_kind: str,
    target_id: str,
    actor: Actor,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    note: str = "",
    source: str = "admin",
) -> ServiceResult:
    """Give the member one course or group from `starts_at` (default now) until `ends_at` (default: until ended)."""

    def apply(event) -> Applied:
        member = by_external_id(Member, member_id, what="member", field="member")
        if target_kind == COURSE:
            by_external_id(Course, target_id, what="course", field="target_id")
        elif target_kind == GROUP:
            by_external_id(Group, target_id, what="group", field="target_id")
        else:
            raise ServiceError("invalid_value", f"grant a course or a group, not {target_kind!r}", field="target_kind")
        start = starts_at or event.occurred_at
        if ends_at is not None and ends_at <= start:
            raise ServiceError(
                "invalid_value",
                f"the end {ends_at:%Y-%m-%d %H:%M} is not after the start {start:%Y-%m-%d %H:%M}",
                field="ends_at",
            )
        if len(note) > 400:
            raise ServiceError("invalid_value", "a note is at most 400 characters", field="note")
        grant = ManualGrant.objects.create(
            member=member,
            target_kind=target_kind,
            target_id=str(target_id),
            starts_at=start,
            ends_at=ends_at,
            note=note.strip(),
            granted_by=str(actor)[:200],
            created_at=event.occurred_at,
        )
        return Applied(members=[member.pk], value=grant)

    payload = {
        "member": member_id,
        target_kind: target_id,
        "from": starts_at.isoformat() if starts_at else None,
        "until": ends_at.isoformat() if ends_at else None,
        "note": note,
    }
    return event_apply(kind="manual.grant", payload=payload, actor=actor, source=source, apply=apply)


def manual_grant_end(*, grant_id: int, actor: Actor, source: str = "admin") -> ServiceResult:
    """End a manual grant now (the member keeps whatever her other sources give her)."""

    def apply(event) -> Applied:
        grant = ManualGrant.objects.select_for_update().filter(pk=grant_id).first()
        if grant is None:
            raise ServiceError("not_found", f"no manual grant with id {grant_id!r}", field="grant")
        if grant.ended_at is not None:
            raise ServiceError("not_active", f"this manual grant was ended already by {grant.ended_by}", field="grant")
        now = event.occurred_at
        if grant.ends_at is not None and grant.ends_at <= now:
            raise ServiceError("not_active", f"this manual grant ran out on {grant.ends_at:%Y-%m-%d}", field="grant")
        grant.ended_at, grant.ended_by = max(now, grant.starts_at), str(actor)[:200]
        grant.save(update_fields=["ended_at", "ended_by"])
        return Applied(members=[grant.member_id], value=grant)

    return event_apply(kind="manual.end", payload={"grant": grant_id}, actor=actor, source=source, apply=apply)
