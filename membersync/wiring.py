"""The one place that wires MemberSync together. Read this file to see the whole system.

    events in ──> sources (members: memberships, subscriptions, orders; orgs: seats, licenses; lms: enrollments
                     │          made in LearnDash by hand or adopted)
                     │ source loaders: each member's sources as windows of time
                     v
               the engine (sync): reconciler ──> ledger, outbox ──> sinks (the built-in enrollment table,
                                                                           each connected LearnDash site)

The layers, from the bottom: `access/` (the rules as plain Python), `people/` (members and their identities),
`catalog/` (what can be sold and what it grants), `sync/` (the engine: inbox, reconciler, ledger, outbox, sinks),
then the sources' apps (`members/`, `orgs/`), and on top the entry points (admin, portal, commands, scenarios).
A lower layer never imports a higher one: the engine reaches the sources only through the functions below,
which import them when first called (so that importing this module imports no app).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from membersync.sync.sinks import Sink
    from membersync.sync.sources import LoadedSources

# (member pks, moment) -> each member's source windows and the derived statuses to store (sync/sources.py)
SourceLoader = Callable[[list[int], datetime], "LoadedSources"]
# (subscription pks) -> pks of the members whose access those subscriptions pay for, besides memberships
SubscriptionDependent = Callable[[list[int]], Iterable[int]]
# (order, refunded at, actor, why) -> pks of the members whose access undoing the order's other purchases touches
OrderRefundHandler = Callable[..., Iterable[int]]


@cache
def source_loaders() -> tuple[SourceLoader, ...]:
    """Every kind of record that gives access: memberships, seats and licenses, enrollments made in the LMS, manual
    grants an operator made, CRM tags applied in the CRM or by an operator (tags/)."""
    from membersync.lms.sources import lms_sources
    from membersync.manual.sources import manual_sources
    from membersync.members.sources import membership_sources
    from membersync.orgs.sources import seat_and_license_sources
    from membersync.tags.sources import tag_sources

    return (membership_sources, seat_and_license_sources, lms_sources, manual_sources, tag_sources)


@cache
def sinks() -> dict[str, Sink]:
    """Where operations go, by name: the built-in enrollment table (the embedded LMS)."""
    from membersync.sync.sinks import builtin_sink

    return {"builtin": builtin_sink()}


@cache
def sink_providers() -> tuple[Callable[[], Iterable[Sink]], ...]:
    """Sinks that come and go: one per connected LearnDash site and CRM, and the built-in CRM's tags once the site
    has any tag setting, tag or tag operation (read at each reconcile and outbox pass; sync/sinks.py sinks_all()
    puts them beside the fixed ones)."""
    from membersync.connectors.learndash.sinks import learndash_sinks
    from membersync.tags.remote import crm_sinks
    from membersync.tags.sinks import builtin_crm_sinks

    return (learndash_sinks, crm_sinks, builtin_crm_sinks)


# (moment, worker name) -> how many received deliveries it settled; the worker runs each until it returns 0
InboundJob = Callable[..., int]


@cache
def inbound_jobs() -> tuple[InboundJob, ...]:
    """What the worker applies before anything else: webhook deliveries stored raw when they arrived."""
    from membersync.connectors.deliveries import deliveries_apply

    return (deliveries_apply,)


# (moment, worker name) -> None: work the worker does on a schedule of its own (each job decides when it is due)
PeriodicJob = Callable[..., object]


@cache
def periodic_jobs() -> tuple[PeriodicJob, ...]:
    """What the worker checks each pass after the deliveries: its heartbeat, the operators' alerts and
    retention (ops/jobs.py); a connection's nightly verify against its store or LearnDash site,
    when its settings ask for one (`verify`: report or repair, `verify_hour`); a resync asked through the API; the
    re-reconcile of the members a plan change touched."""
    from membersync.api.resync import resync_jobs_run
    from membersync.connectors.learndash.drift import learndash_drift_checks_run
    from membersync.connectors.woocommerce.drift import drift_checks_run
    from membersync.operations.template_changes import template_change_jobs_run
    from membersync.ops.jobs import ops_jobs_run

    return (ops_jobs_run, drift_checks_run, learndash_drift_checks_run, resync_jobs_run, template_change_jobs_run)


@cache
def subscription_dependents() -> tuple[SubscriptionDependent, ...]:
    """Besides memberships, what a subscription pays for: seat pools and licenses."""
    from membersync.orgs.selectors import members_paid_by

    return (members_paid_by,)


@cache
def order_refund_handlers() -> tuple[OrderRefundHandler, ...]:
    """Besides the membership it granted, what a refunded order takes back: the licenses it bought."""
    from membersync.orgs.services.license_orders import order_licenses_revoke

    return (order_licenses_revoke,)


@cache
def order_admin_inlines() -> tuple[type, ...]:
    """What an order's admin page shows besides the order: the licenses it issued."""
    from membersync.orgs.admin import OrderLicenseInline

    return (OrderLicenseInline,)


@cache
def member_admin_inlines() -> tuple[type, ...]:
    """What a member's admin page shows besides her own apps' inlines: her CRM tags, with their origins
    (people/admin.py adds these to the member admin once the admin is loaded)."""
    from membersync.tags.admin import CrmTagHeldInline, MemberTagInline

    return (CrmTagHeldInline, MemberTagInline)


# (the kept member's row, the absorbed member's row that would collide with it, moment) -> None (people/services.py)
MergeResolver = Callable[..., None]


@cache
def member_merge_resolvers() -> dict[str, MergeResolver]:
    """When two members merge and both have a row of which a member may have one (a role in the same organization,
    a seat of the same type there), how it is settled, by model label. Other models: people.services' default (the
    kept member's row stays)."""
    from membersync.orgs.merge import merge_role_keep_stronger, merge_seat_free_second

    return {"orgs.orgrole": merge_role_keep_stronger, "orgs.seat": merge_seat_free_second}
