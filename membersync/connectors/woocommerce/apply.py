"""A WooCommerce delivery applied: its topic mapped to the same services the admin and the scenarios use.

- `subscription.*`: the subscription's whole state (subscription_update); `deleted` (or status trash) deletes it.
- `order.*`: each paid line item (`processing`, `completed`) grants the plans its product or variation grants,
  once, from the payment date; `refunded`, `cancelled`, `failed` (and `deleted`) end what the order granted; a
  refund of some lines ends only those lines' grants. Renewal, switch and resubscribe orders never grant, and
  a line of a subscription product grants nothing by itself: its subscription does.
- `customer.*`: keeps the member's identity current (an email change follows the member); a deleted customer
  is recorded, not erased.
- `user_membership.*` and `membership_plan.*`: see memberships.py.

Every function returns an Outcome: the delivery's status and, in words, what it did.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from membersync.access.rules import SUBSCRIPTION as SUBSCRIPTION_LENGTH
from membersync.actors import Actor
from membersync.catalog.selectors import plans_for_products
from membersync.members import services as members
from membersync.members.models import Order
from membersync.members.subscriptions import subscription_delete, subscription_update
from membersync.people.models import CUSTOMER, Connection, Identity
from membersync.people.services import identity_email_change, member_for_identity

from ..models import Delivery
from ..outcomes import Outcome
from . import payloads
from .ids import order_line_id, order_line_of, order_prefix, subscription_id
from .resources import resource_last
from .store import store_client


def local_offset(connection: Connection) -> timedelta:
    """The store's offset from UTC, for v1 payloads' site-local dates (connection setting `utc_offset_minutes`)."""
    return timedelta(minutes=int(connection.settings.get("utc_offset_minutes", 0) or 0))


def store_actor(connection: Connection) -> Actor:
    return Actor.connection(connection.name)


def customer_member(connection: Connection, customer: payloads.Customer) -> str:
    """The member external id of a store customer (found by identity, else email; else a new member)."""
    found = member_for_identity(
        connection=connection, kind=CUSTOMER, external_id=customer.id, email=customer.email, name=customer.name
    )
    return found.member.external_id


# ---- subscriptions ----


def subscription_apply(
    connection: Connection, payload: Mapping, *, action: str = "updated", source: str = "webhook"
) -> Outcome:
    if action == "deleted" or set(payload) == {"id"}:
        return _subscription_deleted(connection, payloads.deleted_id(payload), source)
    state = payloads.subscription_read(payload, local_offset=local_offset(connection))
    if state.status == "trash":
        return _subscription_deleted(connection, state.id, source)
    last = resource_last(connection, "subscription", state.id)
    seen = last.seen(state=state, modified=state.modified)
    if seen is not None:
        return seen
    _learn_subscription_products(connection, state.products)
    # On a store running Memberships its user memberships are the truth: the subscription is recorded, and
    # makes no membership of its own.
    plans = [] if connection.settings.get("memberships") else plans_for_products(state.products)
    result = subscription_update(
        subscription={
            "id": subscription_id(connection, state.id),
            "member": customer_member(connection, state.customer),
            "plans": [plan.external_id for plan in plans],
            "status": state.status,
            "start": state.start,
            "trial_end": state.trial_end,
            "next_payment": state.next_payment,
            "end": state.end,
            "modified": state.modified,
        },
        actor=store_actor(connection),
        source=source,
    )
    last.record(state=state, modified=state.modified, customer=state.customer)
    granted = ", ".join(plan.external_id for plan in plans) or (
        "no membership of its own (the store's user memberships say)"
        if connection.settings.get("memberships")
        else "no plan (no plan lists its products)"
    )
    text = f"subscription {state.id} is {state.status}; it pays for {granted}"
    return Outcome(Delivery.APPLIED, text, [result.event_id])


def _subscription_deleted(connection: Connection, store_id: str, source: str) -> Outcome:
    last = resource_last(connection, "subscription", store_id)
    result = subscription_delete(
        subscription_id=subscription_id(connection, store_id), actor=store_actor(connection), source=source
    )
    last.record(deleted=True)
    return Outcome(Delivery.APPLIED, f"subscription {store_id} was deleted in the store", [result.event_id])


def _learn_subscription_products(connection: Connection, products: list[str]) -> None:
    """A product seen on a subscription is a subscription product: an order line of it grants nothing itself."""
    known = set(connection.settings.get("subscription_product_ids", []))
    if not set(products) <= known:
        connection.settings["subscription_product_ids"] = sorted(known | set(products))
        Connection.objects.filter(pk=connection.pk).update(settings=connection.settings)


# ---- orders ----


def order_fetch(connection: Connection, payload: Mapping, *, action: str = "updated") -> dict:
    """A paid order with refunds: which of its lines were refunded, read from the store's refunds (the order
    itself does not say)."""
    if action == "deleted" or not payload.get("refunds"):
        return {}
    if str(payload.get("status") or "") not in payloads.PAID_STATUSES:
        return {}
    order_id = payloads.deleted_id(payload)
    refunded = set()
    for page in store_client(connection).pages(f"orders/{order_id}/refunds"):
        for refund in page.items:
            for line in refund.get("line_items") or []:
                for meta in line.get("meta_data") or []:
                    if meta.get("key") == "_refunded_item_id":
                        refunded.add(payloads.store_id(meta.get("value"), field="_refunded_item_id"))
    return {"refunded_lines": sorted(refunded - {""})}


def order_apply(
    connection: Connection,
    payload: Mapping,
    *,
    action: str = "updated",
    refunded_lines=None,
    source: str = "webhook",
) -> Outcome:
    """`refunded_lines`: the ids of the line items refunded so far (read from the store's refunds), if any."""
    if action == "deleted" or set(payload) == {"id"}:
        order_id = payloads.deleted_id(payload)
        resource_last(connection, "order", order_id)  # taken first, as every delivery of the order does
        return _order_end(connection, order_id, _granted_lines(connection, order_id), "deleted in the store", source)
    order = payloads.order_read(payload, local_offset=local_offset(connection))
    last = resource_last(connection, "order", order.id)
    state = (order, sorted(refunded_lines or []))
    seen = last.seen(state=state, modified=order.modified)
    if seen is not None:
        return seen
    if order.status in payloads.ENDING_STATUSES:
        outcome = _order_end(connection, order.id, _granted_lines(connection, order.id), order.status, source)
    elif order.status in payloads.PAID_STATUSES:
        outcome = _order_grant(connection, order, set(refunded_lines or []), source)
    else:
        outcome = Outcome(Delivery.IGNORED, f"order {order.id} is {order.status or 'without a status'}: not paid yet")
    last.record(state=state, modified=order.modified)
    return outcome


def _granted_lines(connection: Connection, order_id: str) -> dict[str, list[str]]:
    """line id -> the MemberSync orders made for it, for a store order."""
    lines: dict[str, list[str]] = {}
    prefix = order_prefix(connection, order_id)
    for external_id in Order.objects.filter(external_id__startswith=prefix).values_list("external_id", flat=True):
        lines.setdefault(order_line_of(connection, order_id, external_id), []).append(external_id)
    return lines


def _order_grant(connection: Connection, order: payloads.OrderState, refunded: set[str], source: str) -> Outcome:
    if order.renewal:
        return Outcome(Delivery.IGNORED, f"order {order.id} was made by Subscriptions: renewals never grant")
    if order.customer is None:
        return Outcome(Delivery.IGNORED, f"order {order.id} is a guest order: no customer to grant anything to")
    if connection.settings.get("memberships"):
        text = f"order {order.id}: the store runs WooCommerce Memberships, whose user memberships say what it granted"
        return Outcome(Delivery.IGNORED, text)
    subscription_products = set(connection.settings.get("subscription_product_ids", []))
    member = customer_member(connection, order.customer)
    said, events = [], []
    for line in order.lines:
        if line.id in refunded:
            continue
        if subscription_products & set(line.products):
            said.append(f"line {line.id} is a subscription product: its subscription grants")
            continue
        for plan in plans_for_products(line.products):
            if plan.length_kind == SUBSCRIPTION_LENGTH:
                said.append(f"plan {plan.external_id} follows a subscription: an order alone does not grant it")
                continue
            external_id = order_line_id(connection, order.id, line.id, plan.external_id)
            result = members.order_complete(
                order_id=external_id,
                member_id=member,
                plan_id=plan.external_id,
                paid_at=order.paid_at,
                actor=store_actor(connection),
                source=source,
            )
            events.append(result.event_id)
            said.append(f"line {line.id} grants {plan.external_id}")
    refunded_lines = {line: ids for line, ids in _granted_lines(connection, order.id).items() if line in refunded}
    ended = _order_end(connection, order.id, refunded_lines, "refunded", source)
    text = f"order {order.id} is {order.status}: " + ("; ".join(said) or "no line grants a plan")
    if ended.events:
        text += f"; {ended.text}"
    return Outcome(Delivery.APPLIED, text, events + ended.events)


def _order_end(
    connection: Connection, order_id: str, lines: dict[str, list[str]], why: str, source: str = "webhook"
) -> Outcome:
    events = []
    for external_ids in lines.values():
        for external_id in external_ids:
            if Order.objects.filter(external_id=external_id, status=Order.REFUNDED).exists():
                continue
            result = members.order_refund(order_id=external_id, actor=store_actor(connection), source=source)
            events.append(result.event_id)
    if not events:
        return Outcome(Delivery.APPLIED, f"order {order_id} is {why}; it had granted nothing still open")
    return Outcome(Delivery.APPLIED, f"order {order_id} is {why}: ended what {len(events)} line(s) granted", events)


# ---- customers ----


def customer_apply(
    connection: Connection, payload: Mapping, *, action: str = "updated", source: str = "webhook"
) -> Outcome:
    if action == "deleted" or set(payload) == {"id"}:
        customer_id = payloads.deleted_id(payload)
        resource_last(connection, "customer", customer_id).record(deleted=True)
        return Outcome(
            Delivery.APPLIED,
            f"customer {customer_id} was deleted in the store: recorded; her member, access and history are kept",
        )
    customer = payloads.customer_read(payload)
    last = resource_last(connection, "customer", customer.id)
    seen = last.seen(state=customer, modified=None)
    if seen is not None:
        return seen
    identity = Identity.objects.filter(connection=connection, kind=CUSTOMER, external_id=customer.id).first()
    if identity is None:
        member = customer_member(connection, customer)
        text = f"customer {customer.id} is member {member}"
    elif customer.email and customer.email.strip().lower() != identity.email.strip().lower():
        change = identity_email_change(identity=identity, email=customer.email)
        text = f"customer {customer.id} changed email: member {change.member.external_id} follows"
    else:
        text = f"customer {customer.id}: nothing that matters for access changed"
    last.record(state=customer, customer=customer)
    return Outcome(Delivery.APPLIED, text)
