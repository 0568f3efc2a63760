"""The API is an entry point: it reads what the engine stored through sync/selectors.py, never its tables."""

from pathlib import Path

from tests.test_layers import _offending

API = Path(__file__).resolve().parent.parent / "membersync" / "api"


def test_the_api_reads_the_engine_through_its_selectors_not_its_tables():
    assert API.is_dir()
    assert _offending("api", ("membersync.sync.models",)) == []
