"""Writes of tags: course and group tag settings, tags applied or removed in a CRM or by an operator.

A CRM's tag changes arrive as deltas (a scenario's tag.apply, the companion's tag.applied) or as the contact's
whole set of tags re-read from the CRM (an ActiveCampaign webhook, `crm pull`). Either way they are compared with
what MemberSync knows the CRM holds (its mirror) and what its own unfinished operations are about to make it hold:
a tag MemberSync applied coming back is the echo and changes nothing; a tag the CRM gained otherwise is a source
(origin crm); a tag it lost ends its source, and MemberSync does not apply it again to mirror an enrollment she
keeps (docs/decisions/0022-crm-tags.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from membersync import clock
from membersync.access.lms import HAND
from membersync.access.rules import COURSE, GROUP
from membersync.access.tags import CRM, OPERATOR, TAG, TAG_EPOCH
from membersync.actors import Actor
from membersync.catalog.models import Course, Group
from membersync.errors import ServiceError
from membersync.lms.models import LmsEnrollment
from membersync.lookups import by_external_id
from membersync.people.models import Connection, Member
from membersync.results import Applied, ServiceResult
from membersync.sync.mirror import holdings_read, mirror_write
from membersync.sync.models import Operation
from membersync.sync.services import event_apply

from .models import MemberTag, Tag, TagSuppression, TargetTagSettings
from .selectors import crm_sink_name, tag_rules

MAX_TAG = 191


def tag_name_check(tag, *, field: str = "tags") -> str:
    if not isinstance(tag, str) or not tag.strip() or tag != tag.strip() or len(tag) > MAX_TAG:
        raise ServiceError(
            "invalid_value",
            f"a tag must be a name of 1 to {MAX_TAG} characters without spaces around it, not {tag!r}",
            field=field,
        )
    return tag


def _tags_check(tags, *, field: str) -> list[str]:
    if isinstance(tags, str) or not isinstance(tags, Iterable):
        raise ServiceError("invalid_value", f"{field} must be a list of tags, not {tags!r}", field=field)
    return [tag_name_check(t, field=field) for t in tags]


def tag_catalog_create(*, names: list[str], actor: Actor) -> list[Tag]:
    """Make the CRM's tags known (a scenario's catalog `tags`, or an operator): existing ones stay."""
    names = _tags_check(names, field="tags")
    with transaction.atomic():
        for name in names:
            Tag.objects.get_or_create(name=name)
    return list(Tag.objects.filter(name__in=names))


@dataclass(frozen=True)
class TagSettingsChecked:
    target_kind: str
    target_id: str
    link_tag: str
    leader_tag: str
    unenroll_on_link_removed: bool
    tags_on_enrollment: list[str]
    remove_tags_on_unenrollment: bool


def tag_settings_check(
    *,
    target_kind: str,
    target_id: str,
    link_tag: str = "",
    leader_tag: str = "",
    unenroll_on_link_removed: bool = True,
    tags_on_enrollment: list[str] | None = None,
    remove_tags_on_unenrollment: bool = False,
) -> TagSettingsChecked:
    """A course's or group's tag settings checked, changing nothing (the admin's form asks before saving): a
    ServiceError names the field at fault. Tags named must be known (Tag) once any tag is; a leader tag is for
    groups, unenroll_on_link_removed for courses."""
    if target_kind not in (COURSE, GROUP):
        raise ServiceError(
            "invalid_value", f"tag settings are for a course or a group, not {target_kind!r}", field="kind"
        )
    target_id = str(target_id)
    by_external_id(Course if target_kind == COURSE else Group, target_id, what=target_kind, field=target_kind)
    if leader_tag and target_kind != GROUP:
        raise ServiceError(
            "invalid_value", "leader_tag is a group setting: a course has no leaders", field="leader_tag"
        )
    if not unenroll_on_link_removed and target_kind != COURSE:
        raise ServiceError(
            "invalid_value", "unenroll_on_link_removed is a course setting", field="unenroll_on_link_removed"
        )
    for flag, name in (
        (unenroll_on_link_removed, "unenroll_on_link_removed"),
        (remove_tags_on_unenrollment, "remove_tags_on_unenrollment"),
    ):
        if not isinstance(flag, bool):
            raise ServiceError("invalid_value", f"{name} must be true or false, not {flag!r}", field=name)
    named = {"link_tag": link_tag, "leader_tag": leader_tag}
    for field, tag in named.items():
        if tag:
            tag_name_check(tag, field=field)
    enrollment_tags = _tags_check(tags_on_enrollment or [], field="tags_on_enrollment")
    known = set(Tag.objects.values_list("name", flat=True))
    if known:
        for field, tags in (*((f, [t]) for f, t in named.items() if t), ("tags_on_enrollment", enrollment_tags)):
            unknown = sorted(set(tags) - known)
            if unknown:
                raise ServiceError(
                    "not_found",
                    f"{field}: {unknown[0]!r} is not one of the CRM's tags ({', '.join(sorted(known))})",
                    field=field,
                )
    return TagSettingsChecked(
        target_kind=target_kind,
        target_id=target_id,
        link_tag=link_tag or "",
        leader_tag=leader_tag or "",
        unenroll_on_link_removed=unenroll_on_link_removed,
        tags_on_enrollment=sorted(set(enrollment_tags), key=enrollment_tags.index),
        remove_tags_on_unenrollment=remove_tags_on_unenrollment,
    )


def tag_settings_set(
    *,
    target_kind: str,
    target_id: str,
    link_tag: str = "",
    leader_tag: str = "",
    unenroll_on_link_removed: bool = True,
    tags_on_enrollment: list[str] | None = None,
    remove_tags_on_unenrollment: bool = False,
    actor: Actor,
) -> TargetTagSettings:
    """A course's or group's tag settings (replacing what it had), checked by tag_settings_check. Members' tags
    follow at their next reconcile (`membersync batch course-tags` or `group-tags` brings every member's at once)."""
    checked = tag_settings_check(
        target_kind=target_kind,
        target_id=target_id,
        link_tag=link_tag,
        leader_tag=leader_tag,
        unenroll_on_link_removed=unenroll_on_link_removed,
        tags_on_enrollment=tags_on_enrollment,
        remove_tags_on_unenrollment=remove_tags_on_unenrollment,
    )
    with transaction.atomic():
        settings, _ = TargetTagSettings.objects.update_or_create(
            target_kind=checked.target_kind,
            target_id=checked.target_id,
            defaults={
                "link_tag": checked.link_tag,
                "leader_tag": checked.leader_tag,
                "unenroll_on_link_removed": checked.unenroll_on_link_removed,
                "tags_on_enrollment": checked.tags_on_enrollment,
                "remove_tags_on_unenrollment": checked.remove_tags_on_unenrollment,
            },
        )
    return settings


def _row(tag: str) -> dict:
    return {
        "target_kind": TAG,
        "target_id": tag,
        "status": "active",
        "access_from": TAG_EPOCH.isoformat(),
        "suspended_since": None,
    }


def _believed(member: Member, connection: Connection | None) -> tuple[set[str], set[str]]:
    """(what the CRM holds as MemberSync knows it, what it may hold already if MemberSync's operation in flight
    went through): a tag in the second and not the first may be MemberSync's own on its way. An operation still
    waiting in the outbox has sent nothing yet."""
    sink = crm_sink_name(connection)
    held = holdings_read(sink=sink, member_ids=[member.pk]).get(member.pk, {})
    mirror = {tag for kind, tag in held if kind == TAG}
    in_flight = (
        Operation.objects.filter(member=member, sink=sink, status=Operation.PENDING, leased_until__gt=clock.now())
        .exclude(leased_by="")
        .order_by("-pk")
        .values_list("wanted", flat=True)
        .first()
    )
    pending = mirror if in_flight is None else {row["target_id"] for row in in_flight if row["target_kind"] == TAG}
    return mirror, pending


def _observe(
    *,
    member: Member,
    connection: Connection | None,
    at: datetime,
    actor: Actor,
    applied: set[str] = frozenset(),
    removed: set[str] = frozenset(),
    whole: set[str] | None = None,
) -> dict:
    """Record what the CRM did (inside the event's transaction); returns what changed, for the event's result."""
    mirror, pending = _believed(member, connection)
    now_held = set(whole) if whole is not None else (mirror | set(applied)) - set(removed)
    gained = now_held - mirror - pending  # neither held nor on its way: the CRM applied it itself
    echoed = (now_held - mirror) & pending
    lost = (mirror & pending) - now_held  # held, and MemberSync is not removing it: the CRM removed it
    open_rows = {
        row.tag: row for row in MemberTag.objects.filter(member=member, connection=connection, removed_at__isnull=True)
    }
    who = str(actor)[:200]
    for tag in sorted(gained):
        if tag not in open_rows:
            MemberTag.objects.create(
                member=member, connection=connection, tag=tag, origin=CRM, applied_at=at, applied_by=who
            )
    TagSuppression.objects.filter(member=member, connection=connection, tag__in=gained).delete()
    kept = []
    rules = tag_rules()
    for tag in sorted(lost):
        row = open_rows.get(tag)
        if row is not None:  # a source tag: its grants end
            row.removed_at = max(at, row.applied_at)
            row.removed_by = who
            row.save(update_fields=["removed_at", "removed_by"])
            kept += _keep_enrolled(member, rules, tag, row.removed_at, connection)
        # Whatever its origin, MemberSync does not apply it again to mirror an enrollment she keeps.
        if not TagSuppression.objects.filter(member=member, connection=connection, tag=tag).exists():
            TagSuppression.objects.create(member=member, connection=connection, tag=tag, since=at)
    if now_held != mirror:
        mirror_write(
            sink=crm_sink_name(connection), holdings={member.pk: [_row(t) for t in sorted(now_held)]}, now=clock.now()
        )
    return {"applied": sorted(gained), "echoes": sorted(echoed), "removed": sorted(lost), "kept_enrolled": kept}


def _keep_enrolled(member: Member, rules, tag: str, at: datetime, connection: Connection | None) -> list[str]:
    """A linked tag removed from a course set to `unenroll_on_link_removed: false` leaves her enrolled as if
    enrolled by hand in LearnDash (an lms source, until lms.unenroll)."""
    kept = []
    for target in rules.linked_targets(tag):
        settings = rules.settings.get(target)
        if target.kind != COURSE or settings is None or settings.unenroll_on_link_removed:
            continue
        exists = LmsEnrollment.objects.filter(
            member=member, target_kind=COURSE, target_id=target.id, connection=None, ended_at=None
        ).exists()
        if not exists:
            LmsEnrollment.objects.create(
                member=member,
                target_kind=COURSE,
                target_id=target.id,
                connection=None,
                origin=HAND,
                started_at=at,
                note=f"kept when linked tag {tag} was removed (unenroll_on_link_removed: false)"
                + (f" in {connection.name}" if connection else ""),
                created_at=clock.now(),
            )
            kept.append(target.id)
    return kept


def _crm_event(
    kind: str,
    *,
    member: Member,
    connection: Connection | None,
    actor: Actor,
    source: str,
    payload: dict,
    idempotency_key: str | None,
    **changes,
) -> ServiceResult:
    at = clock.now()

    def apply(event) -> Applied:
        return Applied(
            members=[member.pk], value=_observe(member=member, connection=connection, at=at, actor=actor, **changes)
        )

    payload = {"member": member.external_id, "crm": connection.name if connection else "", **payload}
    return event_apply(
        kind=kind, payload=payload, actor=actor, source=source, apply=apply, idempotency_key=idempotency_key
    )


def tag_apply(
    *,
    member: Member,
    tags: list[str],
    actor: Actor,
    source: str,
    connection: Connection | None = None,
    idempotency_key: str | None = None,
) -> ServiceResult:
    """The CRM (a person or an automation there) applied these tags: each becomes a source, unless it is the echo
    of one MemberSync applied."""
    tags = _tags_check(tags, field="tags")
    return _crm_event(
        "tag.apply",
        member=member,
        connection=connection,
        actor=actor,
        source=source,
        payload={"tags": sorted(tags)},
        idempotency_key=idempotency_key,
        applied=set(tags),
    )


def tag_remove(
    *,
    member: Member,
    tags: list[str],
    actor: Actor,
    source: str,
    connection: Connection | None = None,
    idempotency_key: str | None = None,
) -> ServiceResult:
    """The CRM removed these tags: a source tag's grants end; a tag the CRM no longer held changes nothing."""
    tags = _tags_check(tags, field="tags")
    return _crm_event(
        "tag.remove",
        member=member,
        connection=connection,
        actor=actor,
        source=source,
        payload={"tags": sorted(tags)},
        idempotency_key=idempotency_key,
        removed=set(tags),
    )


def crm_tags_observe(
    *,
    member: Member,
    tags: list[str],
    actor: Actor,
    source: str,
    connection: Connection | None = None,
    idempotency_key: str | None = None,
) -> ServiceResult:
    """The CRM holds exactly these tags for her now (re-read from its API after a webhook, or by `crm pull`)."""
    tags = _tags_check(tags, field="tags")
    return _crm_event(
        "tag.observe",
        member=member,
        connection=connection,
        actor=actor,
        source=source,
        payload={"tags": sorted(tags)},
        idempotency_key=idempotency_key,
        whole=set(tags),
    )


def tag_operator_apply(
    *, member: Member, tag: str, actor: Actor, connection: Connection | None = None
) -> ServiceResult:
    """An operator applies a tag in MemberSync: a source, sent to the CRM by the outbox."""
    tag = tag_name_check(tag, field="tag")
    at = clock.now()

    def apply(event) -> Applied:
        row = MemberTag.objects.filter(member=member, connection=connection, tag=tag, removed_at__isnull=True).first()
        if row is None:
            row = MemberTag.objects.create(
                member=member,
                connection=connection,
                tag=tag,
                origin=OPERATOR,
                applied_at=at,
                applied_by=str(actor)[:200],
            )
        TagSuppression.objects.filter(member=member, connection=connection, tag=tag).delete()
        return Applied(members=[member.pk], value=row)

    payload = {"member": member.external_id, "tag": tag, "crm": connection.name if connection else ""}
    return event_apply(kind="tag.operator_apply", payload=payload, actor=actor, source="admin", apply=apply)


def tag_operator_remove(
    *, member: Member, tag: str, actor: Actor, connection: Connection | None = None
) -> ServiceResult:
    """An operator removes a tag applied as a source (in the CRM or by an operator): its grants end, and the
    outbox removes it from the CRM unless an enrollment still mirrors it."""
    tag = tag_name_check(tag, field="tag")
    at = clock.now()

    def apply(event) -> Applied:
        row = MemberTag.objects.filter(member=member, connection=connection, tag=tag, removed_at__isnull=True).first()
        if row is None:
            raise ServiceError("not_found", f"{member} has no tag {tag} applied as a source to remove", field="tag")
        row.removed_at = max(at, row.applied_at)
        row.removed_by = str(actor)[:200]
        row.save(update_fields=["removed_at", "removed_by"])
        return Applied(members=[member.pk], value=row)

    payload = {"member": member.external_id, "tag": tag, "crm": connection.name if connection else ""}
    return event_apply(kind="tag.operator_remove", payload=payload, actor=actor, source="admin", apply=apply)


def suppressions_lift(*, lifted: dict[int, set[str]], connection_id: int | None) -> None:
    """Forget suppressions no enrollment needs any more (called by the CRM sinks' projection)."""
    for member_id, tags in lifted.items():
        TagSuppression.objects.filter(member_id=member_id, connection_id=connection_id, tag__in=tags).delete()
