"""The shared acceptance scenarios and the project's own, each run through the real runner."""

import pytest

from membersync.scenarios.runner import scenario_run_file

from .conftest import OWN_SCENARIOS, SHARED_SCENARIOS

SHARED_PASSING = [
    "01-one-off-purchase.yaml",
    "02-subscription-tied.yaml",
    "03-payment-plan.yaml",
    "04-switch.yaml",
    "05-set-length-pause.yaml",
    "06-org-seats.yaml",
    "07-licenses-and-memberships.yaml",
    "08-org-license.yaml",
]


@pytest.mark.django_db
@pytest.mark.parametrize("name", SHARED_PASSING)
def test_shared_scenario_passes(name):
    result = scenario_run_file(SHARED_SCENARIOS / name)
    assert result.failures == []


@pytest.mark.django_db
@pytest.mark.parametrize("path", sorted(OWN_SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_own_scenario_passes(path):
    result = scenario_run_file(path)
    assert result.failures == []
