"""Properties of the pure access rules (membersync/access), checked on generated sources."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from membersync.access.durations import Duration, add_months
from membersync.access.grants import OPEN, access_at, grants_from_window, next_change
from membersync.access.rules import SPECIFIC, UNLIMITED, GrantRule, Interval, Length, Schedule, Target
from membersync.access.sources import MembershipFacts, PlanFacts, SourceWindow, membership_state, membership_window

BASE = datetime(2026, 1, 1, tzinfo=UTC)
COURSES = [Target("course", c) for c in "abcdef"]

moments = st.integers(min_value=0, max_value=400 * 24).map(lambda h: BASE + timedelta(hours=h))
durations = st.builds(Duration, st.integers(min_value=0, max_value=40), st.sampled_from(["days", "weeks", "months"]))
relative_rules = st.lists(
    st.builds(
        lambda i, target, after, trial: GrantRule(str(i), target, Schedule(after=after, after_trial=trial)),
        st.integers(0, 9999),
        st.sampled_from(COURSES),
        st.one_of(st.none(), durations),
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
    unique_by=lambda r: r.key,
)


@st.composite
def windows(draw):
    start = draw(moments)
    end = draw(st.one_of(st.none(), moments.filter(lambda m: m > start)))
    pauses = []
    cursor = start
    for _ in range(draw(st.integers(0, 3))):
        cursor += timedelta(hours=draw(st.integers(1, 2000)))
        length = timedelta(hours=draw(st.integers(1, 2000)))
        pauses.append(Interval(cursor, cursor + length, "paused"))
        cursor += length
    return SourceWindow(
        kind="membership",
        id=str(draw(st.integers(0, 10**6))),
        label="generated",
        rules=tuple(draw(relative_rules)),
        start=start,
        end=end,
        pauses=tuple(pauses),
        trial_end=draw(st.one_of(st.none(), moments)),
    )


def open_targets(ws, now):
    grants = [g for w in ws for g in grants_from_window(w)]
    return {t for t, a in access_at(grants, now).items() if a.state == OPEN}


@given(st.lists(windows(), max_size=4), windows(), moments)
def test_adding_a_source_never_removes_access(existing, extra, now):
    assert open_targets(existing, now) <= open_targets([*existing, extra], now)


@st.composite
def membership_with_pause(draw):
    start = draw(moments)
    plan = PlanFacts(
        id="p",
        name="P",
        length=draw(st.sampled_from([Length(UNLIMITED), Length(SPECIFIC, duration=Duration(60, "days"))])),
        rules=tuple(r for r in draw(relative_rules) if not r.schedule.after_trial) or (GrantRule("x", COURSES[0]),),
    )
    pause_start = start + timedelta(hours=draw(st.integers(1, 24 * 200)))
    pause_length = timedelta(hours=draw(st.integers(1, 24 * 100)))
    return plan, start, pause_start, pause_length


@given(membership_with_pause())
def test_a_pause_of_length_d_shifts_every_later_boundary_by_exactly_d(case):
    plan, start, pause_start, d = case
    unpaused = membership_window(MembershipFacts(id="1", plan=plan, start=start))
    paused = membership_window(
        MembershipFacts(id="1", plan=plan, start=start, pauses=(Interval(pause_start, pause_start + d),))
    )
    before = {g.key: g for g in grants_from_window(unpaused)}
    for grant in grants_from_window(paused):
        original = before[grant.key]
        if original.opens < pause_start:
            assert grant.opens == original.opens
        else:
            assert grant.opens == original.opens + d
    if unpaused.end is not None:
        assert paused.end == (unpaused.end + d if unpaused.end > pause_start else unpaused.end)


@given(membership_with_pause(), moments)
def test_a_resumed_enrollment_keeps_its_start_shifted_by_the_paused_time(case, now):
    plan, start, pause_start, d = case
    window = membership_window(
        MembershipFacts(id="1", plan=plan, start=start, pauses=(Interval(pause_start, pause_start + d),))
    )
    grants = grants_from_window(window)
    for target, access in access_at(grants, now).items():
        if access.state != OPEN:
            continue
        first_open = min(g.opens for g in grants if g.target == target and g.opens <= now)
        paused_after_open = Interval(max(first_open, pause_start), pause_start + d).length_until(now)
        if pause_start + d <= now:
            assert access.access_from == first_open + paused_after_open


@given(st.lists(windows(), max_size=4), moments)
@settings(max_examples=200)
def test_nothing_changes_between_now_and_the_next_change(ws, now):
    grants = [g for w in ws for g in grants_from_window(w)]
    upcoming = next_change(ws, grants, now)
    later = upcoming - timedelta(seconds=1) if upcoming else now + timedelta(days=3650)
    if later > now:
        states_now = {t: (a.state, a.access_from) for t, a in access_at(grants, now).items()}
        states_later = {t: (a.state, a.access_from) for t, a in access_at(grants, later).items()}
        assert states_now == states_later


def test_switching_between_plans_that_share_a_course_keeps_the_enrollment_start():
    switch = BASE + timedelta(days=10)
    old = SourceWindow("membership", "1", "silver", (GrantRule("a", COURSES[0]),), start=BASE, end=switch)
    new = SourceWindow("membership", "2", "gold", (GrantRule("b", COURSES[0]),), start=switch)
    access = access_at(grants_from_window(old) + grants_from_window(new), switch + timedelta(days=1))
    assert access[COURSES[0]].state == OPEN
    assert access[COURSES[0]].access_from == BASE


def test_a_gap_between_sources_restarts_the_enrollment():
    old = SourceWindow(
        "membership", "1", "silver", (GrantRule("a", COURSES[0]),), start=BASE, end=BASE + timedelta(days=10)
    )
    later = BASE + timedelta(days=20)
    new = SourceWindow("membership", "2", "gold", (GrantRule("b", COURSES[0]),), start=later)
    access = access_at(grants_from_window(old) + grants_from_window(new), later + timedelta(days=1))
    assert access[COURSES[0]].access_from == later


def test_months_are_calendar_months():
    assert add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert Duration.parse("1 year").after(datetime(2028, 2, 29, tzinfo=UTC)) == datetime(2029, 2, 28, tzinfo=UTC)


def test_a_set_length_membership_paused_ten_days_ends_ten_days_later():
    plan = PlanFacts("b", "Bootcamp", Length(SPECIFIC, duration=Duration(30, "days")), (GrantRule("x", COURSES[0]),))
    pause = Interval(BASE + timedelta(days=4), BASE + timedelta(days=14))
    facts = MembershipFacts(id="1", plan=plan, start=BASE, pauses=(pause,))
    assert membership_window(facts).end == BASE + timedelta(days=40)
    assert membership_state(facts, BASE + timedelta(days=39)).status == "active"
    assert membership_state(facts, BASE + timedelta(days=40)).status == "expired"
