"""Retention: raw webhook deliveries and inbox events are personal data kept for a period, then deleted in bulk.

RETENTION_DELIVERY_DAYS and RETENTION_EVENT_DAYS (0: keep forever, the default: how long is the site's legal
decision). A delivery still waiting to be applied is never pruned. Events that explain a membership's history as
of a past date are kept (an admin's membership.create and membership.link, and those a subscription change points
to): pruning them would change what `explain --at` says about the past. The ledger keeps its entries; an entry
whose event was pruned keeps its cause in words.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from membersync.connectors.models import Delivery
from membersync.members.models import SubscriptionChange
from membersync.sync.models import Event

log = logging.getLogger(__name__)
BATCH = 1000
HISTORY_KINDS = ("membership.create", "membership.link")


@dataclass
class Pruned:
    deliveries: int = 0
    events: int = 0


def _delete_in_batches(queryset) -> int:
    total = 0
    while True:
        with transaction.atomic():
            batch = list(queryset.values_list("pk", flat=True)[:BATCH])
            if not batch:
                return total
            queryset.model.objects.filter(pk__in=batch).delete()
        total += len(batch)


def retention_prune(*, now: datetime) -> Pruned:
    """Delete deliveries and events older than their retention period (each batch one transaction)."""
    pruned = Pruned()
    if settings.RETENTION_DELIVERY_DAYS > 0:
        cutoff = now - timedelta(days=settings.RETENTION_DELIVERY_DAYS)
        old = Delivery.objects.filter(received_at__lt=cutoff).exclude(status=Delivery.RECEIVED).order_by("pk")
        pruned.deliveries = _delete_in_batches(old)
    if settings.RETENTION_EVENT_DAYS > 0:
        cutoff = now - timedelta(days=settings.RETENTION_EVENT_DAYS)
        kept_by_history = SubscriptionChange.objects.filter(event__isnull=False).values("event_id")
        old = (
            Event.objects.filter(received_at__lt=cutoff)
            .exclude(kind__in=HISTORY_KINDS, outcome=Event.APPLIED)
            .exclude(pk__in=kept_by_history)
            .order_by("pk")
        )
        pruned.events = _delete_in_batches(old)
    if pruned.deliveries or pruned.events:
        log.info("retention pruned %d deliveries and %d events", pruned.deliveries, pruned.events)
    return pruned
