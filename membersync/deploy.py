"""Safe to deploy: the web server refuses to start without a real SECRET_KEY, and `check --deploy` says what a
production site still lacks beyond Django's own checks (see docs/decisions/0007-deploy-defaults.md)."""

from __future__ import annotations

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

# Email backends that never deliver anything: right for the demo and tests, wrong for a site people use.
UNDELIVERED_EMAIL_BACKENDS = {
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
    "django.core.mail.backends.filebased.EmailBackend",
    "django.core.mail.backends.locmem.EmailBackend",
}


def secret_key_is_development() -> bool:
    return settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY


def refuse_insecure_start() -> None:
    """Called by wsgi.py, so by every web server (gunicorn, `membersync runserver`, the demo's): with DEBUG off, a
    site signing sessions and CSRF tokens with the public development key is refused before it serves anything."""
    if not settings.DEBUG and secret_key_is_development():
        raise ImproperlyConfigured(
            "SECRET_KEY is not set and DEBUG is off: refusing to serve. Set SECRET_KEY to a long random value "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))"), or DEBUG=1 for development.'
        )


@checks.register(checks.Tags.security, deploy=True)
def check_secret_key_set(app_configs=None, **kwargs):
    if secret_key_is_development():
        return [
            checks.Error(
                "SECRET_KEY is not set: the built-in development key is in use.",
                hint="Set the SECRET_KEY environment variable to a long random value; the web server refuses to "
                "start without it when DEBUG is off.",
                id="membersync.E001",
            )
        ]
    return []


@checks.register(checks.Tags.security, deploy=True)
def check_email_delivered(app_configs=None, **kwargs):
    if settings.EMAIL_BACKEND in UNDELIVERED_EMAIL_BACKENDS:
        return [
            checks.Warning(
                f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}: invitations and members' notifications are not sent.",
                hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST, EMAIL_PORT, "
                "EMAIL_HOST_USER, EMAIL_HOST_PASSWORD (see the README's configuration).",
                id="membersync.W001",
            )
        ]
    return []
