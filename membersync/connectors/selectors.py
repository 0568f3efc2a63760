"""Reads of deliveries, for the admin and the command line."""

from __future__ import annotations

from .models import Delivery


def deliveries_list(*, failed: bool = False, limit: int = 50) -> list[Delivery]:
    found = Delivery.objects.select_related("connection").order_by("-pk")
    if failed:
        found = found.filter(status=Delivery.FAILED)
    return list(found[:limit])
