"""The brake on mass removals: a remote site's students are not unenrolled by the thousand because of a mistake.

A sink with `brake` on (every LearnDash site) counts the members whose operations would remove or suspend
something the site holds now (its mirror). Once, within an hour, more members than the sink's threshold would
lose access, those operations are held (Operation.HELD) for an operator's confirmation and the operators are
alerted; everything else goes on. The threshold is exceeded when the removals pass both `brake_students` and
`brake_percent` of the site's students: 50 members and 5 % by default, so a small site is not stopped for a few
expiries and a large one not for a routine day (docs/decisions/0014-remote-sinks-shadow-and-brake.md).

A member whose removal is held keeps her later removals held too, until an operator releases them
(`operations_release_held`) or her sources give her access back (an operation that removes nothing is sent,
and it supersedes the held one).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from .mirror import holdings_read, students_count
from .models import Enrollment, Operation, SinkState
from .sinks import Sink

log = logging.getLogger("membersync.alerts")

WINDOW = timedelta(hours=1)
STATUS = 6  # the position of `status` in the reconciler's operation rows (reconciler.OPERATION_COLUMNS)


@dataclass
class Projection:
    """What a sink will hold per member once its outbox is through, and who has operations unfinished or held."""

    state: dict[int, dict]
    unfinished: set[int] = field(default_factory=set)
    held: set[int] = field(default_factory=set)


def removes_access(wanted: list[dict], holds: dict) -> bool:
    """Whether reaching `wanted` takes away (unenrolls or suspends) something active in `holds`."""
    wanted_status = {(row["target_kind"], row["target_id"]): row["status"] for row in wanted}
    for key, (status, _access_from, _since) in holds.items():
        if status == Enrollment.ACTIVE and wanted_status.get(key) != Enrollment.ACTIVE:
            return True
        if status == Enrollment.SUSPENDED and key not in wanted_status:
            return True
    return False


def brake_apply(*, sinks: list[Sink], operations: list[tuple], projections: dict, now: datetime) -> list[tuple]:
    """Hold the removals of any braked sink that is past its threshold; returns the operation rows to write."""
    result = list(operations)
    for sink in sinks:
        if not sink.brake:
            continue
        indexes = [i for i, op in enumerate(result) if op[1] == sink.name]
        if not indexes:
            continue
        holds = holdings_read(sink=sink.name, member_ids=[result[i][0] for i in indexes])
        removals = [i for i in indexes if removes_access(result[i][2], holds.get(result[i][0], {}))]
        if not removals:
            continue
        already_held = projections[sink.name].held
        over = _count_and_check(sink, len(removals), now)
        for i in removals:
            if over or result[i][0] in already_held:
                result[i] = (*result[i][:STATUS], Operation.HELD, *result[i][STATUS + 1 :])
    return result


def _count_and_check(sink: Sink, removals: int, now: datetime) -> bool:
    """Add this batch's removals to the sink's count for the current window; whether the count is past the
    threshold (and, the first time in a window, alert the operators)."""
    state, _ = SinkState.objects.select_for_update().get_or_create(sink=sink.name)
    window_start = max(filter(None, [now - WINDOW, state.brake_released_at]))
    if state.removals_since is None or state.removals_since < window_start:
        state.removals_since, state.removals = now, 0
    state.removals += removals
    students = students_count(sink=sink.name)
    threshold = max(sink.brake_students, math.ceil(students * sink.brake_percent / 100))
    over = state.removals > threshold
    alert = over and (state.brake_alerted_at is None or state.brake_alerted_at < window_start)
    if alert:
        state.brake_alerted_at = now
    state.save()
    if alert:
        message = (
            f"MemberSync held the removal of access for members of {sink.name}: {state.removals} members within an "
            f"hour would lose access, more than the brake's threshold ({threshold} of {students} students). "
            "Nothing was sent for them. Review the held operations in the admin and confirm or discard them."
        )
        log.warning(message)
        if settings.OPERATOR_EMAILS:
            subject = f"MemberSync: a mass removal is held on {sink.name}"
            transaction.on_commit(
                lambda: send_mail(subject, message, None, settings.OPERATOR_EMAILS, fail_silently=True)
            )
    return over


def operations_release_held(*, sink: str, actor, now: datetime, operation_ids: list[int] | None = None) -> int:
    """An operator confirms held removals: they become pending and are sent. The brake counts anew from now.
    Returns how many were released."""
    with transaction.atomic():
        held = Operation.objects.filter(sink=sink, status=Operation.HELD)
        if operation_ids is not None:
            held = held.filter(pk__in=operation_ids)
        released = held.update(status=Operation.PENDING, next_attempt_at=now, last_error=f"released by {actor}"[:2000])
        SinkState.objects.update_or_create(sink=sink, defaults={"brake_released_at": now, "removals": 0})
    log.info("%s released %d held operations of %s", actor, released, sink)
    return released


def operations_discard_held(*, sink: str, actor, now: datetime, operation_ids: list[int] | None = None) -> int:
    """An operator refuses held removals: they are never sent. What the members' sources say does not change, so
    their next reconcile proposes the removal again (held again) unless the sources are corrected first.
    Returns how many were discarded."""
    with transaction.atomic():
        held = Operation.objects.filter(sink=sink, status=Operation.HELD)
        if operation_ids is not None:
            held = held.filter(pk__in=operation_ids)
        discarded = held.update(status=Operation.SUPERSEDED, done_at=now, last_error=f"discarded by {actor}"[:2000])
    log.info("%s discarded %d held operations of %s", actor, discarded, sink)
    return discarded
