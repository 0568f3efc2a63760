"""Tags applied in a CRM or by an operator as sources of access for the reconciler: one query per batch."""

from __future__ import annotations

from datetime import datetime

from membersync.access.tags import TagFacts, tag_window
from membersync.sync.sources import LoadedSources

from .models import MemberTag
from .selectors import any_member_tag, crm_label, tag_rules


def tag_sources(member_ids: list[int], now: datetime) -> LoadedSources:
    loaded = LoadedSources()
    rules = tag_rules()
    if rules.empty or not any_member_tag():  # most sites have neither: no query over the members
        return loaded
    linked = {t.link_tag for t in rules.settings.values() if t.link_tag}
    linked |= {t.leader_tag for t in rules.settings.values() if t.leader_tag}
    rows = MemberTag.objects.filter(member_id__in=member_ids, tag__in=linked).values_list(
        "pk", "member_id", "tag", "origin", "connection__kind", "applied_at", "applied_by", "removed_at", "removed_by"
    )
    for pk, member_id, tag, origin, kind, applied, applied_by, removed, removed_by in rows:
        facts = TagFacts(
            id=str(pk),
            tag=tag,
            origin=origin,
            crm=crm_label(kind),
            applied_at=applied,
            applied_by=applied_by,
            removed_at=removed,
            removed_by=removed_by,
        )
        targets = rules.linked_targets(tag)
        if targets:
            loaded.windows.setdefault(member_id, []).append(tag_window(facts, targets))
    return loaded
