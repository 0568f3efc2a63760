"""What a grant says about its opening, from the rules alone: never (its source ends first), after the source
resumes (with how much of the drip was served), by time (what schedules it); and how far suspensions pushed a
target's enrollment start back."""

from datetime import timedelta

from membersync.access.durations import Duration
from membersync.access.grants import access_at, grants_from_window
from membersync.access.rules import GrantRule, Interval, Schedule, Target
from membersync.access.sources import SourceWindow

from .conftest import at

START = at("2026-01-01")
COURSE = Target("course", "advanced")


def window(*rules: GrantRule, **fields) -> SourceWindow:
    return SourceWindow(
        kind="membership",
        id="1",
        label="membership in plan Gold, tied to subscription 101",
        rules=rules,
        start=START,
        **fields,
    )


def drip(days: int) -> GrantRule:
    return GrantRule("r1", COURSE, Schedule(after=Duration(days, "days")))


def test_a_drip_later_than_the_end_never_opens_and_says_why():
    end = at("2026-03-01")
    (grant,) = grants_from_window(window(drip(90), end=end, end_reason="the prepaid period of subscription 101 ended"))
    assert grant.never_opens
    assert grant.opening() == (
        "never opens, because its source ends 2026-03-01 00:00 (the prepaid period of subscription 101 ended) "
        "before it would open on 2026-04-01 00:00"
    )
    assert grant.opening(at("2026-03-02")).startswith("never opened, because its source ended 2026-03-01 00:00")


def test_a_drip_held_by_a_pause_says_how_long_after_the_resume_it_opens():
    pauses = (Interval(START + timedelta(days=1), START + timedelta(days=3)), Interval(START + timedelta(days=7)))
    (grant,) = grants_from_window(window(drip(14), pauses=pauses))
    assert grant.opens is None
    assert grant.opening() == "opens 9 days after the source resumes (5 of 14 days served)"


def test_a_grant_due_while_paused_opens_when_the_source_resumes():
    immediately = GrantRule("r1", COURSE)
    (grant,) = grants_from_window(window(immediately, pauses=(Interval(START),)))
    assert grant.opening() == "opens when the source resumes"


def test_what_opens_a_grant_by_time_is_named_after_its_template():
    on_date = GrantRule("r2", COURSE, Schedule(on=at("2026-02-01")))
    after_trial = GrantRule("r3", COURSE, Schedule(after_trial=True))
    immediately = GrantRule("r4", COURSE)
    grants = grants_from_window(window(drip(14), on_date, after_trial, immediately, trial_end=at("2026-01-15")))
    assert [g.scheduled for g in grants] == [
        "drip of plan Gold",
        "date 2026-02-01 of plan Gold",
        "trial end of plan Gold",
        "",
    ]


def test_the_enrollment_start_says_how_far_suspension_pushed_it_back():
    immediately = GrantRule("r1", COURSE)
    paused = window(immediately, pauses=(Interval(START + timedelta(days=10), START + timedelta(days=20)),))
    access = access_at(grants_from_window(paused), at("2026-02-01"))[COURSE]
    assert (access.run_start, access.pushed_back, access.access_from) == (
        START,
        timedelta(days=10),
        START + timedelta(days=10),
    )
