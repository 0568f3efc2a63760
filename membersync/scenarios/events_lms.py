"""Scenario events for enrollments made in LearnDash directly (FORMAT.md: `lms.enroll`, `lms.unenroll`)."""

from __future__ import annotations

from membersync import clock
from membersync.access.lms import HAND
from membersync.lms import services
from membersync.members.services import member_get_or_create

from .parsing import ScenarioError, ident
from .registry import Context, event


def _target(step: dict) -> tuple[str, str]:
    given = [kind for kind in ("course", "group") if step.get(kind) is not None]
    if len(given) != 1:
        raise ScenarioError("give exactly one of course or group")
    return given[0], ident(step[given[0]], given[0])


@event("lms.enroll", required=("member",), optional=("course", "group"))
def lms_enroll(step: dict, ctx: Context):
    kind, target_id = _target(step)
    return services.lms_enrollment_record(
        member=member_get_or_create(external_id=str(step["member"])),
        target_kind=kind,
        target_id=target_id,
        at=clock.now(),
        origin=HAND,
        actor=ctx.actor,
        source="scenario",
    )


@event("lms.unenroll", required=("member",), optional=("course", "group"))
def lms_unenroll(step: dict, ctx: Context):
    kind, target_id = _target(step)
    return services.lms_enrollment_end(
        member=member_get_or_create(external_id=str(step["member"])),
        target_kind=kind,
        target_id=target_id,
        at=clock.now(),
        actor=ctx.actor,
        source="scenario",
    )
