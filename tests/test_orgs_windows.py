"""Properties of the seat and license windows (membersync/access/seats.py), checked on generated facts."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from membersync.access.durations import Duration
from membersync.access.grants import OPEN, access_at, grants_from_window
from membersync.access.rules import SPECIFIC, UNLIMITED, GrantRule, Interval, Length, Target
from membersync.access.seats import (
    HoldingFacts,
    LicenseFacts,
    license_status,
    license_status_through,
    license_window,
    merged_pauses,
    pool_is_paid,
    seat_window,
)
from membersync.access.statuses import LICENSE_ACTIVE as ACTIVE
from membersync.access.statuses import LICENSE_AVAILABLE as AVAILABLE
from membersync.access.statuses import LICENSE_EXPIRED as EXPIRED
from membersync.access.statuses import LICENSE_REVOKED as REVOKED
from membersync.access.statuses import LICENSE_SUSPENDED as SUSPENDED
from membersync.access.subscriptions import SubscriptionFacts, on_hold_intervals, paid_until

BASE = datetime(2026, 1, 1, tzinfo=UTC)
COURSE = Target("course", "gdpr")
RULES = (GrantRule("1", COURSE),)
moments = st.integers(min_value=0, max_value=400 * 24).map(lambda h: BASE + timedelta(hours=h))
STATUSES = ["active", "on-hold", "pending-cancel", "cancelled", "expired"]


@st.composite
def histories(draw):
    """A subscription's changes in time order, and its current status (the last change)."""
    times = sorted(draw(st.lists(moments, min_size=1, max_size=8, unique=True)))
    statuses = draw(st.lists(st.sampled_from(["active", "on-hold"]), min_size=len(times), max_size=len(times)))
    return list(zip(times, statuses, strict=True))


@given(histories(), moments)
def test_a_subscription_is_on_hold_exactly_inside_its_on_hold_intervals(changes, probe):
    intervals = on_hold_intervals(changes, changes[-1][1], changes[-1][0])
    last_before = [status for at, status in changes if at <= probe]
    expected = bool(last_before) and last_before[-1] == "on-hold"
    assert any(i.contains(probe) for i in intervals) == expected


@given(moments, st.integers(1, 24), moments, st.one_of(st.none(), moments))
def test_a_license_grants_only_from_its_assignment_for_its_length(assigned, months, probe, revoked):
    lic = LicenseFacts(
        "L1", "Compliance", Length(SPECIFIC, duration=Duration(months, "months")), RULES, assigned, revoked_at=revoked
    )
    window = license_window(lic, assigned_from=assigned, assigned_until=None)
    ends = Duration(months, "months").after(assigned)
    if revoked is not None:
        ends = min(ends, revoked)
    if window is None:
        assert revoked is not None and revoked <= assigned
        return
    is_open = access_at(grants_from_window(window), probe).get(COURSE)
    assert (is_open is not None and is_open.state == OPEN) == (assigned <= probe < ends)
    status, _ = license_status(lic, assigned_now=True, now=probe)
    if probe >= ends:
        assert status == (REVOKED if revoked is not None and revoked <= probe and revoked == ends else EXPIRED)
    else:
        assert status == ACTIVE


@given(moments, st.one_of(st.none(), moments), histories(), moments)
def test_a_seat_paid_by_a_subscription_is_closed_while_on_hold_and_open_otherwise(start, end, changes, probe):
    if end is not None and end <= start:
        end = None
    last_at, status = changes[-1]
    sub = SubscriptionFacts("S", status, last_at, on_hold=on_hold_intervals(changes, status, last_at))
    holding = HoldingFacts("1", "Acme", "Standard", start, end, subscription=sub)
    access = access_at(grants_from_window(seat_window(holding, RULES)), probe)[COURSE]
    held = start <= probe and (end is None or probe < end)
    on_hold = any(i.contains(probe) for i in sub.on_hold)
    if not held:
        assert access.state == "none"
    elif on_hold:
        # Suspended if the seat had opened before the hold; a seat taken during the hold opens at its end.
        assert access.state in ("suspended", "none")
        assert (access.state == "suspended") == any(i.start > start and i.contains(probe) for i in sub.on_hold)
    else:
        assert access.state == OPEN


def test_an_organization_license_reaches_a_person_only_while_they_hold_a_seat():
    lic = LicenseFacts("ORG1", "Leaders", Length(UNLIMITED), RULES, BASE)
    holding = HoldingFacts("7", "Acme", "Standard", BASE + timedelta(days=3), BASE + timedelta(days=10))
    window = license_window(lic, assigned_from=BASE, assigned_until=None, through=holding, organization="Acme")
    assert (window.start, window.end) == (holding.start, holding.end)
    assert "organization Acme" in window.label and "Standard seat" in window.label


def test_license_statuses_follow_assignment_and_the_paying_subscription():
    on_hold = SubscriptionFacts("S", "on-hold", BASE, on_hold=on_hold_intervals([], "on-hold", BASE))
    cancelled = SubscriptionFacts("S", "cancelled", BASE + timedelta(days=1))
    issued = LicenseFacts("L", "T", Length(UNLIMITED), RULES, None)
    later = BASE + timedelta(days=2)
    assert license_status(issued, assigned_now=False, now=later)[0] == AVAILABLE
    paused = LicenseFacts("L", "T", Length(UNLIMITED), RULES, BASE, subscription=on_hold)
    assert license_status(paused, assigned_now=True, now=later)[0] == SUSPENDED
    ended = LicenseFacts("L", "T", Length(UNLIMITED), RULES, BASE, subscription=cancelled)
    assert license_status(ended, assigned_now=True, now=later)[0] == EXPIRED


# ---- an organization's license stops with the seat it reaches a person through (issue 9, rule 3) ----


@st.composite
def paying_subscriptions(draw, sub_id="S"):
    """A subscription's history of on-hold and active periods, then perhaps its end: cancelled, expired, or
    pending-cancel with a prepaid end still to come."""
    changes = draw(histories())
    final = draw(st.sampled_from([None, "cancelled", "expired", "pending-cancel"]))
    end = None
    if final is not None:
        ended_at = changes[-1][0] + timedelta(hours=draw(st.integers(1, 60 * 24)))
        changes.append((ended_at, final))
        if final == "pending-cancel":
            end = ended_at + timedelta(hours=draw(st.integers(0, 60 * 24)))
    last_at, status = changes[-1]
    return SubscriptionFacts(sub_id, status, last_at, end=end, on_hold=on_hold_intervals(changes, status, last_at))


def state_at(window, probe) -> str:
    if window is None:
        return "none"
    return access_at(grants_from_window(window), probe)[COURSE].state


@settings(max_examples=50, deadline=None)
@given(
    moments,
    st.one_of(st.none(), moments),
    paying_subscriptions(),
    moments,
    st.one_of(st.none(), paying_subscriptions("L")),
    moments,
)
def test_an_organization_license_gives_access_exactly_while_both_it_and_the_seat_do(
    seat_start, seat_end, seat_sub, assigned, license_sub, probe
):
    if seat_end is not None and seat_end <= seat_start:
        seat_end = None
    holding = HoldingFacts("7", "Acme", "Standard", seat_start, seat_end, subscription=seat_sub)
    lic = LicenseFacts("ORG1", "Leaders", Length(UNLIMITED), RULES, assigned, subscription=license_sub)
    seat = state_at(seat_window(holding, RULES), probe)
    alone = state_at(license_window(lic, assigned_from=assigned, assigned_until=None), probe)
    through = license_window(lic, assigned_from=assigned, assigned_until=None, through=holding, organization="Acme")
    reached = state_at(through, probe)

    assert (reached == OPEN) == (seat == OPEN and alone == OPEN)
    # The seat's pauses suspend the license (never open while the seat's subscription is on hold) ...
    if any(p.contains(probe) for p in seat_sub.on_hold):
        assert reached != OPEN
    # ... and the seat's end ends it: after the seat's paying subscription stopped paying, nothing at all.
    paid = paid_until(seat_sub)
    if paid is not None and probe >= paid[0]:
        assert reached == "none"
    if through is not None:
        assert through.start >= max(seat_start, assigned)


@settings(max_examples=50, deadline=None)
@given(moments, paying_subscriptions(), moments, st.one_of(st.none(), moments))
def test_her_status_of_an_organization_license_follows_her_seat(seat_start, seat_sub, probe, revoked):
    if probe < seat_start:
        seat_start, probe = probe, seat_start
    holding = HoldingFacts("7", "Acme", "Standard", seat_start, subscription=seat_sub)
    lic = LicenseFacts("ORG1", "Leaders", Length(UNLIMITED), RULES, BASE, revoked_at=revoked)
    status, rule = license_status_through(lic, [holding], probe)
    paid = paid_until(seat_sub)
    if revoked is not None and probe >= revoked:
        assert status == REVOKED
    elif paid is not None and probe >= paid[0]:
        assert status == EXPIRED and "Standard seat in organization Acme" in rule
    elif any(p.contains(probe) for p in seat_sub.on_hold):
        assert status == SUSPENDED and "on-hold" in rule
    else:
        assert status == ACTIVE
    # A second seat there that gives access keeps the license active for her.
    unpaid_free = HoldingFacts("8", "Acme", "Driver", seat_start)
    if status in (EXPIRED, SUSPENDED) and not (revoked is not None and probe >= revoked):
        assert license_status_through(lic, [holding, unpaid_free], probe)[0] == ACTIVE


intervals = st.tuples(moments, st.one_of(st.none(), st.integers(1, 30 * 24))).map(
    lambda t: Interval(t[0], None if t[1] is None else t[0] + timedelta(hours=t[1]), "paused")
)


@settings(max_examples=50, deadline=None)
@given(st.lists(intervals, max_size=5), st.lists(intervals, max_size=5), moments)
def test_merged_pauses_cover_the_same_time_once_in_order(first, second, probe):
    merged = merged_pauses(first, second)
    assert any(p.contains(probe) for p in merged) == any(p.contains(probe) for p in first + second)
    for earlier, later in zip(merged, merged[1:], strict=False):
        assert earlier.end is not None and earlier.end < later.start


@settings(max_examples=50, deadline=None)
@given(paying_subscriptions(), moments)
def test_a_pool_gives_free_seats_while_it_is_paid_or_on_hold_and_not_once_its_subscription_ended(sub, probe):
    if sub.status in ("active", "on-hold"):
        expected = True
    elif sub.status == "pending-cancel":
        expected = probe < sub.end  # the prepaid period
    else:  # cancelled or expired: from that moment on
        expected = probe < sub.status_since
    assert pool_is_paid(sub, probe) == expected
    assert pool_is_paid(None, probe)  # bought outright
