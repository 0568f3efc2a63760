"""The error catalogue: one list of codes, used by every service, documented for people."""

import re
from pathlib import Path

import pytest

from membersync.errors import CATALOGUE, ServiceError, catalogue_markdown

ROOT = Path(__file__).resolve().parent.parent
RAISED = re.compile(r'ServiceError\(\s*"([a-z_]+)"')


def test_every_code_a_service_raises_is_in_the_catalogue():
    raised = {code for path in (ROOT / "membersync").rglob("*.py") for code in RAISED.findall(path.read_text())}
    assert raised and raised <= set(CATALOGUE), sorted(raised - set(CATALOGUE))


def test_the_codes_scenario_files_may_expect_are_all_in_the_catalogue():
    listed = {"invalid_status", "subscription_tied", "forbidden", "seats_in_use", "no_free_seat", "already_has_seat"}
    listed |= {"not_found", "invalid_value", "license_revoked", "duplicate_id", "stale"}
    assert listed <= set(CATALOGUE)


def test_docs_errors_md_is_the_catalogue():
    assert (ROOT / "docs" / "ERRORS.md").read_text() == catalogue_markdown()


def test_a_code_outside_the_catalogue_is_a_programming_error_not_a_refusal():
    with pytest.raises(ValueError, match="not in the catalogue"):
        ServiceError("something_new", "words")


def test_a_refusal_knows_its_http_status_and_what_the_user_should_do():
    error = ServiceError("no_free_seat", "all 3 seats are taken", field="seat_type")
    assert (error.http_status, str(error)) == (409, "no_free_seat: all 3 seats are taken (field: seat_type)")
    assert "Buy more seats" in error.what_to_do
