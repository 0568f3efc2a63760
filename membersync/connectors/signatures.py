"""Webhook signatures, checked in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac


def woocommerce_signature(secret: str, body: bytes) -> str:
    """What WooCommerce sends in X-WC-Webhook-Signature: base64 of the raw HMAC-SHA256 of the exact body."""
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def woocommerce_signature_valid(secret: str, body: bytes, given: str | None) -> bool:
    if not secret or not given:
        return False
    return hmac.compare_digest(woocommerce_signature(secret, body).encode(), given.strip().encode())
