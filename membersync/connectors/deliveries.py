"""Deliveries: stored raw the moment they arrive, applied by the worker, replayable when they failed.

Receiving is one short transaction that stores the delivery and answers: a slow or failing apply never makes
a store disable its webhook. The worker leases received deliveries (like the outbox), reads what it needs from
the store outside any transaction, then applies each delivery in one transaction of its own. A delivery that
fails is kept with its error; nothing a store sends is dropped.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import transaction
from django.db.models import Q

from membersync import clock, memo
from membersync.clients.woocommerce import StoreError, StoreUnavailable
from membersync.errors import ServiceError
from membersync.ops.logs import correlation_bound, delivery_correlation
from membersync.people.models import ACTIVECAMPAIGN, FLUENTCRM, LEARNDASH, WOOCOMMERCE, Connection
from membersync.people.services import connection_delivery_record

from .crm import inbound as crm_inbound
from .learndash import inbound as learndash_inbound
from .models import Delivery
from .outcomes import Outcome
from .woocommerce import apply as woo
from .woocommerce import memberships
from .woocommerce.payloads import PayloadError

log = logging.getLogger(__name__)

# The headers worth keeping with a delivery (WooCommerce's seven, and what the body is).
KEPT_HEADERS = (
    "Content-Type",
    "User-Agent",
    "X-WC-Webhook-Source",
    "X-WC-Webhook-Topic",
    "X-WC-Webhook-Resource",
    "X-WC-Webhook-Event",
    "X-WC-Webhook-Signature",
    "X-WC-Webhook-ID",
    "X-WC-Webhook-Delivery-ID",
)
MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Handler:
    """How one resource's state is applied, from a delivery or an import: `fetch` reads what the store alone
    knows (outside any transaction; may raise StoreUnavailable to be retried), `apply` applies the state with
    it. Both take (connection, payload, action=created|updated|deleted|...)."""

    apply: Callable[..., Outcome]
    fetch: Callable[..., dict] | None = None


WOOCOMMERCE_HANDLERS = {
    "subscription": Handler(woo.subscription_apply),
    "order": Handler(woo.order_apply, fetch=woo.order_fetch),
    "customer": Handler(woo.customer_apply),
    "user_membership": Handler(memberships.user_membership_apply, fetch=memberships.user_membership_fetch),
    "membership_plan": Handler(memberships.membership_plan_apply),
}
# A LearnDash site's companion plugin: by the topic's first part (enrollment, group, quiz ...).
LEARNDASH_HANDLERS = {resource: Handler(apply) for resource, apply in learndash_inbound.APPLY_BY_RESOURCE.items()}
# A CRM's tag changes (connectors/crm/inbound.py): the contact's tags re-read before applying.
CRM_HANDLER = Handler(crm_inbound.crm_apply, fetch=crm_inbound.crm_fetch)


def delivery_receive(*, connection: Connection, headers: Mapping[str, str], body: bytes) -> Delivery:
    """Store a delivery whose signature was checked, exactly as it came; the worker applies it."""
    now = clock.now()
    topic = headers.get("X-WC-Webhook-Topic", "")
    resource, _, action = topic.partition(".")
    with transaction.atomic():
        delivery = Delivery.objects.create(
            connection=connection,
            topic=topic[:64],
            resource=(headers.get("X-WC-Webhook-Resource") or resource)[:32],
            action=(headers.get("X-WC-Webhook-Event") or action)[:32],
            webhook_id=headers.get("X-WC-Webhook-ID", "")[:32],
            delivery_id=headers.get("X-WC-Webhook-Delivery-ID", "")[:128],
            headers={name: headers[name] for name in KEPT_HEADERS if name in headers},
            body=body,
            received_at=now,
            next_attempt_at=now,
        )
        connection_delivery_record(connection=connection, at=now)
    return delivery


# Deliveries that change the catalog: the catalog read for the deliveries before them is read again after them.
CATALOG_RESOURCES = frozenset({"membership_plan"})


def deliveries_apply(*, now: datetime, worker: str, limit: int = 100) -> int:
    """Lease due deliveries, oldest first, and apply each; returns how many were settled (not left to retry).

    The lease's deliveries share one memo scope: the catalog (and whether anyone holds a seat or a license) is
    read once for all of them, as a reconcile batch reads it once for its members, and again after a delivery
    that changes it."""
    settled = 0
    leased = _lease(now, worker, limit)
    while leased:
        with memo.scope():
            while leased:
                delivery = leased.pop(0)
                # Every line logged while it is applied (its events, the reconcile) carries the delivery's id,
                # the same as the web server's line when it was received (ops/logs.py).
                with correlation_bound(delivery_correlation(delivery.pk)):
                    status = delivery_apply(delivery, now=now)
                    log.info("delivery %s from %s: %s", delivery.pk, delivery.connection.name, status)
                if status != Delivery.RECEIVED:
                    settled += 1
                if delivery.resource in CATALOG_RESOURCES:
                    break
    return settled


def _lease(now: datetime, worker: str, limit: int) -> list[Delivery]:
    lease_until = now + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    with transaction.atomic():
        due = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=Delivery.RECEIVED, next_attempt_at__lte=now)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
            .order_by("pk")
            .values_list("pk", flat=True)[:limit]
        )
        Delivery.objects.filter(pk__in=due).update(leased_until=lease_until, leased_by=worker)
    return list(Delivery.objects.select_related("connection").filter(pk__in=due, leased_by=worker).order_by("pk"))


def delivery_apply(delivery: Delivery, *, now: datetime) -> str:
    """Apply one delivery and record what it did; returns its new status (RECEIVED: it will be retried)."""
    try:
        payload = _decoded(delivery)
    except (ValueError, UnicodeDecodeError) as error:
        return _settle(delivery, now, Outcome(Delivery.FAILED, ""), error=f"the body is not JSON: {error}")
    if _vanished(payload):
        text = (
            "the store sent no state: the resource was deleted before this delivery was sent "
            "(its deletion arrives as a delivery of its own)"
        )
        return _settle(delivery, now, Outcome(Delivery.IGNORED, text))
    if not isinstance(payload, dict):
        return _settle(delivery, now, Outcome(Delivery.FAILED, ""), error="the body is JSON but not an object")
    handler = _handler(delivery)
    if handler is None:
        text = f"topic {delivery.topic or '(none)'} says nothing MemberSync follows"
        return _settle(delivery, now, Outcome(Delivery.IGNORED, text))
    try:
        action = delivery.action or "updated"
        extra = handler.fetch(delivery.connection, payload, action=action) if handler.fetch else {}
        with transaction.atomic(), memo.scope():  # the catalog read once for the delivery (or its lease)
            outcome = handler.apply(delivery.connection, payload, action=action, **extra)
    except StoreUnavailable as error:
        return _retry_later(delivery, now, f"the store could not be read: {error}")
    except (ServiceError, PayloadError, StoreError) as error:
        return _settle(delivery, now, Outcome(Delivery.FAILED, ""), error=str(error))
    except Exception as error:  # kept with its error and replayable, never lost
        log.exception("delivery %s failed to apply", delivery.pk)
        return _settle(delivery, now, Outcome(Delivery.FAILED, ""), error=f"{type(error).__name__}: {error}")
    return _settle(delivery, now, outcome)


def _vanished(payload) -> bool:
    """What WooCommerce sends for a resource deleted before its queued delivery ran: `[]`, or its REST API's
    not-found error object instead of the resource."""
    if payload == []:
        return True
    return isinstance(payload, dict) and {"code", "message", "data"} <= set(payload) and "id" not in payload


def _decoded(delivery: Delivery):
    """The body as JSON, or as a form (ActiveCampaign's webhooks: keys such as `contact[id]` kept flat)."""
    if delivery.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
        return dict(parse_qsl(bytes(delivery.body).decode("utf-8"), keep_blank_values=True))
    return json.loads(bytes(delivery.body))


def _handler(delivery: Delivery) -> Handler | None:
    if delivery.connection.kind in (ACTIVECAMPAIGN, FLUENTCRM):
        return CRM_HANDLER
    if delivery.connection.kind == LEARNDASH:
        return LEARNDASH_HANDLERS.get(delivery.resource)
    if delivery.connection.kind != WOOCOMMERCE:
        return None
    return WOOCOMMERCE_HANDLERS.get(delivery.resource)


def _settle(delivery: Delivery, now: datetime, outcome: Outcome, *, error: str = "") -> str:
    Delivery.objects.filter(pk=delivery.pk).update(
        status=outcome.status,
        outcome=outcome.text[:4000],
        error=error[:4000],
        attempts=delivery.attempts + 1,
        applied_at=now,
        leased_until=None,
        next_attempt_at=None,
    )
    return outcome.status


def _retry_later(delivery: Delivery, now: datetime, error: str) -> str:
    attempts = delivery.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        return _settle(delivery, now, Outcome(Delivery.FAILED, ""), error=f"{error} (gave up after {attempts} tries)")
    Delivery.objects.filter(pk=delivery.pk).update(
        attempts=attempts,
        error=error[:4000],
        next_attempt_at=now + timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600)),
        leased_until=None,
    )
    return Delivery.RECEIVED


def deliveries_replay(*, delivery_ids: Iterable[int] = (), failed: bool = False, now: datetime) -> list[Delivery]:
    """Apply these deliveries (or every failed one) again, now, in the order they arrived."""
    chosen = Delivery.objects.filter(pk__in=list(delivery_ids))
    if failed:
        chosen = chosen | Delivery.objects.filter(status=Delivery.FAILED)
    replayed = list(chosen.select_related("connection").order_by("pk"))
    for delivery in replayed:
        Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.RECEIVED, next_attempt_at=now)
        delivery.status = delivery_apply(delivery, now=now)
    return replayed
