"""CRM sinks: the built-in CRM (MemberSync's own table of who holds which tag) and one per connected CRM.

What a CRM should hold is derived from access (Sink.project): each member's source tags, the tags mirroring her
enrollments (less those the CRM removed while she kept the enrollment), and enrollment tags that stay after an
unenrollment while the CRM still holds them (access/tags.py tags_wanted). The reconciler diffs that against the
CRM's mirror and the outbox carries the difference, per member and in order.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from membersync import memo
from membersync.access.tags import TAG, TAG_EPOCH, tags_wanted
from membersync.sync.mirror import holdings_read, mirror_write
from membersync.sync.models import LedgerEntry, Operation
from membersync.sync.sinks import Sink

from .models import MemberTag, TagSuppression
from .selectors import BUILTIN_CRM, any_member_tag, builtin_crm_in_use, tag_rules
from .services import suppressions_lift

ACTIVE = "active"


@memo.scoped
def _any_suppression() -> bool:
    return TagSuppression.objects.exists()


def tags_project(*, sink: str, connection_id: int | None) -> Callable[[dict[int, dict], datetime], dict[int, dict]]:
    """The sink's project(): what the CRM should hold for each member of a reconcile batch, in four queries."""

    def project(desired_by_member: dict[int, dict], now: datetime) -> dict[int, dict]:
        member_ids = list(desired_by_member)
        rules = tag_rules()
        sources: dict[int, set[str]] = defaultdict(set)
        if any_member_tag():
            rows = MemberTag.objects.filter(
                member_id__in=member_ids, connection_id=connection_id, removed_at__isnull=True
            ).values_list("member_id", "tag")
            for member_id, tag in rows:
                sources[member_id].add(tag)
        if rules.empty and not sources:
            return {}
        suppressed: dict[int, set[str]] = defaultdict(set)
        if _any_suppression():
            rows = TagSuppression.objects.filter(member_id__in=member_ids, connection_id=connection_id)
            for member_id, tag in rows.values_list("member_id", "tag"):
                suppressed[member_id].add(tag)
        held = {
            member_id: {tag for kind, tag in holdings if kind == TAG}
            for member_id, holdings in holdings_read(sink=sink, member_ids=member_ids).items()
        }
        had = _targets_had(member_ids, rules)
        wanted: dict[int, dict] = {}
        lifted: dict[int, set[str]] = {}
        for member_id, desired in desired_by_member.items():
            decision = tags_wanted(
                rules=rules,
                enrollments=desired.keys(),
                sources=sources.get(member_id, ()),
                held=held.get(member_id, ()),
                suppressed=suppressed.get(member_id, ()),
                had=had.get(member_id, ()),
            )
            if decision.wanted:
                wanted[member_id] = {(TAG, tag): (ACTIVE, TAG_EPOCH, None) for tag in decision.wanted}
            if decision.lifted:
                lifted[member_id] = set(decision.lifted)
        if lifted:
            suppressions_lift(lifted=lifted, connection_id=connection_id)
        return wanted

    return project


def _targets_had(member_ids: list[int], rules) -> dict[int, set[tuple[str, str]]]:
    """The courses and groups whose enrollment tags stay after an unenrollment that each member was ever given
    (the ledger's openings), for the batch in one query; none when no target keeps its tags."""
    sticky = rules.sticky_targets()
    if not sticky:
        return {}
    rows = (
        LedgerEntry.objects.filter(
            member_id__in=member_ids,
            action=LedgerEntry.OPENED,
            target_kind__in={t.kind for t in sticky},
            target_id__in={t.id for t in sticky},
        )
        .values_list("member_id", "target_kind", "target_id")
        .distinct()
    )
    wanted = {(t.kind, t.id) for t in sticky}
    had: dict[int, set[tuple[str, str]]] = defaultdict(set)
    for member_id, kind, target_id in rows:
        if (kind, target_id) in wanted:
            had[member_id].add((kind, target_id))
    return had


def builtin_crm_sinks() -> list[Sink]:
    """The built-in CRM, for a site that uses tags (wiring.sink_providers): a site with no tag setting, no tag and
    no tag operation pays nothing for it, not even its projection's reads at each reconcile batch."""
    return [builtin_crm_sink()] if builtin_crm_in_use() else []


def builtin_crm_sink() -> Sink:
    """The built-in CRM: its table is the sink's mirror (what it holds is what it was last told to hold)."""
    return Sink(name=BUILTIN_CRM, apply=builtin_crm_apply, project=tags_project(sink=BUILTIN_CRM, connection_id=None))


def builtin_crm_apply(operations: list[Operation], now: datetime) -> None:
    mirror_write(sink=BUILTIN_CRM, holdings={op.member_id: op.wanted for op in operations}, now=now)
