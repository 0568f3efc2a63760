"""A scenario file that cannot be run as written fails with a message naming the file, the line and what is wrong,
and never stops the run of the other files."""

import os
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


# --- Files that cannot be run: one run of the command over a folder of them, beside a file that passes ---------

TIMELINE = CATALOG + "timeline:\n"
BAD_FILES = {
    "not-utf8.yaml": (TIMELINE.encode() + b"  - {at: 2026-01-01, expect: {a: {courses: [caf\xe9]}}}\n"),
    "duplicate-key.yaml": TIMELINE
    + "  - at: 2026-01-01\n    expect: {a: {courses: []}}\n    expect: {a: {courses: [intro]}}\n",
    "alias-bomb.yaml": "title: t\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]\n" for i in range(1, 7)),
    "recursive-alias.yaml": "title: t\ncatalog: &c\n  courses: [intro]\n  more: *c\n",
    "list-for-mapping.yaml": TIMELINE + "  - at: 2026-01-01\n    do: order.complete\n    order: [1, a, basic]\n",
    "wrong-type.yaml": TIMELINE + "  - {at: 2026-01-01, expect: {a: {courses: intro}}}\n",
    "date-9999.yaml": TIMELINE + "  - {at: 9999-12-31, expect: {a: {courses: []}}}\n",
    "date-0001.yaml": "title: t\ncatalog:\n  plans:\n    - {id: p, length: {from: 0001-01-01, until: 2026-02-01}}\n",
    "not-yaml.yaml": "title: [\n",
    "wrong-expectation.yaml": TIMELINE + "  - {at: 2026-01-01, expect: {a: {courses: [intro]}}}\n",
    "duration.yaml": "title: t\ncatalog:\n  courses: [intro]\n  plans:\n"
    '    - {id: basic, length: "999999999 days", grants: [{course: intro}]}\n',
}


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory):
    """`membersync scenario run` over every bad file, an oversized file, a passing file and an empty folder."""
    folder = tmp_path_factory.mktemp("bad")
    for name, content in BAD_FILES.items():
        (folder / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    (folder / "oversized.yaml").write_text("title: t\n#" + "x" * 1_000_000 + "\n")
    empty = tmp_path_factory.mktemp("empty")
    tmp = tmp_path_factory.mktemp("tmp")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "membersync.cli",
            "scenario",
            "run",
            str(folder),
            str(SHARED_SCENARIOS / "01-one-off-purchase.yaml"),
            str(empty),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    return run, folder, empty, tmp


def failure_line(run, name: str) -> str:
    lines = [line.strip() for line in run.stdout.splitlines() if f"/{name}: " in line]
    assert len(lines) == 1, run.stdout
    return lines[0]


@pytest.mark.parametrize(
    "name, line, words",
    [
        ("not-utf8.yaml", 7, "not UTF-8 (byte 0xe9)"),
        ("duplicate-key.yaml", 9, "duplicate key 'expect' (first on line 8)"),
        ("alias-bomb.yaml", 6, "once aliases are expanded (an alias bomb?)"),
        ("recursive-alias.yaml", 4, "recursive alias"),
        ("list-for-mapping.yaml", 7, "order must be a mapping, not a list"),
        ("wrong-type.yaml", 7, "courses: expects a list of ids, not 'intro'"),
        ("date-9999.yaml", 7, "'9999-12-31' is out of range"),
        ("date-0001.yaml", 4, "'0001-01-01' is out of range"),
        ("duration.yaml", 5, '"999999999 days" is too long'),
        ("not-yaml.yaml", 2, "not valid YAML"),
        ("wrong-expectation.yaml", 7, "step 1 (line 7): a: courses: expected ['intro'], found []"),
    ],
)
def test_a_bad_file_fails_with_its_name_and_line_and_the_run_goes_on(bad_run, name, line, words):
    run, folder, _, _ = bad_run
    message = failure_line(run, name)
    assert message.startswith(f"{folder / name}: ")
    assert f"line {line}" in message
    assert words in message
    assert f"FAIL  {folder / name}" in run.stdout


def test_a_file_over_the_size_limit_is_refused_unread(bad_run):
    run, folder, _, _ = bad_run
    assert "oversized.yaml: the file is 1,000,011 bytes, over the limit of 1,000,000" in run.stdout


def test_an_empty_folder_is_an_error(bad_run):
    run, _, empty, _ = bad_run
    assert f"FAIL  {empty}" in run.stdout
    assert f"{empty}: no scenario files (*.yaml) in this folder" in run.stdout


def test_the_other_files_still_run_and_the_run_exits_non_zero(bad_run):
    run, _, _, _ = bad_run
    assert "Traceback" not in run.stdout + run.stderr
    assert f"PASS  {SHARED_SCENARIOS / '01-one-off-purchase.yaml'}" in run.stdout
    assert run.stdout.strip().splitlines()[-1] == f"1 passed, {len(BAD_FILES) + 2} failed"
    assert run.returncode == 1


def test_the_temporary_database_is_removed_when_the_run_ends(bad_run):
    _, _, _, tmp = bad_run
    assert list(tmp.iterdir()) == []


# A check that crashes (a bug) or an interrupt that escapes the run: the crash names file and line, the other file
# still runs, and the temporary database is removed either way.
CRASHING_CHECK = """
import sys
from membersync.scenarios import registry
def boom(member, expected, ctx):
    raise {exception}
registry.MEMBER_CHECKS["boom"] = boom
from membersync.cli import main
sys.argv = ["membersync", "scenario", "run", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize("exception, status", [("ZeroDivisionError('a bug')", 1), ("KeyboardInterrupt", 130)])
def test_the_temporary_database_is_removed_also_when_a_file_crashes(tmp_path, exception, status):
    crash = tmp_path / "crash.yaml"
    crash.write_text(TIMELINE + "  - {at: 2026-01-01, expect: {a: {boom: 1}}}\n")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    run = subprocess.run(
        [
            sys.executable,
            "-c",
            CRASHING_CHECK.format(exception=exception),
            str(crash),
            str(SHARED_SCENARIOS / "01-one-off-purchase.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TMPDIR": str(tmp)},
    )
    assert run.returncode != 0
    if status == 1:
        assert run.returncode == 1
        assert f"{crash}: line 7: crashed: ZeroDivisionError: a bug" in run.stdout
        assert "PASS" in run.stdout and "1 passed, 1 failed" in run.stdout
    assert list(tmp.iterdir()) == []


# --- FORMAT.md's additions (turn 2), and `-v` ---------------------------------------------------------------------

ACCESS = """\
title: t
catalog:
  courses: [intro, advanced]
  groups:
    - {id: bundle, courses: [advanced]}
  plans:
    - {id: basic, length: unlimited, grants: [{course: intro}, {group: bundle, after: "7 days"}]}
timeline:
  - at: 2026-01-05T09:30Z
    do: order.complete
    order: {id: "1", member: ann, plan: basic}
  - at: 2026-01-06
    expect:
      ann: {access_from: {intro: 2026-01-05, advanced: none}}
      bob: {access_from: {intro: none}}
  - at: 2026-01-13
    expect:
      ann: {access_from: {intro: 2026-01-05T09:30Z, advanced: 2026-01-12}}
"""


def test_access_from_compares_the_day_or_the_instant_and_none_when_not_enrolled(run_scenario):
    assert run_scenario(ACCESS).failures == []


def test_access_from_says_what_it_found_when_it_differs(run_scenario):
    wrong = ACCESS.replace("intro: 2026-01-05T09:30Z", "intro: 2026-01-05T09:00Z").replace(
        "advanced: none", "advanced: 2026-01-06"
    )
    failures = run_scenario(wrong).failures
    assert any("ann: access_from advanced: expected 2026-01-06, found none" in f for f in failures), failures
    assert any(
        "ann: access_from intro: expected 2026-01-05T09:00:00Z, found 2026-01-05T09:30:00Z" in f for f in failures
    )
    assert len(failures) == 2


def test_a_license_given_to_someone_else_is_none_for_her(run_scenario):
    text = (
        "title: t\ncatalog:\n  courses: [gdpr]\n  license_types:\n    - {id: c, grants: [{course: gdpr}]}\n"
        "timeline:\n"
        "  - {at: 2026-01-01, do: license.issue, license: {id: L1, type: c, to_member: ann}}\n"
        "  - {at: 2026-01-02, expect: {ann: {licenses: {L1: active}}, bob: {licenses: {L1: none}}}}\n"
        "  - {at: 2026-01-03, do: license.assign, id: L1, member: bob}\n"
        "  - {at: 2026-01-04, expect: {ann: {licenses: {L1: none}}, bob: {licenses: {L1: active}}}}\n"
    )
    assert run_scenario(text).failures == []


def test_an_error_code_that_no_service_has_is_refused_with_its_line(run_scenario):
    message = failure_of(
        run_scenario,
        TIMELINE + "  - at: 2026-01-01\n    do: membership.create\n    membership: {member: a, plan: basic}\n"
        "    error: no_such_code\n",
    )
    assert "line 10: error: 'no_such_code' is not an error code" in message


def test_scenario_run_lists_each_file_and_with_v_each_step(tmp_path, db):
    from io import StringIO

    from django.core.management import call_command

    (tmp_path / "ok.yaml").write_text(ACCESS)
    out = StringIO()
    call_command("scenario", "run", "-v", str(tmp_path), stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[0] == f"PASS  {tmp_path / 'ok.yaml'}"
    assert lines[1].strip() == "step 1 (line 9) 2026-01-05 09:30: do order.complete: ok"
    assert lines[2].strip() == "step 2 (line 12) 2026-01-06 00:00: expect ann, bob: ok"
    assert lines[-1] == "1 passed, 0 failed"
