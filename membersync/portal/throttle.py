"""Login throttling for the portal and the admin (docs/decisions/0007-deploy-defaults.md).

Failed logins are counted per account (the username typed, whether or not it exists) and per client address, in
the database so every web process sees them. Within WINDOW, ACCOUNT_LIMIT failures for one account or
ADDRESS_LIMIT from one address refuse further attempts (even with the right password) until the oldest of those
failures leaves the window; the message says how long that is. An address gets more tries than an account because
an office or a phone network puts many people behind one address. A successful login clears its account's count.
Failures and refusals are logged on "membersync.security", with the username and address, never the password.
Time comes from membersync.clock.
"""

from __future__ import annotations

import logging
import math
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm

from membersync import clock

from .models import LoginFailure

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW = timedelta(minutes=15)

logger = logging.getLogger("membersync.security")


def client_address(request) -> str:
    """The client's address: the connection's, or behind TRUSTED_PROXY_COUNT proxies the entry the outermost
    of them appended to X-Forwarded-For (entries further left are whatever the client chose to send)."""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if proxies > 0 and len(forwarded) >= proxies:
        return forwarded[-proxies][:254]
    return (request.META.get("REMOTE_ADDR") or "unknown")[:254]


def _account(username: str) -> str:
    return (username or "").strip().lower()[:254]


def _keys(username: str, address: str) -> list[tuple[str, str, int]]:
    return [(LoginFailure.ACCOUNT, _account(username), ACCOUNT_LIMIT), (LoginFailure.ADDRESS, address, ADDRESS_LIMIT)]


def login_wait(username: str, address: str) -> timedelta | None:
    """How long this account or address must wait before trying again; None if it may try now."""
    now = clock.now()
    waits = []
    for kind, key, limit in _keys(username, address):
        recent = list(
            LoginFailure.objects.filter(kind=kind, key=key, at__gt=now - WINDOW)
            .order_by("-at")
            .values_list("at", flat=True)[:limit]
        )
        if len(recent) >= limit:
            waits.append(recent[-1] + WINDOW - now)
    return max(waits) if waits else None


def login_failed(username: str, address: str) -> None:
    now = clock.now()
    LoginFailure.objects.filter(at__lte=now - WINDOW).delete()
    LoginFailure.objects.bulk_create(LoginFailure(kind=k, key=key, at=now) for k, key, _ in _keys(username, address))
    failures = LoginFailure.objects.filter(kind=LoginFailure.ACCOUNT, key=_account(username)).count()
    logger.warning(
        "login failed for %r from %s (%d failure(s) for this account in %d minutes)",
        _account(username),
        address,
        failures,
        WINDOW.total_seconds() // 60,
    )


def login_succeeded(username: str) -> None:
    LoginFailure.objects.filter(kind=LoginFailure.ACCOUNT, key=_account(username)).delete()


def _in_words(wait: timedelta) -> str:
    minutes = max(1, math.ceil(wait.total_seconds() / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class ThrottledLoginMixin:
    """For an AuthenticationForm: refuse while throttled, count failed passwords, clear the count on success."""

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = client_address(self.request) if self.request is not None else "unknown"
        wait = login_wait(username, address)
        if wait is not None:
            logger.warning(
                "login refused for %r from %s: too many failed logins, %s to wait",
                _account(username),
                address,
                _in_words(wait),
            )
            raise forms.ValidationError(
                f"Too many failed logins for this account or from your network. "
                f"Wait {_in_words(wait)} before you try again.",
                code="throttled",
            )
        try:
            cleaned = super().clean()
        except forms.ValidationError as error:
            if getattr(error, "code", None) == "invalid_login":
                login_failed(username, address)
            raise
        login_succeeded(username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass
