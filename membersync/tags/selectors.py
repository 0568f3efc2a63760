"""Reads of tags: the catalog's tag settings as rules, what each CRM holds for a member and why."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db import connection as db

from membersync import memo
from membersync.access.rules import GROUP, Target
from membersync.access.tags import MIRROR, TAG, TagRules, TargetTags
from membersync.catalog.models import Group
from membersync.people.models import ACTIVECAMPAIGN, FLUENTCRM, Connection, Member
from membersync.sync.mirror import holdings_read
from membersync.sync.models import MirrorEntry, Operation

from .models import MemberTag, Tag, TargetTagSettings

BUILTIN_CRM = "crm"  # the built-in CRM's sink: MemberSync's own table of who holds which tag
CRM_KINDS = (ACTIVECAMPAIGN, FLUENTCRM)
CRM_NAMES = {ACTIVECAMPAIGN: "ActiveCampaign", FLUENTCRM: "FluentCRM"}


def crm_sink_name(connection: Connection | None) -> str:
    return BUILTIN_CRM if connection is None else f"crm:{connection.name}"


def crm_label(kind: str | None) -> str:
    """How explanations name a CRM: "ActiveCampaign", "FluentCRM", or "the CRM" (the built-in one)."""
    return CRM_NAMES.get(kind or "", "the CRM")


@memo.scoped
def tag_rules() -> TagRules:
    """Every course's and group's tag settings, and the groups' courses (read once per memo scope)."""
    settings = {}
    for row in TargetTagSettings.objects.all():
        target = Target(row.target_kind, row.target_id)
        settings[target] = TargetTags(
            target=target,
            link_tag=row.link_tag,
            leader_tag=row.leader_tag if row.target_kind == GROUP else "",
            unenroll_on_link_removed=row.unenroll_on_link_removed,
            tags_on_enrollment=tuple(row.tags_on_enrollment or ()),
            remove_tags_on_unenrollment=row.remove_tags_on_unenrollment,
        )
    courses: dict[str, list[str]] = defaultdict(list)
    if settings:
        through = Group.courses.through.objects.values_list("group__external_id", "course__external_id")
        for group_id, course_id in through:
            courses[group_id].append(course_id)
    return TagRules(settings, {g: tuple(sorted(c)) for g, c in courses.items()})


@memo.scoped
def any_member_tag() -> bool:
    return MemberTag.objects.exists()


@memo.scoped
def builtin_crm_in_use() -> bool:
    """Whether the built-in CRM has anything to hold or do: a tag setting, a tag applied as a source, a tag it
    holds, or an operation on its way to it. The settings are read anyway (tag_rules); the rest is one query,
    once per memo scope (an event, a reconcile batch, an outbox pass)."""
    if not tag_rules().empty:
        return True
    table = db.ops.quote_name
    queries = [
        f"SELECT 1 FROM {table(MemberTag._meta.db_table)} WHERE connection_id IS NULL",
        f"SELECT 1 FROM {table(MirrorEntry._meta.db_table)} WHERE sink = %s",
        f"SELECT 1 FROM {table(Operation._meta.db_table)} WHERE sink = %s AND status IN (%s, %s)",
    ]
    sql = " UNION ALL ".join(f"SELECT 1 FROM ({q} LIMIT 1) AS any_row_{i}" for i, q in enumerate(queries))
    with db.cursor() as cursor:
        cursor.execute(sql, [BUILTIN_CRM, BUILTIN_CRM, *Operation.UNFINISHED])
        return cursor.fetchone() is not None


def known_tags() -> set[str]:
    return set(Tag.objects.values_list("name", flat=True))


def crm_tags_held(*, member: Member, connection: Connection | None = None) -> set[str]:
    """The tags the CRM holds for her now (for a connected CRM: as its last answers said)."""
    held = holdings_read(sink=crm_sink_name(connection), member_ids=[member.pk]).get(member.pk, {})
    return {tag for kind, tag in held if kind == TAG}


@dataclass(frozen=True)
class HeldTag:
    tag: str
    origin: str  # crm | operator | mirror
    since: datetime | None  # when it was applied as a source (None: applied by MemberSync)
    by: str


def member_tags_list(*, member: Member, connection: Connection | None = None) -> list[HeldTag]:
    """Every tag the CRM holds for her, and every tag applied to her as a source, with its origin."""
    sources = {
        row.tag: row for row in MemberTag.objects.filter(member=member, connection=connection, removed_at__isnull=True)
    }
    found = [HeldTag(tag, row.origin, row.applied_at, row.applied_by) for tag, row in sorted(sources.items())]
    for tag in sorted(crm_tags_held(member=member, connection=connection) - set(sources)):
        found.append(HeldTag(tag, MIRROR, None, "MemberSync"))
    return sorted(found, key=lambda held: held.tag)


def target_tag_settings(kind: str, target_id: str) -> TargetTagSettings | None:
    return TargetTagSettings.objects.filter(target_kind=kind, target_id=target_id).first()


def crm_connections() -> list[Connection]:
    return list(Connection.objects.filter(kind__in=CRM_KINDS).order_by("name"))


@dataclass(frozen=True)
class CrmTags:
    crm: str  # "built-in CRM" or the connection's name
    tags: list[HeldTag]


def member_crm_tags(*, member: Member) -> list[CrmTags]:
    """Every CRM's tags for her with their origins: the built-in CRM's, then each connected CRM holding any."""
    sinks = set(
        MirrorEntry.objects.filter(member=member, sink__startswith=BUILTIN_CRM, target_kind=TAG).values_list(
            "sink", flat=True
        )
    )
    connections = set(
        MemberTag.objects.filter(member=member, connection__isnull=False).values_list("connection_id", flat=True)
    )
    found = []
    if BUILTIN_CRM in sinks or MemberTag.objects.filter(member=member, connection__isnull=True).exists():
        found.append(CrmTags("built-in CRM", member_tags_list(member=member)))
    for connection in crm_connections():
        if crm_sink_name(connection) in sinks or connection.pk in connections:
            found.append(CrmTags(connection.name, member_tags_list(member=member, connection=connection)))
    return found
