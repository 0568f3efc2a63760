"""Schemathesis over /api/v1/openapi.json: at least 1,000 generated requests across every operation, each answered
without a 5xx, with a documented status, and in the schema the document gives it. The document itself validates
as OpenAPI 3.1."""

from __future__ import annotations

import math

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api_site import site_build

pytestmark = pytest.mark.django_db

CASES = 1_000
SCHEMA = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_the_openapi_document_is_openapi_3_1_with_every_refusal_documented():
    document = SCHEMA.raw_schema
    assert document["openapi"].startswith("3.1")
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert {"401", "403", "404", "422", "429"} <= set(operation["responses"]), f"{method} {path}"


def test_generated_requests_never_get_a_server_error_and_every_answer_matches_its_schema(settings_override):
    keys = site_build().keys
    operations = [result.ok() for result in SCHEMA.get_all_operations()]
    per_operation = math.ceil(CASES / len(operations)) + 4  # small operations run out of distinct cases early
    sent = []
    for operation in operations:
        token = keys["acme"] if "{org}" in operation.path else keys["admin"]
        _cases_run(operation, token, per_operation, sent)
    assert len(sent) >= CASES


def _cases_run(operation, token: str, examples: int, sent: list) -> None:
    @given(case=operation.as_strategy())
    @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def run(case):
        sent.append(1)
        if "{org}" in operation.path and isinstance(case.path_parameters, dict):
            case.path_parameters["org"] = "acme"
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    run()


@pytest.fixture
def settings_override(settings):
    """No rate limit, and the test's database connection kept open across the WSGI requests (as Django's own
    test client does), so that every request sees the test's data."""
    settings.API_RATE_PER_MINUTE = 1_000_000
    cache.clear()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
