"""/healthz for load balancers and uptime checks, /metrics for Prometheus."""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from membersync import clock

from .health import DOWN, OK, health_report
from .metrics import metrics_text


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the database answers (503 when it does not). With ?strict=1, 503 unless every check is ok."""
    report = health_report(now=clock.now())
    strict = request.GET.get("strict") in ("1", "true", "yes")
    bad = report["status"] == DOWN or (strict and report["status"] != OK)
    return JsonResponse(report, status=503 if bad else 200)


def _metrics_allowed(request: HttpRequest) -> bool:
    """With METRICS_TOKEN set: the bearer token, compared in constant time. Without: only a scraper on this
    machine, and not through a proxy (a local reverse proxy would make every visitor look local)."""
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    if "X-Forwarded-For" in request.headers or "Forwarded" in request.headers:
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _metrics_allowed(request):
        return HttpResponse(
            "metrics are for this machine only, or set METRICS_TOKEN and send it as a bearer token\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(metrics_text(now=clock.now()), content_type="text/plain; version=0.0.4; charset=utf-8")
