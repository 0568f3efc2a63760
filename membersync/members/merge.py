"""Merging two members who turn out to be one person, as one event: stored, applied (people.services.member_absorb
moves every source, the ledger, the outbox and the identities to the kept member) and the kept member reconciled,
in one transaction. A refused merge changes nothing.
"""

from __future__ import annotations

from membersync.actors import Actor
from membersync.errors import ServiceError
from membersync.people.models import Member
from membersync.people.services import Absorbed, member_absorb
from membersync.results import Applied, ServiceResult
from membersync.sync.services import event_apply


def members_merge(*, keep_id: str, absorb_id: str, actor: Actor, source: str = "admin") -> ServiceResult[Absorbed]:
    """Merge the member `absorb_id` into `keep_id` (external ids). The result's value says what moved."""
    keep_id, absorb_id = str(keep_id).strip(), str(absorb_id).strip()

    def apply(event) -> Applied:
        if not keep_id or not absorb_id:
            raise ServiceError("invalid_value", "name both members: the one to keep and the one to merge into it")
        if keep_id == absorb_id:
            raise ServiceError("invalid_value", "a member cannot be merged into herself", field="absorb")
        members = {
            m.external_id: m for m in Member.objects.select_for_update().filter(external_id__in=[keep_id, absorb_id])
        }
        for ident, field in ((keep_id, "keep"), (absorb_id, "absorb")):
            if ident not in members:
                raise ServiceError("not_found", f"no member with id {ident!r}", field=field)
        absorbed = member_absorb(keep=members[keep_id], absorb=members[absorb_id], now=event.occurred_at)
        return Applied(members=[members[keep_id].pk], value=absorbed)

    payload = {"keep": keep_id, "absorb": absorb_id}
    return event_apply(kind="member.merge", payload=payload, actor=actor, source=source, apply=apply)
