"""Events in: store first, then apply to the sources and reconcile the members they touch, in one transaction."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable

from django.db import IntegrityError, OperationalError, transaction

from membersync import clock, memo
from membersync.actors import Actor
from membersync.errors import ServiceError
from membersync.results import APPLIED, DUPLICATE, Applied, ServiceResult

from .brake import operations_discard_held, operations_release_held  # noqa: F401 (an operator's answer to the brake)
from .models import Event
from .reconciler import Cause, members_reconcile

ATTEMPTS = 3
RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure


def _sqlstate(error: OperationalError) -> str | None:
    cause = error.__cause__
    return getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)


def content_hash(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def event_apply(
    *,
    kind: str,
    payload: dict,
    actor: Actor,
    source: str,
    apply: Callable[[Event], Applied | Iterable[int]],
    idempotency_key: str | None = None,
) -> ServiceResult:
    """Store the event, apply it and reconcile the members it touched, in one transaction.

    `apply` returns an `Applied` (the members it touched and the record it made or changed), or just the
    members' pks.

    A delivery seen before (the same idempotency key with the same content) is recorded as a duplicate and
    applied no second time; the same key with other content is a new delivery (a store's ids can repeat).
    A refused event (ServiceError) changes nothing, is recorded with its error, and the error is raised to the caller.
    """
    now = clock.now()
    digest = content_hash(payload)
    key = idempotency_key or f"{source}:{kind}:{digest}:{now.isoformat()}:{uuid.uuid4().hex}"
    fields = dict(
        kind=kind,
        source=source,
        actor=str(actor)[:200],
        payload=payload,
        content_hash=digest,
        occurred_at=now,
        received_at=now,
    )
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return _store_and_apply(key, fields, actor, apply, given_key=idempotency_key is not None)
        except IntegrityError:
            # Another transaction wrote the same record between this one's read and write (two deliveries of a
            # new subscription at the same moment). Run the event once more: it now finds and updates that record.
            if attempt == ATTEMPTS:
                raise
        except OperationalError as error:
            # PostgreSQL chose this transaction to break a deadlock with another event touching the same members:
            # it was rolled back whole, so running it again is safe.
            if attempt == ATTEMPTS or _sqlstate(error) not in RETRYABLE_SQLSTATES:
                raise
        except ServiceError as error:
            with transaction.atomic():
                Event.objects.create(
                    idempotency_key=f"{key}:refused:{uuid.uuid4().hex}",
                    outcome=Event.REFUSED,
                    error=str(error),
                    **fields,
                )
            raise
    raise AssertionError("unreachable")


def _store_and_apply(key: str, fields: dict, actor: Actor, apply: Callable, *, given_key: bool) -> ServiceResult:
    with transaction.atomic(), memo.scope():
        # A key MemberSync made up is new by construction: only a caller's key can repeat.
        if given_key and Event.objects.filter(idempotency_key=key, content_hash=fields["content_hash"]).exists():
            event = Event.objects.create(
                idempotency_key=f"{key}:duplicate:{uuid.uuid4().hex}", outcome=Event.DUPLICATE, **fields
            )
            return ServiceResult(DUPLICATE, event.pk)
        event = Event.objects.create(idempotency_key=key, **fields)
        applied = apply(event)
        if not isinstance(applied, Applied):
            applied = Applied(members=applied)
        member_ids = tuple(sorted(set(applied.members)))
        if member_ids:
            cause = Cause(f"{fields['kind']} (event {event.pk})", actor, event.pk)
            members_reconcile(member_ids=list(member_ids), now=fields["occurred_at"], cause=cause)
        return ServiceResult(APPLIED, event.pk, applied.value, member_ids)
