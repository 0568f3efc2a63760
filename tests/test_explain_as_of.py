# ruff: noqa: E501  (the expected answers are compared whole, line for line)
"""`explain --at T` answers as of T for everything it shows.

A site is built from a scenario's timeline (the scenario runner's own steps: the services, the worker, the one
clock), then explained at past, present and future moments, comparing the WHOLE answer: statuses and the rules that
set them, sources, windows, grants and the ledger up to T, and what a delivery known only later corrected.
"""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.errors import ServiceError
from membersync.members import services
from membersync.members.models import Membership
from membersync.members.subscriptions import subscription_update
from membersync.orgs.models import SeatHolding
from membersync.people.models import Member
from membersync.scenarios.parsing import load
from membersync.scenarios.runner import FileResult, _run
from membersync.sync.models import Event
from membersync.sync.selectors import member_explain
from membersync.sync.worker import worker_run_until

from .conftest import at

# Alice subscribes to Gold (trial to 15 January); her renewal fails on 10 February (on-hold, no grace) and is paid
# on 20 February; she buys Basic on 1 March. On 20 March a delivery arrives late: the subscription was pending
# cancellation, prepaid until 15 March. Until then MemberSync (rightly, on what it knew) kept her access open.
SITE = """
title: alice's first months
catalog:
  courses: [{id: intro, title: Introduction}, {id: advanced, title: Advanced Practice}, bonus, gdpr]
  groups:
    - {id: bundle, title: Compliance Bundle, courses: [gdpr]}
  plans:
    - id: gold
      name: Gold
      length: subscription
      grants:
        - course: intro
        - course: advanced
          after: "45 days"
    - id: basic
      name: Basic
      grants:
        - course: intro
        - course: bonus
          after: "120 days"
    - id: compliance
      name: Compliance
      grants: [{group: bundle}]
  seat_types:
    - {id: standard, grants: [{course: gdpr}]}
timeline:
  - at: 2026-01-01
    do: subscription.update
    subscription: {id: "101", member: alice, plan: gold, status: active, trial_end: 2026-01-15}
  - at: 2026-02-10
    do: subscription.update
    subscription: {id: "101", member: alice, plan: gold, status: on-hold, trial_end: 2026-01-15}
  - at: 2026-02-20
    do: subscription.update
    subscription: {id: "101", member: alice, plan: gold, status: active, trial_end: 2026-01-15}
  - at: 2026-03-01
    do: order.complete
    order: {id: "9", member: alice, plan: basic}
  - at: 2026-03-20
    do: subscription.update
    subscription: {id: "101", member: alice, plan: gold, status: pending-cancel, trial_end: 2026-01-15, end: 2026-03-15}
  - at: 2026-03-21
    expect:
      alice: {courses: [intro], membership: {gold: cancelled, basic: active}}
"""
NOW = at("2026-04-01")


def explain(*args) -> str:
    out = StringIO()
    call_command("explain", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def site(db, set_clock):
    result = FileResult("site")
    _run(load(SITE), result)
    assert result.failures == []
    worker_run_until(NOW)
    # Ids differ between databases (PostgreSQL's sequences are not rolled back): the texts name them by role.
    ids = {f"e{n}": pk for n, pk in enumerate(Event.objects.order_by("pk").values_list("pk", flat=True), 1)}
    ids |= {f"m{n}": pk for n, pk in enumerate(Membership.objects.order_by("pk").values_list("pk", flat=True), 1)}
    return ids


GOLD = "membership in plan Gold, tied to subscription 101"
INTRO = f"{GOLD} grants course intro immediately"
ADVANCED = f"{GOLD} grants course advanced 45 days after the start (paused time not counted)"
BONUS = "membership in plan Basic grants course bonus 120 days after the start (paused time not counted)"
ON_HOLD = "subscription 101 is on-hold since 2026-02-10 00:00"
STORE = "by system:scenario"

WHILE_ON_HOLD = f"""\
alice at 2026-02-15 00:00 UTC, in the past (now is 2026-04-01 00:00 UTC): what was in force then, and what deliveries known only later corrected

Sources:
  {GOLD} [membership {{m1}}]: from 2026-01-01 00:00 with no end
    status paused: {ON_HOLD}
    subscription 101: on-hold since 2026-02-10 00:00
    paused 2026-02-10 00:00 -> still paused: {ON_HOLD}

Access:
  course advanced (Advanced Practice): none
    [pending] {ADVANCED}; opens 5 days after the source resumes (40 of 45 days served)
    ledger 2026-01-01 00:00 scheduled: {ADVANCED}; opens 2026-02-15 00:00 (cause: subscription.update (event {{e1}}), {STORE})
    ledger 2026-02-10 00:00 scheduled: now opens 5 days after the source resumes (40 of 45 days served) (cause: subscription.update (event {{e2}}), {STORE})
  course intro (Introduction): suspended, enrollment start 2026-01-01 00:00
    [suspended] {INTRO}; window 2026-01-01 00:00 -> no end
        suspended 2026-02-10 00:00 -> open: {ON_HOLD}
    ledger 2026-01-01 00:00 opened: {INTRO} (cause: subscription.update (event {{e1}}), {STORE})
    ledger 2026-02-10 00:00 suspended: {ON_HOLD} (cause: subscription.update (event {{e2}}), {STORE})
"""

BEFORE_THE_LATE_DELIVERY = f"""\
alice at 2026-03-17 00:00 UTC, in the past (now is 2026-04-01 00:00 UTC): what was in force then, and what deliveries known only later corrected

Sources:
  {GOLD} [membership {{m1}}]: from 2026-01-01 00:00 with no end
    status active: subscription 101 is active; its free trial ended 2026-01-15 00:00
    subscription 101: active since 2026-02-20 00:00
    paused 2026-02-10 00:00 -> 2026-02-20 00:00: {ON_HOLD}
    corrected later: was active then; a later delivery (subscription.update, received 2026-03-20 00:00) says it was already cancelled (since 2026-03-15 00:00): the prepaid period of subscription 101 ended
  membership in plan Basic [membership {{m2}}]: from 2026-03-01 00:00 with no end
    status active: the membership is active

Access:
  course advanced (Advanced Practice): open, enrollment start 2026-02-25 00:00
    [open] {ADVANCED}; window 2026-02-25 00:00 -> no end
    ledger 2026-01-01 00:00 scheduled: {ADVANCED}; opens 2026-02-15 00:00 (cause: subscription.update (event {{e1}}), {STORE})
    ledger 2026-02-10 00:00 scheduled: now opens 5 days after the source resumes (40 of 45 days served) (cause: subscription.update (event {{e2}}), {STORE})
    ledger 2026-02-20 00:00 scheduled: now opens 2026-02-25 00:00 (cause: subscription.update (event {{e3}}), {STORE})
    ledger 2026-02-25 00:00 opened: {ADVANCED} (cause: scheduled: drip of plan Gold, by clock)
    ledger 2026-03-15 00:00 closed: the prepaid period of subscription 101 ended (cause: subscription.update (event {{e5}}), {STORE}) [recorded 2026-03-20 00:00, after this moment]
    corrected later: was open then; a later delivery (subscription.update, received 2026-03-20 00:00) says it was already closed (since 2026-03-15 00:00)
  course bonus: none
    [pending] {BONUS}; window 2026-06-29 00:00 -> no end
    ledger 2026-03-01 00:00 scheduled: {BONUS}; opens 2026-06-29 00:00 (cause: order.complete (event {{e4}}), {STORE})
  course intro (Introduction): open, enrollment start 2026-01-11 00:00 (pushed back 10 days by suspension; her access began 2026-01-01 00:00)
    [open] {INTRO}; window 2026-01-01 00:00 -> no end
        suspended 2026-02-10 00:00 -> 2026-02-20 00:00: {ON_HOLD}
    [open] membership in plan Basic grants course intro immediately; window 2026-03-01 00:00 -> no end
    ledger 2026-01-01 00:00 opened: {INTRO} (cause: subscription.update (event {{e1}}), {STORE})
    ledger 2026-02-10 00:00 suspended: {ON_HOLD} (cause: subscription.update (event {{e2}}), {STORE})
    ledger 2026-02-20 00:00 resumed: {INTRO} (cause: subscription.update (event {{e3}}), {STORE})
    ledger 2026-03-01 00:00 opened: membership in plan Basic grants course intro immediately (cause: order.complete (event {{e4}}), {STORE})
    ledger 2026-03-15 00:00 closed: the prepaid period of subscription 101 ended (cause: subscription.update (event {{e5}}), {STORE}) [recorded 2026-03-20 00:00, after this moment]
"""

SOURCES_NOW = f"""\
Sources:
  {GOLD} [membership {{m1}}]: from 2026-01-01 00:00 until 2026-03-15 00:00 (the prepaid period of subscription 101 ended)
    status cancelled: the prepaid period of subscription 101 ended
    subscription 101: pending-cancel since 2026-03-20 00:00
    paused 2026-02-10 00:00 -> 2026-02-20 00:00: {ON_HOLD}
  membership in plan Basic [membership {{m2}}]: from 2026-03-01 00:00 with no end
    status active: the membership is active
"""

ADVANCED_NOW = f"""\
  course advanced (Advanced Practice): none
    [closed] {ADVANCED}; window 2026-02-25 00:00 -> 2026-03-15 00:00
        closes because the prepaid period of subscription 101 ended
    ledger 2026-01-01 00:00 scheduled: {ADVANCED}; opens 2026-02-15 00:00 (cause: subscription.update (event {{e1}}), {STORE})
    ledger 2026-02-10 00:00 scheduled: now opens 5 days after the source resumes (40 of 45 days served) (cause: subscription.update (event {{e2}}), {STORE})
    ledger 2026-02-20 00:00 scheduled: now opens 2026-02-25 00:00 (cause: subscription.update (event {{e3}}), {STORE})
    ledger 2026-02-25 00:00 opened: {ADVANCED} (cause: scheduled: drip of plan Gold, by clock)
    ledger 2026-03-15 00:00 closed: the prepaid period of subscription 101 ended (cause: subscription.update (event {{e5}}), {STORE})
"""

INTRO_NOW = f"""\
  course intro (Introduction): open, enrollment start 2026-01-11 00:00 (pushed back 10 days by suspension; her access began 2026-01-01 00:00)
    [closed] {INTRO}; window 2026-01-01 00:00 -> 2026-03-15 00:00
        closes because the prepaid period of subscription 101 ended
        suspended 2026-02-10 00:00 -> 2026-02-20 00:00: {ON_HOLD}
    [open] membership in plan Basic grants course intro immediately; window 2026-03-01 00:00 -> no end
    ledger 2026-01-01 00:00 opened: {INTRO} (cause: subscription.update (event {{e1}}), {STORE})
    ledger 2026-02-10 00:00 suspended: {ON_HOLD} (cause: subscription.update (event {{e2}}), {STORE})
    ledger 2026-02-20 00:00 resumed: {INTRO} (cause: subscription.update (event {{e3}}), {STORE})
    ledger 2026-03-01 00:00 opened: membership in plan Basic grants course intro immediately (cause: order.complete (event {{e4}}), {STORE})
    ledger 2026-03-15 00:00 closed: the prepaid period of subscription 101 ended (cause: subscription.update (event {{e5}}), {STORE})
"""

PRESENT = f"""\
alice at 2026-04-01 00:00 UTC (now)

{SOURCES_NOW}
Access:
{ADVANCED_NOW}\
  course bonus: none
    [pending] {BONUS}; window 2026-06-29 00:00 -> no end
    ledger 2026-03-01 00:00 scheduled: {BONUS}; opens 2026-06-29 00:00 (cause: order.complete (event {{e4}}), {STORE})
{INTRO_NOW}"""

FUTURE = f"""\
alice at 2026-07-01 00:00 UTC, a preview (now is 2026-04-01 00:00 UTC): from her sources as they stand now; events still to come can change it

{SOURCES_NOW}
Access:
{ADVANCED_NOW}\
  course bonus: open, enrollment start 2026-06-29 00:00
    [open] {BONUS}; window 2026-06-29 00:00 -> no end
    ledger 2026-03-01 00:00 scheduled: {BONUS}; opens 2026-06-29 00:00 (cause: order.complete (event {{e4}}), {STORE})
{INTRO_NOW}"""


def test_a_past_moment_while_on_hold_is_explained_as_it_was_then(site):
    assert explain("alice", "--at", "2026-02-15") == WHILE_ON_HOLD.format(**site)


def test_a_past_moment_shows_what_was_in_force_and_what_a_late_delivery_corrected(site):
    assert explain("alice", "--at", "2026-03-17") == BEFORE_THE_LATE_DELIVERY.format(**site)


def test_the_present_moment(site):
    assert explain("alice") == PRESENT.format(**site)
    assert explain("alice", "--at", "2026-04-01") == PRESENT.format(**site)


def test_a_future_moment_is_a_preview_from_the_sources_as_they_stand(site):
    assert explain("alice", "--at", "2026-07-01") == FUTURE.format(**site)


def test_a_course_none_of_her_sources_grant_names_what_would(site):
    assert explain("alice", "gdpr") == (
        "alice at 2026-04-01 00:00 UTC (now)\n\n" + SOURCES_NOW.format(**site) + "\nAccess:\n"
        "  course gdpr: none of her sources grant it\n"
        "    it would be granted by: plan compliance (Compliance), through group bundle; seat type standard\n"
    )


def test_a_course_nothing_in_the_catalog_grants_says_so_and_an_unknown_id_is_refused(site):
    catalog.course_create(external_id="orphan", title="Orphan")
    assert explain("alice", "orphan").endswith(
        "  course orphan (Orphan): none of her sources grant it\n    nothing in the catalog grants it\n"
    )
    with pytest.raises(CommandError, match="no course or group with id 'nope'"):
        explain("alice", "nope")
    with pytest.raises(ServiceError) as refused:
        member_explain(member=Member.objects.get(external_id="alice"), at=NOW, target_id="nope")
    assert (refused.value.code, refused.value.message) == ("not_found", "no course or group with id 'nope'")


# --- statuses as of T, one rule at a time -----------------------------------------------------------------------


@pytest.fixture
def gold(db, set_clock):
    set_clock(at("2026-01-01"))
    catalog.course_create(external_id="intro")
    catalog.course_create(external_id="advanced")
    catalog.plan_create(
        external_id="gold",
        name="Gold",
        length="subscription",
        grants=[{"course": "intro"}, {"course": "advanced", "after": "90 days"}],
    )
    catalog.plan_create(external_id="basic", name="Basic", grants=[{"course": "intro"}])


def update(moment, status, **fields):
    worker_run_until(moment)
    state = {"id": "101", "member": "alice", "plan": "gold", "status": status, **fields}
    subscription_update(subscription=state, actor=Actor.connection("store"))


def test_a_past_moment_shows_the_status_then_not_a_later_one_that_was_not_backdated(gold):
    update(at("2026-01-01"), "active")
    update(at("2026-02-01"), "pending-cancel", end=at("2026-03-01"))
    worker_run_until(at("2026-04-01"))
    text = explain("alice", "--at", "2026-01-15")
    assert (
        "    status active: subscription 101 is active\n    subscription 101: active since 2026-01-01 00:00\n" in text
    )
    assert "pending" not in text.split("Access:")[0] and "corrected later" not in text
    # The drip was still going to open then: it was withdrawn on 1 February, after that moment.
    assert "    [pending] membership in plan Gold, tied to subscription 101 grants course advanced" in text
    assert "withdrawn" not in text
    later = explain("alice", "--at", "2026-02-15")
    assert "status pending_cancel: subscription 101 is pending cancellation; access until 2026-03-01 00:00" in later
    assert "; never opens, because its source ends 2026-03-01 00:00 (the prepaid period of subscription 101 ended)" in (
        later
    )
    assert "ledger 2026-02-01 00:00 withdrawn:" in later
    gone = explain("alice", "--at", "2026-03-15")
    assert "[never opened] membership in plan Gold" in gone and "never opened, because its source ended" in gone


def test_a_membership_an_admin_cancelled_later_was_active_before(gold, set_clock):
    services.membership_create(member_id="bob", plan_id="basic", actor=Actor.operator("admin"))
    set_clock(at("2026-02-01"))
    services.membership_cancel(member_id="bob", plan_id="basic", actor=Actor.operator("admin"))
    text = explain("bob", "--at", "2026-01-15")
    assert "membership in plan Basic [membership" in text and ": from 2026-01-01 00:00 with no end\n" in text
    assert "    status active: the membership is active\n" in text
    assert "  course intro: open, enrollment start 2026-01-01 00:00\n" in text
    assert "cancelled" not in text


def test_a_membership_made_known_only_later_is_not_in_force_then(gold, set_clock):
    update(at("2026-01-01"), "active")
    # Bought on 1 March, but the order reached MemberSync only on 10 March with its true start: an admin records it.
    set_clock(at("2026-03-10"))
    services.membership_create(
        member_id="alice", plan_id="basic", start=at("2026-03-01"), actor=Actor.operator("admin")
    )
    text = explain("alice", "--at", "2026-03-05")
    assert "  (not known then) membership in plan Basic [membership" in text
    assert (
        "corrected later: not known then; a later change (recorded 2026-03-10 00:00) says it had already started"
        in (text)
    )
    intro = text.split("  course intro: ", 1)[1]
    assert intro.startswith("open, enrollment start 2026-01-01 00:00\n")
    assert "    [open] membership in plan Basic" not in intro  # its grant was not in force then


ORG = """
catalog:
  courses: [safety, gdpr]
  seat_types: [{id: standard, name: Standard, grants: [{course: safety}]}]
  license_types: [{id: compliance, name: Compliance, grants: [{course: gdpr}], length: "12 months"}]
timeline:
  - {at: 2026-01-01, do: org.create, org: {id: acme, name: Acme, owner: olivia}}
  - {at: 2026-01-01, do: seats.add, org: acme, seat_type: standard, quantity: 2}
  - {at: 2026-01-02, do: seats.assign, org: acme, member: sam}
  - {at: 2026-01-02, do: license.issue, license: {id: L1, type: compliance, to_member: sam}}
  - {at: 2026-02-01, do: license.assign, id: L1, member: tina}
  - {at: 2026-03-01, do: seats.release, org: acme, member: sam}
"""
SEAT = "Standard seat in organization Acme [seat {seat}]: from 2026-01-02 00:00 until 2026-03-01 00:00 (seat released by MemberSync)"
LICENSE = "license L1 (Compliance) [license L1]: from 2026-01-02 00:00 until 2026-02-01 00:00 (license L1 was reassigned by MemberSync)"


def test_seat_and_license_statuses_are_as_of_the_moment_and_ends_made_later_say_so(db, set_clock):
    result = FileResult("org")
    _run(load(ORG), result)
    assert result.failures == []
    worker_run_until(at("2026-04-01"))
    seat = SeatHolding.objects.get(member__external_id="sam").pk  # the id the seat's source goes by

    def sources(day: str) -> str:
        return explain("sam", "--at", day).split("\nSources:\n", 1)[1].split("\nAccess:", 1)[0]

    assert sources("2026-01-15") == (
        f"  {SEAT.format(seat=seat)}\n"
        "    status held: held since 2026-01-02 00:00\n"
        "    corrected later: its end on 2026-03-01 00:00 was not known then: a later seats.release (received 2026-03-01 00:00) made it\n"
        f"  {LICENSE}\n"
        "    status active: assigned since 2026-01-02 00:00\n"
        "    corrected later: its end on 2026-02-01 00:00 was not known then: a later license.assign (received 2026-02-01 00:00) made it\n"
    )
    assert sources("2026-02-15") == (
        f"  {SEAT.format(seat=seat)}\n"
        "    status held: held since 2026-01-02 00:00\n"
        "    corrected later: its end on 2026-03-01 00:00 was not known then: a later seats.release (received 2026-03-01 00:00) made it\n"
        f"  {LICENSE}\n"
        "    status none: license L1 was reassigned by MemberSync\n"
    )
    assert sources("2026-03-15") == (
        f"  {SEAT.format(seat=seat)}\n"
        "    status ended: seat released by MemberSync\n"
        f"  {LICENSE}\n"
        "    status none: license L1 was reassigned by MemberSync\n"
    )
