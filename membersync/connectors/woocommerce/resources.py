"""The last state applied of each store resource: a delivery equal to it is a duplicate (never "equal to some
earlier delivery": a renewal flicker's third delivery repeats its first), one older than it is stale.

A handler reads it once (`resource_last`), asks whether its state was `seen`, and `record`s what it applied: one
read, then one INSERT or one UPDATE of the columns that changed."""

from __future__ import annotations

import hashlib
from datetime import datetime

from django.db import transaction

from membersync import clock
from membersync.people.models import Connection

from ..models import Delivery, StoreResource
from ..outcomes import Outcome


def state_hash(state) -> str:
    return hashlib.sha256(repr(state).encode()).hexdigest()


class LastState:
    """One resource's last state applied (`row`: None if never seen), read at the start of applying a delivery."""

    def __init__(self, connection: Connection, resource: str, external_id: str, row: StoreResource | None):
        self.connection, self.resource, self.external_id, self.row = connection, resource, external_id, row
        self._hashed: tuple[object, str] | None = None

    @property
    def customer_id(self) -> str:
        """Whose this resource was (a deleted one's delivery names only its id); "" if never seen."""
        return self.row.customer_id if self.row else ""

    def _hash(self, state) -> str:
        if self._hashed is None or self._hashed[0] is not state:
            self._hashed = (state, state_hash(state))
        return self._hashed[1]

    def seen(self, *, state, modified: datetime | None) -> Outcome | None:
        """An Outcome if this state was already applied, or is older than the one that was; else None."""
        known, what = self.row, f"{self.resource} {self.external_id}"
        if known is None:
            return None
        if known.state_hash == self._hash(state) and not known.deleted:
            return Outcome(Delivery.DUPLICATE, f"{what}: equal to the state already applied")
        if modified is not None and known.modified_at is not None and modified < known.modified_at:
            return Outcome(
                Delivery.STALE,
                f"{what}: modified {modified:%Y-%m-%d %H:%M:%S}, before the state already applied "
                f"({known.modified_at:%Y-%m-%d %H:%M:%S}); changes nothing",
            )
        return None

    def record(self, *, state=None, modified: datetime | None = None, customer=None, deleted: bool = False) -> None:
        """This state was applied: keep it as the last one (a modification date never moves back)."""
        known = self.row
        values = {"deleted": deleted, "updated_at": clock.now()}
        if state is not None:
            values["state_hash"] = self._hash(state)
        if modified is not None and (known is None or known.modified_at is None or modified > known.modified_at):
            values["modified_at"] = modified
        if customer is not None:
            values["customer_id"] = customer.id
        if known is None:
            self.row = StoreResource.objects.create(
                connection=self.connection,
                resource=self.resource,
                external_id=self.external_id,
                **{"state_hash": "", **values},
            )
            return
        changed = {name: value for name, value in values.items() if getattr(known, name) != value}
        StoreResource.objects.filter(pk=known.pk).update(**changed)
        for name, value in changed.items():
            setattr(known, name, value)


def resource_last(connection: Connection, resource: str, external_id: str) -> LastState:
    """Read the last state applied of this resource. On PostgreSQL it stays locked until the transaction ends, so
    two workers never apply deliveries of one resource at once (SQLite runs one writing transaction at a time)."""
    db = transaction.get_connection()
    if db.vendor == "postgresql" and db.in_atomic_block:
        name = f"store-resource:{connection.pk}:{resource}:{external_id}"
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with db.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
    row = StoreResource.objects.filter(connection=connection, resource=resource, external_id=external_id).first()
    return LastState(connection, resource, external_id, row)
