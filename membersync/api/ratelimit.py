"""Per-key rate limits, counted in Django's cache (each process's memory by default, or a shared cache if the
site configures one): never a database write per request. A fixed window of one minute per key."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache

from membersync import clock

from .errors import RateLimited
from .models import ApiKey

WINDOW_SECONDS = 60


def rate_check(key: ApiKey) -> None:
    """Count this request against the key's limit; refuse it (429, with the seconds to wait) past the limit."""
    limit = key.rate_per_minute or settings.API_RATE_PER_MINUTE
    moment = clock.now().timestamp()
    window = int(moment // WINDOW_SECONDS)
    counter = f"membersync-api-rate:{key.pk}:{window}"
    try:
        used = cache.incr(counter)  # one cache operation per request, once the window's counter exists
    except ValueError:
        used = 1 if cache.add(counter, 1, timeout=WINDOW_SECONDS * 2) else cache.incr(counter)
    if used > limit:
        raise RateLimited((window + 1) * WINDOW_SECONDS - moment)
