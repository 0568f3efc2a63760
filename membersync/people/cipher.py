"""Secrets at rest: connections' credentials and webhook secrets are stored encrypted (Fernet: AES-128-CBC with an
HMAC, from `cryptography`), with the key from the environment (settings.SECRETS_KEY, from MEMBERSYNC_SECRETS_KEY).

`MEMBERSYNC_SECRETS_KEY` holds one Fernet key, or several separated by commas to rotate keys: the first encrypts,
any of them decrypts. Unset, a key is derived from SECRET_KEY and a warning is logged once: fine for development,
not for a real site (whoever reads SECRET_KEY then reads every stored secret, and changing SECRET_KEY loses them).

Nothing here logs or formats a plaintext; a ciphertext that no configured key opens raises SecretsKeyError, which
names what could not be read and why, never its content.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)


class SecretsKeyError(Exception):
    """A stored secret cannot be read with the configured key(s): it was written with another key."""


def secret_seal(plaintext: str) -> str:
    """The ciphertext to store for `plaintext`; an empty secret is stored as empty ("not set")."""
    if not plaintext:
        return ""
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def secret_open(ciphertext: str, *, what: str = "a stored secret") -> str:
    """The plaintext of a stored ciphertext ("" for "not set"). `what` names it in the error, e.g.
    "connection shop's webhook secret"."""
    if not ciphertext:
        return ""
    try:
        return _fernet().decrypt(ciphertext.encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError):
        raise SecretsKeyError(
            f"cannot decrypt {what}: it was encrypted with a key MEMBERSYNC_SECRETS_KEY does not hold. Set the key "
            "it was written with (or list it after the new one, comma-separated, while rotating), or set the "
            "secret again."
        ) from None


def secrets_key_derived() -> bool:
    """Whether the key is derived from SECRET_KEY (no MEMBERSYNC_SECRETS_KEY): development only."""
    return not getattr(settings, "SECRETS_KEY", "")


def _fernet() -> MultiFernet:
    return _fernet_for(getattr(settings, "SECRETS_KEY", ""), settings.SECRET_KEY)


@functools.lru_cache(maxsize=8)
def _fernet_for(secrets_key: str, secret_key: str) -> MultiFernet:
    if not secrets_key:
        _warn_derived()
        digest = hashlib.sha256(b"membersync secrets at rest\0" + secret_key.encode()).digest()
        return MultiFernet([Fernet(base64.urlsafe_b64encode(digest))])
    keys = [k.strip() for k in secrets_key.split(",") if k.strip()]
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except (ValueError, TypeError):
        raise ImproperlyConfigured(
            "MEMBERSYNC_SECRETS_KEY must be one or more Fernet keys (32 url-safe base64-encoded bytes each), "
            'separated by commas; make one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"'
        ) from None


@functools.cache
def _warn_derived() -> None:
    logger.warning(
        "MEMBERSYNC_SECRETS_KEY is not set: connections' secrets are encrypted with a key derived from SECRET_KEY. "
        "Fine for development; on a real site set MEMBERSYNC_SECRETS_KEY."
    )
