import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from membersync import clock
from tests.contract.fixtures import learndash_site_factory, woocommerce_store, woocommerce_store_factory  # noqa: F401

REPO = Path(__file__).resolve().parents[1]


def _shared_folder() -> Path:
    """The team's shared folder (scenarios, protocol examples): MEMBERSYNC_SHARED_DIR, else `shared` beside the
    repository, else beside the repository this one was cloned from (a clean clone in a temporary folder)."""
    if os.environ.get("MEMBERSYNC_SHARED_DIR"):
        return Path(os.environ["MEMBERSYNC_SHARED_DIR"])
    beside = REPO.parent / "shared"
    if beside.is_dir():
        return beside
    origin = subprocess.run(
        ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"], capture_output=True, text=True
    ).stdout.strip()
    if origin and Path(origin).is_dir() and (Path(origin).resolve().parent / "shared").is_dir():
        return Path(origin).resolve().parent / "shared"
    return beside  # missing: the tests that read it say which file they could not open


SHARED = _shared_folder()
SHARED_SCENARIOS = SHARED / "scenarios"
PROTOCOLS = SHARED / "protocols"
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
