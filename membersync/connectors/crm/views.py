"""CRM webhook endpoints: authenticate, store raw, answer at once (the worker applies: crm/inbound.py)."""

from __future__ import annotations

import hmac
import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from membersync.people.models import ACTIVECAMPAIGN, Connection
from membersync.people.services import connection_signature_refused
from membersync.tags.selectors import CRM_KINDS

from ..learndash.inbound import companion_delivery_receive, companion_signature_valid

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-MemberSync-Signature"


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _body(request: HttpRequest):
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > settings.WEBHOOK_MAX_BYTES:
        return None
    body = request.body
    return body if len(body) <= settings.WEBHOOK_MAX_BYTES else None


@csrf_exempt
@require_POST
def activecampaign_receive(request: HttpRequest, name: str, secret: str) -> JsonResponse:
    connection = Connection.objects.filter(kind=ACTIVECAMPAIGN, name=name).first()
    if connection is None:
        return _error(404, f"no ActiveCampaign connection named {name!r}")
    expected = connection.webhook_secret
    if not expected or not hmac.compare_digest(expected.encode(), secret.encode()):
        connection_signature_refused(connection=connection)
        log.warning("connection %s: a delivery to a wrong secret path was refused", name)
        return _error(401, "this webhook address's secret does not match the connection's")
    body = _body(request)
    if body is None:
        return _error(413, f"a delivery may have at most {settings.WEBHOOK_MAX_BYTES} bytes")
    kind = request.POST.get("type", "")
    headers = {
        "Content-Type": request.headers.get("Content-Type", ""),
        "User-Agent": request.headers.get("User-Agent", ""),
        "X-MemberSync-Topic": f"crm.{kind or 'tags'}",
    }
    delivery = companion_delivery_receive(connection=connection, headers=headers, body=body)
    return JsonResponse({"ok": True, "delivery": delivery.pk})


@csrf_exempt
@require_POST
def crm_receive(request: HttpRequest, name: str) -> JsonResponse:
    """The generic JSON endpoint, signed with the connection's webhook secret."""
    connection = Connection.objects.filter(kind__in=CRM_KINDS, name=name).first()
    if connection is None:
        return _error(404, f"no CRM connection named {name!r}")
    body = _body(request)
    if body is None:
        return _error(413, f"a delivery may have at most {settings.WEBHOOK_MAX_BYTES} bytes")
    if not companion_signature_valid(connection.webhook_secret, body, request.headers.get(SIGNATURE_HEADER)):
        connection_signature_refused(connection=connection)
        return _error(401, f"the {SIGNATURE_HEADER} header is missing or does not match this connection's secret")
    headers = {"Content-Type": "application/json", SIGNATURE_HEADER: request.headers[SIGNATURE_HEADER]}
    headers["X-MemberSync-Topic"] = "crm.tags"
    delivery = companion_delivery_receive(connection=connection, headers=headers, body=body)
    return JsonResponse({"ok": True, "delivery": delivery.pk})
