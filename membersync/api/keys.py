"""API keys: made, revoked, and recognised on each request.

A token is `ms_<prefix>_<secret>`: the prefix (public, shown in lists) finds the row, and the SHA-256 of the whole
token is compared with the stored one in constant time. A web process keeps a key it verified for
API_KEY_CACHE_SECONDS (5 by default), so a busy key costs no query per request; a revocation therefore reaches the
other processes within that time (the revoking process at once). Its last use is written at most once a minute, by
a conditional UPDATE, so a busy key costs no write per request.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q

from membersync import clock
from membersync.actors import Actor
from membersync.errors import ServiceError
from membersync.lookups import by_external_id
from membersync.orgs.models import Organization

from .models import ADMIN, SCOPES, ApiKey

TOKEN_START = "ms_"
LAST_USED_EVERY = timedelta(minutes=1)
KEPT_MAX = 1_000

# Keys this process verified lately: the token's digest -> (until when, on the monotonic clock; the key). A cache's
# age, not a moment of the site's time: the monotonic clock, which no scenario or test sets.
_kept: dict[str, tuple[float, ApiKey]] = {}
_monotonic = time.monotonic


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def apikey_create(*, name: str, scope: str, org_id: str | None = None, rate_per_minute: int = 0) -> tuple[ApiKey, str]:
    """A new key and its token (shown once: only its digest is kept). An organization's key is read or write:
    it acts as that organization's manager, never for the whole site."""
    if scope not in SCOPES:
        raise ServiceError(
            "invalid_value", f"unknown scope {scope!r}; choose one of {', '.join(SCOPES)}", field="scope"
        )
    if not name or not name.replace("-", "").replace("_", "").isalnum():
        raise ServiceError("invalid_value", "a key's name is letters, digits, - and _", field="name")
    if rate_per_minute < 0:
        raise ServiceError("invalid_value", "a rate is 0 (the site's default) or more", field="rate")
    org = by_external_id(Organization, org_id, what="organization", field="org") if org_id else None
    if org is not None and scope == ADMIN:
        raise ServiceError("invalid_value", "an organization's key is read or write, not admin", field="scope")
    prefix = secrets.token_hex(4)
    token = f"{TOKEN_START}{prefix}_{secrets.token_urlsafe(32)}"
    try:
        with transaction.atomic():
            key = ApiKey.objects.create(
                name=name,
                prefix=prefix,
                digest=_digest(token),
                scope=scope,
                organization=org,
                rate_per_minute=rate_per_minute,
                created_at=clock.now(),
            )
    except IntegrityError:
        raise ServiceError("duplicate_id", f"an API key named {name!r} exists already", field="name") from None
    return key, token


def apikey_revoke(*, name: str) -> ApiKey:
    """Revoke the key for good: it is refused from its next request on. Revoking twice changes nothing."""
    with transaction.atomic():
        key = ApiKey.objects.select_for_update().filter(name=name).first()
        if key is None:
            raise ServiceError("not_found", f"no API key named {name!r}", field="name")
        if key.revoked_at is None:
            key.revoked_at = clock.now()
            key.save(update_fields=["revoked_at"])
    _kept.clear()
    return key


def apikey_authenticate(token: str) -> ApiKey | None:
    """The live key this token is, or None (unknown, wrong secret, revoked)."""
    if not token.startswith(TOKEN_START):
        return None
    prefix, _, secret = token[len(TOKEN_START) :].partition("_")
    if not prefix or not secret or len(token) > 200:
        return None
    digest = _digest(token)
    kept = _kept.get(digest)
    if kept is not None and kept[0] > _monotonic():
        key = kept[1]
    else:
        key = ApiKey.objects.select_related("organization").filter(prefix=prefix).first()
        if key is None or not hmac.compare_digest(key.digest, digest) or key.revoked_at is not None:
            _kept.pop(digest, None)
            return None
        if settings.API_KEY_CACHE_SECONDS > 0:
            if len(_kept) >= KEPT_MAX:
                _kept.clear()
            _kept[digest] = (_monotonic() + settings.API_KEY_CACHE_SECONDS, key)
    _last_used_record(key)
    return key


def _last_used_record(key: ApiKey) -> None:
    now = clock.now()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_EVERY:
        # Another process may have written it a moment ago: the condition keeps it to one write a minute.
        ApiKey.objects.filter(pk=key.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_EVERY)
        ).update(last_used_at=now)
        key.last_used_at = now


def key_actor(key: ApiKey) -> Actor:
    return Actor.api_key(key.name, org=key.organization.external_id if key.organization_id else "")
