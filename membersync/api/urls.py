"""/api/v1/: every view of the API behind two guards: a request carrying a NUL character is refused (no database
stores one), and writes with an Idempotency-Key are answered once (idempotency.py)."""

from __future__ import annotations

from functools import wraps

from django.http import JsonResponse

from .api import api
from .idempotency import idempotent

# Its own pass calls the sinks over HTTP, which never happens inside a transaction: no stored answer for it.
NOT_IDEMPOTENT = {"operation_retry"}


def _has_nul(request, kwargs) -> bool:
    path = request.get_full_path()
    return (
        "\x00" in path
        or "%00" in path
        or b"\x00" in request.body
        or b"\\u0000" in request.body
        or any("\x00" in str(value) for value in kwargs.values())
    )


def _nul_refused(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if _has_nul(request, kwargs):
            body = {"code": "invalid_value", "message": "a NUL character is not accepted", "field": None}
            return JsonResponse(body, status=422)
        return view(request, *args, **kwargs)

    return wrapper


def _guarded(patterns):
    for pattern in patterns:
        view = pattern.callback
        if pattern.name not in NOT_IDEMPOTENT:
            view = idempotent(view)
        pattern.callback = _nul_refused(view)
    return patterns


_patterns, _app, _namespace = api.urls
urlpatterns = _guarded(_patterns)
app_name = _app
