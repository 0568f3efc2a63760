"""Drift: where MemberSync and the store no longer agree, found by reading the store's current state (a webhook
lost, a store that disabled its webhook after failures, a change made while MemberSync was down), and repaired
by applying the store's state through the same handlers as deliveries.

    report = woocommerce_verify(connection)                # every difference, in words
    report = woocommerce_verify(connection, repair=True)   # and the store's state applied for each

What is compared:
- subscriptions: each of the store's against MemberSync's (status, start, trial end, next payment, end, the
  plans its products pay for, whose it is); one MemberSync had from this store that the store no longer lists
  (deleted, or in the trash) and is not deleted in MemberSync;
- orders: each paid one's lines that grant a plan (granted, and not refunded, in MemberSync), each refunded,
  cancelled or failed one's grants (ended), each refunded line's grant (ended); one the store no longer has
  whose grants are open;
- user memberships (a connection that follows WooCommerce Memberships): each of the store's against the
  membership it owns in MemberSync (running, paused or ended as the store says, its end, plan and member); one
  the store no longer has that MemberSync still has.

Repairing clears the record of the last state applied for that object (so the store's state is not taken for
a duplicate), then applies the store's state as a delivery, in one transaction per object, and compares again.
Reads from the store are never inside a transaction.

Run nightly by the worker when configured: connection setting `verify` = "report" or "repair", at
`verify_hour` (UTC, default 3). `verify_due(connection, now)` says whether a run is due; `drift_checks_run(now=)`
runs every due one (claiming it, so two workers never run the same), recording each in DriftCheck.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction

from membersync import clock
from membersync.access.rules import SUBSCRIPTION as SUBSCRIPTION_LENGTH
from membersync.catalog.selectors import plans_for_products
from membersync.clients.woocommerce import MAX_PER_PAGE, StoreError, StoreNotFound, WooCommerceClient
from membersync.errors import ServiceError
from membersync.members.models import Membership, Order, Subscription
from membersync.members.store_memberships import STORE_STATUSES
from membersync.people.models import CUSTOMER, WOOCOMMERCE, Connection, Identity

from ..models import DriftCheck, StoreResource
from . import payloads
from .apply import local_offset
from .backfill import PatientReader, StoreStopped, list_order
from .ids import order_line_id, order_line_of, order_prefix, subscription_id
from .memberships import follows_memberships, store_plan_id
from .store import store_client

log = logging.getLogger(__name__)

VERIFY_MODES = ("report", "repair")
DEFAULT_VERIFY_HOUR = 3  # UTC


@dataclass
class Difference:
    resource: str  # subscription, order, user_membership
    external_id: str
    text: str  # in words: what the store says, what MemberSync has
    repairable: bool = True
    repaired: str = ""  # after a repair: what applying the store's state did
    still: str = ""  # after a repair: what still differs ("" when nothing)
    payload: Mapping | None = field(default=None, repr=False)  # the store's state to apply
    action: str = "updated"
    extra: dict = field(default_factory=dict, repr=False)  # what the handler's fetch read


@dataclass
class VerifyReport:
    connection: str
    repair: bool
    compared: dict[str, int] = field(default_factory=dict)  # resource -> objects of the store compared
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped: str = ""

    @property
    def repaired(self) -> int:
        return sum(1 for d in self.differences if d.repaired and not d.still)

    def lines(self) -> list[str]:
        out = []
        for d in self.differences:
            out.append(f"{d.resource} {d.external_id}: {d.text}")
            if d.repaired:
                out.append(f"    repaired: {d.repaired}" + (f"; still differs: {d.still}" if d.still else ""))
            elif self.repair and not d.repairable:
                out.append("    not repaired: applying the store's state cannot undo this; correct it by hand")
        return out


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "none"


# ---- comparing one object ------------------------------------------------------------------------------------


def subscription_differences(connection: Connection, payload: Mapping) -> list[str]:
    """What MemberSync has of this subscription that is not what the store says, in words ([] when in step)."""
    state = payloads.subscription_read(payload, local_offset=local_offset(connection))
    sub = (
        Subscription.objects.filter(external_id=subscription_id(connection, state.id)).select_related("member").first()
    )
    if state.status == "trash":
        if sub is not None and sub.status != "trash":
            return [f"is deleted in the store, {sub.status} in MemberSync"]
        return []
    if sub is None:
        return [f"is {state.status} in the store (customer {state.customer.id}), unknown to MemberSync"]
    said = []
    if sub.status != state.status:
        said.append(f"is {state.status} in the store, {sub.status} in MemberSync")
    for name, theirs, ours in (
        ("next payment", state.next_payment, sub.next_payment),
        ("end", state.end, sub.end),
    ):
        if theirs != ours:
            said.append(f"its {name} is {_when(theirs)} in the store, {_when(ours)} in MemberSync")
    if state.start is not None and state.start != sub.start:
        said.append(f"it starts {_when(state.start)} in the store, {_when(sub.start)} in MemberSync")
    if state.trial_end is not None and state.trial_end != sub.trial_end:
        said.append(f"its trial ends {_when(state.trial_end)} in the store, {_when(sub.trial_end)} in MemberSync")
    # On a store running Memberships, its user memberships say what a subscription pays for (apply.py).
    paid_for = [] if follows_memberships(connection) else plans_for_products(state.products)
    wanted = sorted(p.external_id for p in paid_for)
    has = sorted(sub.plans.values_list("external_id", flat=True))
    if wanted != has:
        said.append(
            f"its products pay for {', '.join(wanted) or 'no plan'} in the store, "
            f"{', '.join(has) or 'no plan'} in MemberSync"
        )
    identity = Identity.objects.filter(connection=connection, kind=CUSTOMER, external_id=state.customer.id).first()
    if identity is not None and identity.member_id != sub.member_id:
        said.append(
            f"it is customer {state.customer.id}'s (member {identity.member.external_id}) in the store, "
            f"member {sub.member.external_id}'s in MemberSync"
        )
    return said


@dataclass(frozen=True)
class _Said:
    text: str
    repairable: bool = True


def order_differences(connection: Connection, payload: Mapping, refunded_lines=()) -> list[_Said]:
    """What MemberSync granted for this order that is not what the store's status and refunds say."""
    order = payloads.order_read(payload, local_offset=local_offset(connection))
    ours = dict(
        Order.objects.filter(external_id__startswith=order_prefix(connection, order.id)).values_list(
            "external_id", "status"
        )
    )
    open_ = {external_id for external_id, status in ours.items() if status == Order.COMPLETED}
    said: list[_Said] = []
    if order.status in payloads.ENDING_STATUSES:
        for external_id in sorted(open_):
            said.append(_Said(f"is {order.status} in the store; {_grant(external_id)} is still open in MemberSync"))
        return said
    if order.status not in payloads.PAID_STATUSES:
        for external_id in sorted(open_):
            said.append(
                _Said(
                    f"is {order.status or 'without a status'} in the store, not paid; {_grant(external_id)} is "
                    "open in MemberSync",
                    repairable=False,
                )
            )
        return said
    refunded = set(refunded_lines)
    for external_id in sorted(open_):
        line_id = order_line_of(connection, order.id, external_id)
        if line_id in refunded:
            said.append(_Said(f"line {line_id} is refunded in the store; {_grant(external_id)} is still open"))
    if order.renewal or order.customer is None or follows_memberships(connection):
        return said  # never grants (on a Memberships store, its user memberships say what an order granted)
    subscription_products = set(connection.settings.get("subscription_product_ids", []))
    for line in order.lines:
        if line.id in refunded or subscription_products & set(line.products):
            continue
        for plan in plans_for_products(line.products):
            if plan.length_kind == SUBSCRIPTION_LENGTH:
                continue
            external_id = order_line_id(connection, order.id, line.id, plan.external_id)
            if external_id not in ours:
                said.append(
                    _Said(
                        f"is {order.status} in the store: line {line.id} grants {plan.external_id}, "
                        "which MemberSync never granted"
                    )
                )
            elif ours[external_id] == Order.REFUNDED:
                said.append(
                    _Said(
                        f"is {order.status} in the store and line {line.id} is not refunded there; MemberSync "
                        f"ended its {plan.external_id} as refunded",
                        repairable=False,
                    )
                )
    return said


def _grant(external_id: str) -> str:
    line_id, plan_id = external_id.rsplit("/", 2)[1:]
    return f"line {line_id}'s grant of {plan_id}"


def store_membership_id(connection: Connection, store_id: str) -> str:
    """The external id of the membership a store's user membership owns (members.store_memberships)."""
    return f"{connection.name}/um/{store_id}"


def user_membership_differences(connection: Connection, payload: Mapping) -> list[str]:
    """What MemberSync has of a store-owned membership that is not what the store says ([] when in step)."""
    state = payloads.user_membership_read(payload, local_offset=local_offset(connection))
    membership = (
        Membership.objects.filter(external_id=store_membership_id(connection, state.id))
        .select_related("plan", "member")
        .first()
    )
    if membership is None:
        return [f"is {state.status} in the store (customer {state.customer_id}), unknown to MemberSync"]
    said = []
    ours = STORE_STATUSES[state.status]
    if ours in ("expired", "cancelled"):
        if membership.ended_at is None or membership.base_status != ours:
            said.append(f"is {state.status} in the store, still running in MemberSync ({membership.base_status})")
    else:
        paused = membership.pauses.filter(end__isnull=True).exists()
        if membership.ended_at is not None:
            said.append(f"is {state.status} in the store, ended ({membership.base_status}) in MemberSync")
        elif ours == "paused" and not paused:
            said.append("is paused in the store, not paused in MemberSync")
        elif ours != "paused" and paused:
            said.append(f"is {state.status} in the store, paused in MemberSync")
        elif ours != "paused" and membership.base_status != ours:
            said.append(f"is {state.status} in the store, {membership.base_status} in MemberSync")
        if state.end != membership.store_end:
            said.append(f"it ends {_when(state.end)} in the store, {_when(membership.store_end)} in MemberSync")
    plan = store_plan_id(connection, state.plan_id)
    if membership.plan.external_id != plan:
        said.append(f"it is of plan {plan} in the store, {membership.plan.external_id} in MemberSync")
    identity = Identity.objects.filter(connection=connection, kind=CUSTOMER, external_id=state.customer_id).first()
    if identity is not None and identity.member_id != membership.member_id:
        said.append(
            f"it is customer {state.customer_id}'s (member {identity.member.external_id}) in the store, "
            f"member {membership.member.external_id}'s in MemberSync"
        )
    return said


# ---- verifying a store ---------------------------------------------------------------------------------------


def woocommerce_verify(
    connection: Connection,
    *,
    repair: bool = False,
    client: WooCommerceClient | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> VerifyReport:
    """Compare the store's current state with MemberSync's (see the module's docstring); with `repair`, apply the
    store's state for each difference. Never raises for the store's failures: `stopped` says why it stopped."""
    connection.refresh_from_db(fields=["settings"])
    run = _Verify(connection, repair, client or store_client(connection), sleep)
    try:
        run.all()
    except StoreStopped as stopped:
        run.report.stopped = str(stopped)
    finally:
        if client is None:
            run.client.close()
    return run.report


class _Verify:
    def __init__(self, connection: Connection, repair: bool, client: WooCommerceClient, sleep):
        from ..deliveries import WOOCOMMERCE_HANDLERS

        self.handlers = WOOCOMMERCE_HANDLERS
        self.connection = connection
        self.repair = repair
        self.client = client
        self.reader = PatientReader(connection.name, sleep)
        self.report = VerifyReport(connection.name, repair)

    def read(self, call: Callable, where: str):
        return self.reader.call(call, where=where, then="Run verify again later.")

    def pages(self, route: str):
        number = 1
        while True:
            where = f"at page {number} of {route}"

            def one(number=number):
                return next(
                    iter(self.client.pages(route, per_page=MAX_PER_PAGE, start_page=number, params=list_order(route)))
                )

            try:
                page = self.read(one, where)
            except StoreError as error:
                raise StoreStopped(f"the store could not be read {where}: {error}") from None
            yield from page.items
            if page.is_last or not page.items:
                return
            number += 1

    def all(self) -> None:
        if self.read(lambda: self.client.has_route("subscriptions"), "asking for subscriptions"):
            self.subscriptions()
        else:
            self.report.notes.append("subscriptions: not compared (the store does not run WooCommerce Subscriptions)")
        if follows_memberships(self.connection):
            self.user_memberships()
        self.orders()

    # -- subscriptions -----------------------------------------------------------------------------------------

    def subscriptions(self) -> None:
        seen = set()
        self.report.compared["subscription"] = 0
        for payload in self.pages("subscriptions"):
            self.report.compared["subscription"] += 1
            object_id = str(payload.get("id", "?"))
            seen.add(object_id)
            self.subscription(object_id, payload)
        for object_id in self._known_not_listed("subscription", seen):
            sub = Subscription.objects.filter(external_id=subscription_id(self.connection, object_id)).first()
            if sub is None or sub.status == "trash":
                continue
            payload = self._get("subscriptions", object_id)
            if payload is None:
                self.differ(
                    Difference(
                        "subscription",
                        object_id,
                        f"is no longer in the store, {sub.status} in MemberSync",
                        payload={"id": int(object_id)},
                        action="deleted",
                    ),
                    compare=lambda pk=sub.pk: [s for s in [Subscription.objects.get(pk=pk).status] if s != "trash"],
                )
            else:
                self.subscription(object_id, payload)

    def subscription(self, object_id: str, payload: Mapping) -> None:
        try:
            said = subscription_differences(self.connection, payload)
        except (payloads.PayloadError, ServiceError) as error:
            self.report.notes.append(f"subscription {object_id}: the store's state cannot be read: {error}")
            return
        if said:
            action = "deleted" if payload.get("status") == "trash" else "updated"
            self.differ(
                Difference("subscription", object_id, "; ".join(said), payload=payload, action=action),
                compare=lambda: subscription_differences(self.connection, payload),
            )

    # -- orders ------------------------------------------------------------------------------------------------

    def orders(self) -> None:
        seen = set()
        self.report.compared["order"] = 0
        for payload in self.pages("orders"):
            self.report.compared["order"] += 1
            object_id = str(payload.get("id", "?"))
            seen.add(object_id)
            self.order(object_id, payload)
        for object_id in self._known_not_listed("order", seen):
            if not Order.objects.filter(
                external_id__startswith=order_prefix(self.connection, object_id), status=Order.COMPLETED
            ).exists():
                continue
            payload = self._get("orders", object_id)
            if payload is None or payload.get("status") == "trash":
                gone = "is no longer in the store" if payload is None else "is in the store's trash"
                self.differ(
                    Difference(
                        "order",
                        object_id,
                        f"{gone}; what it granted is still open in MemberSync",
                        payload={"id": int(object_id)},
                        action="deleted",
                    ),
                    compare=lambda object_id=object_id: [
                        "still open"
                        for _ in Order.objects.filter(
                            external_id__startswith=order_prefix(self.connection, object_id), status=Order.COMPLETED
                        )
                    ],
                )
            else:
                self.order(object_id, payload)

    def order(self, object_id: str, payload: Mapping) -> None:
        handler = self.handlers["order"]
        try:
            extra = self.read(lambda: handler.fetch(self.connection, payload, action="updated"), f"order {object_id}")
        except StoreError as error:
            self.report.notes.append(f"order {object_id}: its refunds could not be read: {error}")
            return
        refunded = extra.get("refunded_lines", [])
        try:
            said = order_differences(self.connection, payload, refunded)
        except (payloads.PayloadError, ServiceError) as error:
            self.report.notes.append(f"order {object_id}: the store's state cannot be read: {error}")
            return
        if said:
            self.differ(
                Difference(
                    "order",
                    object_id,
                    "; ".join(s.text for s in said),
                    repairable=any(s.repairable for s in said),
                    payload=payload,
                    extra=extra,
                ),
                compare=lambda: [s.text for s in order_differences(self.connection, payload, refunded)],
            )

    # -- user memberships --------------------------------------------------------------------------------------

    def user_memberships(self) -> None:
        if not self.read(lambda: self.client.has_route("memberships/members"), "asking for user memberships"):
            self.report.notes.append("user memberships: not compared (the store does not run WooCommerce Memberships)")
            return
        seen = set()
        self.report.compared["user_membership"] = 0
        for payload in self.pages("memberships/members"):
            self.report.compared["user_membership"] += 1
            object_id = str(payload.get("id", "?"))
            seen.add(object_id)
            self.user_membership(object_id, payload)
        for object_id in self._known_not_listed("user_membership", seen):
            payload = self._get("memberships/members", object_id)
            if payload is not None:
                self.user_membership(object_id, payload)
                continue
            membership = Membership.objects.filter(external_id=store_membership_id(self.connection, object_id)).first()
            if membership is None:
                continue
            self.differ(
                Difference(
                    "user_membership",
                    object_id,
                    f"is no longer in the store; MemberSync still has it ({membership.plan.external_id})",
                    payload={"id": int(object_id)},
                    action="deleted",
                ),
                compare=lambda object_id=object_id: [
                    "still there"
                    for _ in Membership.objects.filter(external_id=store_membership_id(self.connection, object_id))
                ],
            )

    def user_membership(self, object_id: str, payload: Mapping) -> None:
        try:
            said = user_membership_differences(self.connection, payload)
        except (payloads.PayloadError, ServiceError) as error:
            self.report.notes.append(f"user membership {object_id}: the store's state cannot be read: {error}")
            return
        if said:
            self.differ(
                Difference("user_membership", object_id, "; ".join(said), payload=payload),
                compare=lambda: user_membership_differences(self.connection, payload),
            )

    # -- differences and repairs -------------------------------------------------------------------------------

    def differ(self, difference: Difference, *, compare: Callable[[], list[str]]) -> None:
        self.report.differences.append(difference)
        if not self.repair or not difference.repairable:
            return
        handler = self.handlers[difference.resource]
        try:
            with transaction.atomic():
                # Forget the last state applied, so that the store's state is applied, not taken for a duplicate.
                StoreResource.objects.filter(
                    connection=self.connection, resource=difference.resource, external_id=difference.external_id
                ).update(state_hash="")
                outcome = handler.apply(
                    self.connection, difference.payload, action=difference.action, source="verify", **difference.extra
                )
        except (ServiceError, payloads.PayloadError, StoreError) as error:
            difference.repaired = f"failed: {error}"
            difference.still = difference.text
            return
        except Exception as error:
            log.exception("repairing %s %s failed", difference.resource, difference.external_id)
            difference.repaired = f"failed: {type(error).__name__}: {error}"
            difference.still = difference.text
            return
        difference.repaired = f"{outcome.status}: {outcome.text}"
        difference.still = "; ".join(compare())

    def _known_not_listed(self, resource: str, seen: set[str]) -> list[str]:
        """Objects MemberSync had from this store, not deleted, that the store's lists no longer show."""
        known = StoreResource.objects.filter(connection=self.connection, resource=resource, deleted=False)
        return sorted(set(known.values_list("external_id", flat=True)) - seen, key=lambda i: (len(i), i))

    def _get(self, route: str, object_id: str) -> dict | None:
        """The object as the store has it now; None when it has none by that id."""
        try:
            return self.read(lambda: self.client.get(route, object_id), f"reading {route}/{object_id}")
        except StoreNotFound:
            return None
        except StoreError as error:
            raise StoreStopped(f"the store could not be read for {route}/{object_id}: {error}") from None


# ---- nightly -------------------------------------------------------------------------------------------------


def verify_mode(connection: Connection) -> str:
    """ "report" or "repair" when the worker verifies this connection nightly, else ""."""
    mode = str(connection.settings.get("verify") or "")
    return mode if mode in VERIFY_MODES else ""


def _slot(connection: Connection, now: datetime) -> datetime:
    """The start of the current nightly slot: today's verify hour (UTC) if it has passed, else yesterday's."""
    hour = connection.settings.get("verify_hour", DEFAULT_VERIFY_HOUR)
    try:
        hour = min(max(int(hour), 0), 23)
    except (TypeError, ValueError):
        hour = DEFAULT_VERIFY_HOUR
    today = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    return today if now >= today else today - timedelta(days=1)


def verify_due(connection: Connection, now: datetime) -> bool:
    """Whether the worker should verify this connection now: it is a WooCommerce connection configured to be
    verified nightly (setting `verify`), and no nightly check has started since today's `verify_hour`."""
    if connection.kind != WOOCOMMERCE or not verify_mode(connection):
        return False
    return not DriftCheck.objects.filter(
        connection=connection, nightly=True, started_at__gte=_slot(connection, now)
    ).exists()


def _claim(connection: Connection, now: datetime) -> DriftCheck | None:
    with transaction.atomic():
        Connection.objects.select_for_update().filter(pk=connection.pk).first()  # one worker at a time
        if not verify_due(connection, now):
            return None
        return DriftCheck.objects.create(
            connection=connection, started_at=now, nightly=True, repair=verify_mode(connection) == "repair"
        )


def drift_check_record(check: DriftCheck, report: VerifyReport, *, finished_at: datetime) -> DriftCheck:
    check.finished_at = finished_at
    check.differences = len(report.differences)
    check.repaired = report.repaired
    check.report = "\n".join(report.lines() + report.notes)[:100_000]
    check.error = report.stopped
    check.save()
    return check


def drift_checks_run(*, now: datetime, worker: str = "", **_) -> int:
    """Verify every connection whose nightly check is due (each claimed first, so two workers never run the
    same one); returns how many ran. Store failures are recorded on the check, never raised."""
    ran = 0
    for connection in Connection.objects.filter(kind=WOOCOMMERCE).order_by("pk"):
        if not verify_due(connection, now):
            continue
        check = _claim(connection, now)
        if check is None:
            continue
        try:
            report = woocommerce_verify(connection, repair=check.repair)
        except Exception as error:  # recorded, and the worker goes on
            log.exception("nightly verify of %s failed", connection.name)
            report = VerifyReport(connection.name, check.repair, stopped=f"{type(error).__name__}: {error}")
        drift_check_record(check, report, finished_at=clock.now())
        ran += 1
    return ran
