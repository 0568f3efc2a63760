from datetime import UTC, datetime
from pathlib import Path

import pytest

from membersync import clock
from tests.contract.fixtures import woocommerce_store, woocommerce_store_factory  # noqa: F401  (fixtures)

SHARED_SCENARIOS = Path(__file__).resolve().parents[2] / "shared" / "scenarios"
OWN_SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def at(text: str) -> datetime:
    """'2026-01-05' or '2026-01-05T12:00' as a UTC instant."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@pytest.fixture
def set_clock():
    """Set the one clock for the test; restored afterwards."""
    yield clock.set_time
    clock.set_time(None)


@pytest.fixture
def run_scenario(tmp_path, db):
    """Run scenario YAML text through the real runner; returns the FileResult."""
    from membersync.scenarios.runner import scenario_run_file

    def run(text: str):
        path = tmp_path / "scenario.yaml"
        path.write_text(text)
        return scenario_run_file(path)

    return run
