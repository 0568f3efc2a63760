"""Idempotency-Key on writes: the first answer to a key is stored with a digest of the request, in the same
transaction as the write itself; the same key with the same request gets that answer again (nothing is done
twice), and with another request it is refused with `idempotency_conflict`. Answers are kept per API key, for
API_IDEMPOTENCY_HOURS (24 by default): an older answer is never replayed (its key may be used again), and writes
delete the expired ones, one indexed DELETE at most every PRUNE_EVERY per process."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse

from membersync import clock

from .keys import apikey_authenticate
from .models import IdempotentAnswer

HEADER = "Idempotency-Key"
WRITES = ("POST", "PUT", "PATCH", "DELETE")
MAX_KEY_LENGTH = 200
PRUNE_EVERY = timedelta(minutes=10)
_next_prune: list[datetime | None] = [None]  # this process's, by the site's clock

# The header as the OpenAPI document shows it on every write.
OPENAPI_HEADER = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "schema": {"type": "string", "maxLength": MAX_KEY_LENGTH},
            "description": "the same key with the same request returns the first answer; with another request, "
            "idempotency_conflict",
        }
    ]
}


def _request_hash(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.get_full_path(), request.body):
        digest.update(part if isinstance(part, bytes) else str(part).encode())
        digest.update(b"\0")
    return digest.hexdigest()


def _refusal(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"code": code, "message": message, "field": HEADER}, status=status)


def _replay(answer: IdempotentAnswer, request_hash: str) -> HttpResponse:
    if answer.request_hash != request_hash:
        return _refusal(
            409, "idempotency_conflict", "this Idempotency-Key was used for a different request; use a new key"
        )
    response = JsonResponse(answer.body, status=answer.status, safe=False)
    response["Idempotent-Replay"] = "true"
    return response


def _kept_since(now: datetime) -> datetime:
    return now - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)


def idempotent_answers_prune(*, now: datetime) -> int:
    """Delete the answers older than API_IDEMPOTENCY_HOURS; how many were deleted."""
    deleted, _ = IdempotentAnswer.objects.filter(created_at__lt=_kept_since(now)).delete()
    return deleted


def _prune_now_and_then(now: datetime) -> None:
    due = _next_prune[0]
    if due is not None and due > now and due - now <= PRUNE_EVERY:  # a clock set back starts again
        return
    _next_prune[0] = now + PRUNE_EVERY
    idempotent_answers_prune(now=now)


def idempotent(view):
    """Wrap an API view: writes carrying an Idempotency-Key are answered once per key."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        key_text = request.headers.get(HEADER)
        if request.method not in WRITES or key_text is None:
            return view(request, *args, **kwargs)
        if not key_text.strip() or len(key_text) > MAX_KEY_LENGTH:
            return _refusal(422, "invalid_value", f"an Idempotency-Key is 1 to {MAX_KEY_LENGTH} characters")
        auth = request.headers.get("Authorization", "")
        api_key = apikey_authenticate(auth[7:]) if auth[:7].lower() == "bearer " else None
        if api_key is None:
            return view(request, *args, **kwargs)  # refused by the view itself (401)
        request_hash = _request_hash(request)
        now = clock.now()
        try:
            with transaction.atomic():
                answer = IdempotentAnswer.objects.filter(api_key=api_key, key=key_text).first()
                if answer is not None and answer.created_at >= _kept_since(now):
                    return _replay(answer, request_hash)
                if answer is not None:  # expired: the key is free again
                    answer.delete()
                response = view(request, *args, **kwargs)
                if response.status_code < 500 and response.status_code not in (401, 429):
                    IdempotentAnswer.objects.create(
                        api_key=api_key,
                        key=key_text,
                        request_hash=request_hash,
                        status=response.status_code,
                        body=json.loads(response.content or b"null"),
                        created_at=now,
                    )
        except IntegrityError:
            # The same key arrived twice at once: the other request's write and answer stand, this one's is undone.
            answer = IdempotentAnswer.objects.filter(api_key=api_key, key=key_text).first()
            if answer is None:
                raise
            return _replay(answer, request_hash)
        _prune_now_and_then(now)  # after the write's transaction, never inside it
        return response

    return wrapper
