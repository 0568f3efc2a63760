"""Safe to deploy: the web server refuses the development SECRET_KEY with DEBUG off, `check --deploy` is clean with
the README's production variables, the demo brings its own key, and every page carries a Content-Security-Policy."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from membersync.csp import ADMIN_POLICY, PORTAL_POLICY
from tests.browser.orgdata import FAST_HASHERS, PASSWORD, org_with_people

VENV_BIN = Path(sys.executable).parent

# The production environment the README documents (with made-up values).
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "a-long-random-production-secret-key-0123456789-abcdefghijklmnop",
    "ALLOWED_HOSTS": "members.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://members.example.com",
    "SECURE_SSL_REDIRECT": "1",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
    "SECURE_HSTS_PRELOAD": "1",
    "SESSION_COOKIE_SECURE": "1",
    "CSRF_COOKIE_SECURE": "1",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "EMAIL_HOST": "smtp.example.com",
}
UNSET = ["SECRET_KEY", "DEBUG", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", *PRODUCTION]


def _env(tmp_path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    return {**env, "MEMBERSYNC_DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "membersync.settings", **extra}


def _membersync(tmp_path, *args, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "membersync"), *args], env=_env(tmp_path, **extra), capture_output=True, text=True, timeout=120
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gunicorn(tmp_path, port, **extra) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "membersync.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    return subprocess.Popen(
        command + ["--workers", "1"],
        env=_env(tmp_path, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_check_deploy_is_clean_with_the_documented_production_variables(tmp_path):
    result = _membersync(tmp_path, "check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_names_what_a_bare_environment_lacks(tmp_path):
    result = _membersync(tmp_path, "check", "--deploy")
    assert result.returncode != 0
    for missing in ("membersync.E001", "membersync.W001", "W004", "W008", "W012", "W016"):
        assert missing in result.stderr, missing


def test_the_server_refuses_to_start_without_secret_key_when_debug_is_off(tmp_path):
    server = _gunicorn(tmp_path, _free_port(), DEBUG="0")
    try:
        _, stderr = server.communicate(timeout=60)
    finally:
        server.kill()
    assert server.returncode != 0
    assert "SECRET_KEY is not set and DEBUG is off: refusing to serve" in stderr


def test_the_same_server_starts_and_answers_once_secret_key_is_set(tmp_path):
    assert _membersync(tmp_path, "migrate", "--no-input").returncode == 0
    port = _free_port()
    server = _gunicorn(tmp_path, port, DEBUG="0", SECRET_KEY=PRODUCTION["SECRET_KEY"])
    try:
        deadline, answer = time.monotonic() + 60, None
        while answer is None and time.monotonic() < deadline and server.poll() is None:
            try:
                answer = urllib.request.urlopen(f"http://127.0.0.1:{port}/portal/login/", timeout=5)
            except OSError:
                time.sleep(0.3)
        assert answer is not None and answer.status == 200, server.poll()
        assert answer.headers["Content-Security-Policy"] == PORTAL_POLICY
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_demo_uses_a_key_of_its_own_and_says_so(tmp_path):
    result = _membersync(tmp_path, "demo", "--no-serve")
    assert result.returncode == 0, result.stderr
    assert f"SECRET_KEY is not set: the demo uses its own key, kept in {tmp_path / 'demo-secret-key'}" in result.stderr
    key = (tmp_path / "demo-secret-key").read_text()
    assert len(key) >= 50 and (tmp_path / "demo-secret-key").stat().st_mode & 0o077 == 0


# ---- Content-Security-Policy ----


@pytest.fixture
def manager_client(db, settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS
    acme = org_with_people("acme", seats=2)
    client = Client()
    assert client.login(username=acme.manager.email, password=PASSWORD)
    return client


def test_portal_pages_get_a_policy_without_scripts_or_inline_styles(manager_client):
    assert "script-src" not in PORTAL_POLICY and "default-src 'none'" in PORTAL_POLICY
    assert "'unsafe-inline'" not in PORTAL_POLICY and "frame-ancestors 'none'" in PORTAL_POLICY
    for name in ("org_dashboard", "org_people", "org_seats", "org_licenses", "org_import"):
        response = manager_client.get(reverse(f"portal:{name}", kwargs={"org_id": "acme"}))
        page = response.content.decode()
        assert response.status_code == 200 and response["Content-Security-Policy"] == PORTAL_POLICY, name
        # What the policy would block: any of these would break the page.
        assert "<script" not in page and "<style" not in page and " style=" not in page, name
    assert Client().get(reverse("portal:login"))["Content-Security-Policy"] == PORTAL_POLICY


def test_admin_pages_allow_their_own_scripts_and_inline_styles_but_no_inline_scripts(admin_client):
    response = admin_client.get(reverse("admin:index"))
    assert response.status_code == 200 and response["Content-Security-Policy"] == ADMIN_POLICY
    assert "script-src 'self';" in ADMIN_POLICY and "style-src 'self' 'unsafe-inline'" in ADMIN_POLICY
    assert Client().get(reverse("admin:login"))["Content-Security-Policy"] == ADMIN_POLICY
