"""Webhook endpoints: check, store raw, answer at once. Applying is the worker's job (deliveries.py)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from membersync.ops.logs import delivery_correlation_bind
from membersync.people.models import LEARNDASH, WOOCOMMERCE, Connection
from membersync.people.services import connection_delivery_record, connection_signature_refused

from .deliveries import KEPT_HEADERS, delivery_receive
from .learndash import inbound as companion
from .signatures import woocommerce_signature_valid

log = logging.getLogger(__name__)


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


@csrf_exempt
@require_POST
def woocommerce_receive(request: HttpRequest, name: str) -> JsonResponse:
    connection = Connection.objects.filter(kind=WOOCOMMERCE, name=name).first()
    if connection is None:
        return _error(404, f"no WooCommerce connection named {name!r}")
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > settings.WEBHOOK_MAX_BYTES:
        return _error(413, f"a delivery may have at most {settings.WEBHOOK_MAX_BYTES} bytes")
    body = request.body
    if len(body) > settings.WEBHOOK_MAX_BYTES:
        return _error(413, f"a delivery may have at most {settings.WEBHOOK_MAX_BYTES} bytes")
    headers = {header: request.headers[header] for header in KEPT_HEADERS if header in request.headers}
    if "X-WC-Webhook-Topic" not in headers and body.startswith(b"webhook_id="):
        # WooCommerce's ping when a webhook is created: a form body, no signature, and it must get a 200.
        connection_delivery_record(connection=connection)
        log.info("connection %s: webhook %s created in the store", name, body[11:40].decode(errors="replace"))
        return JsonResponse({"ok": True, "ping": body[11:40].decode(errors="replace")})
    if not woocommerce_signature_valid(connection.webhook_secret, body, headers.get("X-WC-Webhook-Signature")):
        connection_signature_refused(connection=connection)
        log.warning("connection %s: a delivery with a missing or wrong signature was refused", name)
        return _error(401, "the X-WC-Webhook-Signature header is missing or does not match this connection's secret")
    delivery = delivery_receive(connection=connection, headers=headers, body=body)
    delivery_correlation_bind(delivery)
    return JsonResponse({"ok": True, "delivery": delivery.pk})


@csrf_exempt
@require_POST
def learndash_receive(request: HttpRequest, name: str) -> JsonResponse:
    """A LearnDash site's companion plugin (connectors/learndash/inbound.py): signed with the connection's
    webhook secret, stored raw, applied by the worker."""
    connection = Connection.objects.filter(kind=LEARNDASH, name=name).first()
    if connection is None:
        return _error(404, f"no LearnDash connection named {name!r}")
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if not declared.isdigit() or int(declared) > settings.WEBHOOK_MAX_BYTES:
        return _error(413, f"a delivery may have at most {settings.WEBHOOK_MAX_BYTES} bytes")
    body = request.body
    if len(body) > settings.WEBHOOK_MAX_BYTES:
        return _error(413, f"a delivery may have at most {settings.WEBHOOK_MAX_BYTES} bytes")
    headers = {header: request.headers[header] for header in companion.KEPT_HEADERS if header in request.headers}
    signature = headers.get(companion.SIGNATURE_HEADER)
    if not companion.companion_signature_valid(connection.webhook_secret, body, signature):
        connection_signature_refused(connection=connection)
        log.warning("connection %s: a delivery with a missing or wrong signature was refused", name)
        return _error(
            401, f"the {companion.SIGNATURE_HEADER} header is missing or does not match this connection's secret"
        )
    delivery = companion.companion_delivery_receive(connection=connection, headers=headers, body=body)
    delivery_correlation_bind(delivery)
    return JsonResponse({"ok": True, "delivery": delivery.pk})
