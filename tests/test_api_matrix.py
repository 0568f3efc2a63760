"""The authorization matrix: every operation of the OpenAPI document × (no key, read, write, admin, an
organization's key, another organization's key, a revoked key) is let through or refused exactly as it should
be, and nothing outside an organization's key's organization is ever read or changed by it."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client

from membersync.api.api import api
from membersync.sync.models import Event
from tests.api_site import call, site_build

pytestmark = pytest.mark.django_db

# Path parameters that name real records, so a call that passes the key check reaches the service.
VALUES = {
    "member": "acme-student",
    "course": "safety",
    "org": "acme",
    "license": "acme-lic",
    "membership": "m-alice",
    "subscription": "s-none",
    "order": "o-none",
    "plan": "gold",
    "operation": "1",
    "event": "1",
    "job": "1",
    "invitation": "1",
}
ADMIN_ONLY = {("POST", "/resync"), ("POST", "/operations/{operation}/retry")}
# What a manager may not do: only the owner buys and removes seats and hands the ownership on.
OWNER_ONLY = {("POST", "/orgs/{org}/seats"), ("POST", "/orgs/{org}/seats/remove"), ("POST", "/orgs/{org}/owner")}
# Bodies good enough to reach the service, where only the service can say who may.
BODIES = {
    ("POST", "/orgs/{org}/seats"): {"seat_type": "standard", "quantity": 1},
    ("POST", "/orgs/{org}/seats/remove"): {"seat_type": "standard", "quantity": 1},
    ("POST", "/orgs/{org}/owner"): {"member": "acme-manager"},
}
KEYS = ("none", "read", "write", "admin", "acme", "acme-read", "globex", "revoked")


def _operations() -> list[tuple[str, str]]:
    document = api.get_openapi_schema()
    return sorted(
        (method.upper(), path.removeprefix("/api/v1"))
        for path, operations in document["paths"].items()
        for method in operations
    )


def expected(key: str, method: str, path: str) -> int | None:
    """401 or 403 when the key must be refused; None when it must be let through."""
    if key in ("none", "revoked"):
        return 401
    write = method != "GET"
    in_org = path.startswith("/orgs/{org}")
    if key in ("acme", "acme-read", "globex"):
        if not in_org or key == "globex":  # the paths are filled in with acme
            return 403
        if write and (key == "acme-read" or (method, path) in OWNER_ONLY):
            return 403
        return None
    if (method, path) in ADMIN_ONLY:
        return None if key == "admin" else 403
    if write and key == "read":
        return 403
    return None


def test_every_operation_lets_through_or_refuses_each_kind_of_key_exactly_as_it_should(settings):
    settings.API_RATE_PER_MINUTE = 1_000_000
    cache.clear()
    tokens = site_build().keys
    wrong = []
    for method, path in _operations():
        url = path.format(**VALUES)
        for key in KEYS:
            body = BODIES.get((method, path), {}) if method != "GET" else None
            answer = call(method, url, None if key == "none" else tokens[key], body=body)
            refused = answer.status_code if answer.status_code in (401, 403) else None
            if refused != expected(key, method, path):
                wrong.append(f"{key} {method} {path}: {answer.status_code} {answer.data}")
            elif refused:
                assert answer.data["code"] == ("unauthorized" if refused == 401 else "forbidden")
    assert wrong == []


def test_another_organizations_key_changes_nothing_and_reads_nothing_of_it(settings):
    settings.API_RATE_PER_MINUTE = 1_000_000
    cache.clear()
    tokens = site_build().keys
    before = Event.objects.count()
    bodies = {"/orgs/acme/seats/assign": {"member": "globex-student"}, "/orgs/acme/people/globex-x": {"role": "member"}}
    for method, path in _operations():
        url = path.format(**VALUES)
        answer = call(method, url, tokens["globex"], body=bodies.get(url, {}) if method != "GET" else None)
        assert answer.status_code == 403, f"{method} {url}"
        assert "acme-student" not in str(answer.data)
    assert Event.objects.count() == before  # not even a refused event: the key check comes before any service
    assert Client().get("/api/v1/orgs/acme/people").status_code == 401
