"""Events in: store first, then apply to the sources and reconcile the members they touch, in one transaction."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable

from django.db import IntegrityError, transaction

from membersync import clock, memo
from membersync.actors import Actor
from membersync.errors import ServiceError
from membersync.results import APPLIED, DUPLICATE, Applied, ServiceResult

from .models import Event
from .reconciler import Cause, members_reconcile


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

    A duplicate idempotency key is recorded as a duplicate and applied no second time. A refused event
    (ServiceError) changes nothing, is recorded with its error, and the error is raised to the caller.
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
    for attempt in (1, 2):
        try:
            return _store_and_apply(key, fields, actor, apply, given_key=idempotency_key is not None)
        except IntegrityError:
            # Another transaction wrote the same record between this one's read and write (two deliveries of a
            # new subscription at the same moment). Run the event once more: it now finds and updates that record.
            if attempt == 2:
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
        if given_key and Event.objects.filter(idempotency_key=key).exists():
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
