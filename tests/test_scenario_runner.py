"""A scenario file that cannot be run as written fails with a message naming the file, the line and what is wrong,
and never stops the run of the other files."""

import subprocess
import sys
import textwrap

import pytest

from .conftest import SHARED_SCENARIOS

CATALOG = """\
title: t
catalog:
  courses: [intro]
  plans:
    - {id: basic, length: unlimited, grants: [{course: intro}]}
"""


def failure_of(run_scenario, text: str) -> str:
    result = run_scenario(textwrap.dedent(text))
    assert len(result.failures) == 1, result.failures
    return result.failures[0]


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("title: t\ncatalog: [\n", 3, "not valid YAML"),  # the parser names where the input ended
        ("title: t\ncolour: red\n", 2, "unknown key 'colour'"),
        (
            "catalog:\n  courses: [intro]\n  plans:\n    - {id: p, grants: [{course: nope}]}\n",
            4,
            "no course with id 'nope'",
        ),
        (
            "catalog:\n  courses: [intro]\n  plans:\n    - {id: p, grants: [{after: 3 days}]}\n",
            4,
            "names exactly one course",
        ),
        ("catalog:\n  courses: [intro]\n  plans:\n    - {id: p, length: 3 fortnights}\n", 4, "is not a duration"),
        (
            "catalog:\n  plans:\n    - {id: p, length: {from: 2026-03-01, until: 2026-02-01}}\n",
            3,
            "is not after the start",
        ),
        (CATALOG + "timeline:\n  - {at: 2026-13-01, expect: {alice: {courses: []}}}\n", 7, "not an ISO 8601 date"),
        (
            CATALOG + "timeline:\n  - {at: 2026-02-01, expect: {a: {courses: []}}}\n"
            "  - {at: 2026-01-01, expect: {a: {courses: []}}}\n",
            8,
            "earlier than the step before it",
        ),
        (CATALOG + "timeline:\n  - {at: 2026-01-01, do: order.teleport}\n", 7, "unknown event 'order.teleport'"),
        (
            CATALOG + "timeline:\n  - at: 2026-01-01\n    do: order.complete\n    order: {id: 1, member: a}\n",
            7,
            "order needs 'plan'",
        ),
        (CATALOG + "timeline:\n  - {at: 2026-01-01, expect: {a: {colour: red}}}\n", 7, "unknown check 'colour'"),
    ],
)
def test_a_file_that_cannot_run_names_the_line_and_the_problem(run_scenario, text, line, words):
    message = failure_of(run_scenario, text)
    assert f"line {line}:" in message
    assert words in message


def test_a_refused_event_without_error_fails_its_step_and_says_why(run_scenario):
    message = failure_of(
        run_scenario,
        CATALOG + "timeline:\n  - at: 2026-01-01\n    do: order.complete\n    order: {id: 1, member: a, plan: gold}\n",
    )
    assert "step 1 (line 7)" in message and "no plan with id 'gold'" in message


def test_an_expected_refusal_that_succeeds_fails_the_step(run_scenario):
    message = failure_of(
        run_scenario,
        CATALOG + "timeline:\n  - at: 2026-01-01\n    do: membership.create\n"
        "    membership: {member: a, plan: basic}\n    error: invalid_status\n",
    )
    assert "expected refusal invalid_status, found success" in message


def test_a_wrong_expectation_names_member_what_was_expected_and_what_was_found(run_scenario):
    message = failure_of(
        run_scenario,
        CATALOG + "timeline:\n  - at: 2026-01-01\n    do: order.complete\n    order: {id: 1, member: a, plan: basic}\n"
        "  - {at: 2026-01-02, expect: {a: {courses: [], membership: {basic: active}}}}\n",
    )
    assert "step 2 (line 10): a: courses: expected [], found ['intro']" in message


def test_the_command_prints_one_line_per_failure_and_the_count_and_fails(tmp_path):
    (tmp_path / "bad.yaml").write_text(CATALOG + "timeline:\n  - {at: 2026-01-01, expect: {a: {courses: [intro]}}}\n")
    (tmp_path / "broken.yaml").write_text("title: [\n")
    shared = SHARED_SCENARIOS / "01-one-off-purchase.yaml"
    run = subprocess.run(
        [sys.executable, "-m", "membersync.cli", "scenario", "run", str(tmp_path), str(shared)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 1
    assert lines[-1] == "1 passed, 2 failed"
    assert any("bad.yaml: step 1 (line 7): a: courses: expected ['intro'], found []" in line for line in lines)
    assert any("broken.yaml: line 2: not valid YAML" in line for line in lines)
