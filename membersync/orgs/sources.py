"""Seats and licenses as sources of access for the reconciler.

Per batch of members: their seat holdings, the licenses assigned to them, and the licenses assigned to the
organizations they hold seats in, with the subscriptions that pay for them. An organization's license reaches
a person through each seat she holds there, within that seat's window (access/seats.py). A fixed number of
queries.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from membersync.access.seats import HoldingFacts, license_status, license_window, seat_window
from membersync.catalog.selectors import template_rules
from membersync.sync.sources import LoadedSources

from .models import License, LicenseAssignment, SeatHolding
from .selectors import license_facts, paying_subscriptions, seats_or_licenses_held


def seat_and_license_sources(member_ids: list[int], now: datetime) -> LoadedSources:
    loaded = LoadedSources()
    if not seats_or_licenses_held():
        return loaded
    holdings = list(
        SeatHolding.objects.filter(member_id__in=member_ids).values_list(
            "pk",
            "member_id",
            "organization_id",
            "organization__name",
            "seat_type_id",
            "seat_type__name",
            "pool__subscription_id",
            "start",
            "end",
            "ended_by",
        )
    )
    own = list(
        LicenseAssignment.objects.filter(member_id__in=member_ids).values_list(
            "license_id", "member_id", "start", "end", "ended_by"
        )
    )
    org_ids = {h[2] for h in holdings}
    through_org = (
        list(
            LicenseAssignment.objects.filter(organization_id__in=org_ids).values_list(
                "license_id", "organization_id", "start", "end", "ended_by"
            )
        )
        if org_ids
        else []
    )
    if not holdings and not own:
        return loaded

    rules = template_rules()
    license_ids = {a[0] for a in own} | {a[0] for a in through_org}
    licenses = {lic.pk: lic for lic in License.objects.filter(pk__in=license_ids).select_related("license_type")}
    facts = license_facts(list(licenses.values()), rules)
    subs = paying_subscriptions(h[6] for h in holdings)

    holdings_by_org: dict[int, list[tuple[int, HoldingFacts]]] = defaultdict(list)
    org_names: dict[int, str] = {}
    for pk, member_id, org_id, org_name, seat_type_id, seat_type_name, sub_id, start, end, ended_by in holdings:
        holding = HoldingFacts(
            id=str(pk),
            organization=org_name,
            seat_type=seat_type_name,
            start=start,
            end=end,
            ended_by=ended_by,
            subscription=subs.get(sub_id),
        )
        org_names[org_id] = org_name
        holdings_by_org[org_id].append((member_id, holding))
        window = seat_window(holding, rules.get(("seat_type", seat_type_id), ()))
        loaded.windows.setdefault(member_id, []).append(window)

    for license_id, member_id, start, end, ended_by in own:
        window = license_window(facts[license_id], assigned_from=start, assigned_until=end, unassigned_by=ended_by)
        if window is not None:
            loaded.windows.setdefault(member_id, []).append(window)

    for license_id, org_id, start, end, ended_by in through_org:
        for member_id, holding in holdings_by_org.get(org_id, ()):
            window = license_window(
                facts[license_id],
                assigned_from=start,
                assigned_until=end,
                unassigned_by=ended_by,
                through=holding,
                organization=org_names[org_id],
            )
            if window is not None:
                loaded.windows.setdefault(member_id, []).append(window)

    changed = []
    for lic in licenses.values():
        status, rule = license_status(facts[lic.pk], assigned_now=bool(lic.assigned_to), now=now)
        if (status, rule[:300]) != (lic.status, lic.status_rule):
            changed.append(License(pk=lic.pk, status=status, status_rule=rule[:300], status_at=now))
    loaded.status_writes.append((License, changed, ["status", "status_rule", "status_at"]))
    return loaded
