"""Reads of members and their memberships, as the access engine's facts."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from membersync.access.rules import Interval
from membersync.access.sources import MembershipFacts, PlanFacts
from membersync.access.subscriptions import SubscriptionFacts
from membersync.people.models import Member

from .models import Membership, MembershipPause, Subscription


@dataclass(frozen=True, slots=True)
class StoredMembership:
    pk: int
    facts: MembershipFacts
    status: str  # the derived status last stored
    status_rule: str


def membership_facts_for(member_ids: Iterable[int], plans: dict[int, PlanFacts]) -> dict[int, list[StoredMembership]]:
    """member pk -> its memberships as facts, with pauses and linked subscriptions, in three queries."""
    member_ids = list(member_ids)
    rows = list(
        Membership.objects.filter(member_id__in=member_ids).values_list(
            "pk",
            "member_id",
            "plan_id",
            "start",
            "base_status",
            "ended_at",
            "ended_by",
            "trial_end",
            "subscription_id",
            "status",
            "status_rule",
            "managed_by",
            "store_end",
            "ends_at",
        )
    )
    membership_ids = [r[0] for r in rows]
    pauses: dict[int, list[Interval]] = defaultdict(list)
    for mid, start, end, reason in MembershipPause.objects.filter(membership_id__in=membership_ids).values_list(
        "membership_id", "start", "end", "reason"
    ):
        pauses[mid].append(Interval(start, end, reason))
    subscription_ids = {r[8] for r in rows if r[8] is not None}
    subscriptions = {
        pk: SubscriptionFacts(id=ext, status=status, status_since=since, end=end, next_payment=next_payment)
        for pk, ext, status, since, end, next_payment in Subscription.objects.filter(
            pk__in=subscription_ids
        ).values_list("pk", "external_id", "status", "status_since", "end", "next_payment")
    }
    facts: dict[int, list[StoredMembership]] = defaultdict(list)
    for (
        pk,
        member_id,
        plan_id,
        start,
        base_status,
        ended_at,
        ended_by,
        trial_end,
        sub_id,
        status,
        rule,
        managed_by,
        store_end,
        ends_at,
    ) in rows:
        facts[member_id].append(
            StoredMembership(
                pk,
                MembershipFacts(
                    id=str(pk),
                    plan=plans[plan_id],
                    start=start,
                    base_status=base_status,
                    ended_at=ended_at,
                    ended_by=ended_by,
                    pauses=tuple(sorted(pauses.get(pk, ()), key=lambda p: p.start)),
                    trial_end=trial_end,
                    subscription=subscriptions.get(sub_id),
                    store_managed=bool(managed_by),
                    store_end=store_end,
                    ends_at=ends_at,
                ),
                status,
                rule,
            )
        )
    return facts


def membership_states(member: Member, now) -> dict[int, tuple[str, object]]:
    """membership pk -> (plan external id, its MembershipState at `now`), derived live from its facts."""
    from membersync.access.sources import membership_state
    from membersync.catalog.selectors import plan_facts_all

    stored = membership_facts_for([member.pk], plan_facts_all()).get(member.pk, [])
    return {s.pk: (s.facts.plan.id, membership_state(s.facts, now)) for s in stored}
