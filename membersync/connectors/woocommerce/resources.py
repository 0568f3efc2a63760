"""The last state applied of each store resource: a delivery equal to it is a duplicate (never "equal to some
earlier delivery": a renewal flicker's third delivery repeats its first), one older than it is stale."""

from __future__ import annotations

import hashlib
from datetime import datetime

from membersync import clock
from membersync.people.models import Connection

from ..models import Delivery, StoreResource
from ..outcomes import Outcome


def state_hash(state) -> str:
    return hashlib.sha256(repr(state).encode()).hexdigest()


def resource_seen(connection: Connection, resource: str, external_id: str, *, state, modified: datetime | None):
    """An Outcome if this state was already applied, or is older than the one that was; else None."""
    known = StoreResource.objects.filter(connection=connection, resource=resource, external_id=external_id).first()
    if known is None:
        return None
    if known.state_hash == state_hash(state) and not known.deleted:
        return Outcome(Delivery.DUPLICATE, f"{resource} {external_id}: equal to the state already applied")
    if modified is not None and known.modified_at is not None and modified < known.modified_at:
        return Outcome(
            Delivery.STALE,
            f"{resource} {external_id}: modified {modified:%Y-%m-%d %H:%M:%S}, before the state already applied "
            f"({known.modified_at:%Y-%m-%d %H:%M:%S}); changes nothing",
        )
    return None


def resource_record(
    connection: Connection,
    resource: str,
    external_id: str,
    *,
    state=None,
    modified: datetime | None = None,
    customer=None,
    deleted: bool = False,
) -> StoreResource:
    known, _ = StoreResource.objects.get_or_create(
        connection=connection,
        resource=resource,
        external_id=external_id,
        defaults={"state_hash": "", "updated_at": clock.now()},
    )
    if state is not None:
        known.state_hash = state_hash(state)
    if modified is not None and (known.modified_at is None or modified > known.modified_at):
        known.modified_at = modified
    if customer is not None:
        known.customer_id = customer.id
    known.deleted = deleted
    known.updated_at = clock.now()
    known.save()
    return known


def resource_customer(connection: Connection, resource: str, external_id: str) -> str:
    """Whose this resource was (a deleted one's delivery names only its id); "" if never seen."""
    known = StoreResource.objects.filter(connection=connection, resource=resource, external_id=external_id).first()
    return known.customer_id if known else ""
