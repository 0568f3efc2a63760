"""Random subscription histories, faulty deliveries of them, and the comparison that says they converge (issue 8).

A **history** is what a store sends about one member's subscriptions when nothing goes wrong: every state of each
subscription (its whole state, with `start` and `modified` as a real payload has them), once, on time, in order.
The statuses follow the store's own transitions (a cancelled, expired or switched subscription never comes back;
a pending cancellation is reactivated only before its prepaid end, and is cancelled at it; one with a limited
number of billing periods expires at its end date); a tied subscription may be switched to the other tied plan,
with or without its own `switched` update.

A **case** is a history delivered badly: each delivery late by up to 15 days (after the worker has done what
time brought, such as a prepaid end), some sent twice or three times (with the same delivery key, or a new
one), some dropped (never the last delivery of a subscription: "the last state always arrives"), and arriving
in whatever order the delays give.

Two claims, each checked by `assert_converges`:

- `cases(recoverable=False)`: any faults. The end result (enrollments with their access_from, membership
  statuses) is the same as the clean delivery of the deliveries that were not stale when they arrived, and
  nothing is refused. Lateness, duplicates and order change nothing; a drop loses only what it carried.
- `cases(recoverable=True)`: drops and reorders limited to what the rules can recover from: the same result as
  the clean delivery of the whole history. A delivery may be lost, or arrive after a newer one (and so be
  stale), only if it is *redundant*: a renewal that changes no status or end; everything before a payment
  plan's final `expired` when it was never on-hold or pending cancellation (the expired state and its `start`
  say it all); a `pending` state; a switch whose old side also sent its own `switched` update. (A lost on-hold
  or reactivation cannot be recovered by any receiver: nothing that arrives says it happened.)

`convergence_check(histories=N, recoverable=...)` runs the claim on N random cases outside pytest, on the
configured database (each case in a transaction that is rolled back): `membersync bench convergence --histories N`.
It needs hypothesis (installed with the project's dev extras, as `make test` and `make demo` do).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membersync import clock
from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.errors import ServiceError
from membersync.members.selectors import membership_states
from membersync.members.subscriptions import subscription_switch, subscription_update
from membersync.people.models import Member
from membersync.sync.models import Enrollment, Event
from membersync.sync.worker import worker_run_until

T0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
MEMBER = "ann"
STORE = Actor.connection("store")
TIED = ("gold", "silver")
PLANS = (*TIED, "term", "lifetime")
MAX_DELAY = timedelta(days=15)
SETTLE = timedelta(days=40)  # after the last state, long enough for drips, ends and lengths to come


def catalog_create() -> None:
    catalog.course_create(external_id="intro")
    catalog.course_create(external_id="advanced")
    drip = [{"course": "intro"}, {"course": "advanced", "after": "10 days"}]
    catalog.plan_create(external_id="gold", length="subscription", grants=drip, on_hold_grace="2 days")
    catalog.plan_create(external_id="silver", length="subscription", grants=[{"course": "intro"}])
    catalog.plan_create(external_id="term", length="60 days", grants=drip)
    catalog.plan_create(external_id="lifetime", length="unlimited", grants=[{"course": "intro"}])


# --- histories ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    index: int
    kind: str  # "update" | "switch"
    state: Mapping  # the whole state the store sends (a switch: the new subscription's)
    from_id: str | None = None  # a switch: the subscription switched from
    redundant: bool = False  # losing it, or having it arrive after a newer one, loses nothing (see above)

    @property
    def modified(self) -> datetime:
        return self.state["modified"]

    @property
    def subscriptions(self) -> tuple[str, ...]:
        return (self.from_id, self.state["id"]) if self.kind == "switch" else (self.state["id"],)

    def __repr__(self) -> str:
        what = f"switch {self.from_id}->" if self.kind == "switch" else ""
        flag = " (redundant)" if self.redundant else ""
        return f"#{self.index} {what}{self.state['id']} {self.state['status']} @{self.modified:%m-%d %H:%M}{flag}"


@dataclass(frozen=True)
class History:
    deliveries: tuple[Delivery, ...]

    def last_indices(self) -> set[int]:
        """The last delivery about each subscription: it always arrives."""
        last: dict[str, int] = {}
        for d in self.deliveries:
            for sub in d.subscriptions:
                last[sub] = d.index
        return set(last.values())

    @property
    def end(self) -> datetime:
        return max(d.modified for d in self.deliveries)


TRANSITIONS = {
    "pending": ("active", "cancelled"),
    "active": ("active", "on-hold", "pending-cancel", "cancelled", "expired", "switch"),
    "on-hold": ("active", "on-hold", "cancelled"),
    "pending-cancel": ("active", "pending-cancel", "cancelled"),
}


@st.composite
def histories(draw, max_states: int = 7) -> History:
    plan = draw(st.sampled_from(PLANS))
    sub, start, t = "s1", T0, T0
    trial_end = T0 + timedelta(days=7) if plan in TIED and draw(st.booleans()) else None
    # a tied subscription with a limited number of billing periods: the store expires it at its end date
    term_end = T0 + timedelta(days=draw(st.integers(min_value=20, max_value=120))) if plan in TIED else None
    term_end = term_end if draw(st.booleans()) else None
    prepaid_end: datetime | None = None
    deliveries: list[Delivery] = []

    def state(status: str) -> dict:
        whole = {"id": sub, "member": MEMBER, "plan": plan, "status": status, "start": start, "modified": t}
        if trial_end is not None:
            whole["trial_end"] = trial_end
        if status in ("active", "on-hold"):
            whole["next_payment"] = t + timedelta(days=30)
        if status in ("active", "on-hold", "expired") and term_end is not None:
            whole["end"] = term_end
        if status == "pending-cancel":
            whole["end"] = prepaid_end
        return whole

    def add(kind: str, whole: dict, *, from_id: str | None = None, redundant: bool = False) -> None:
        deliveries.append(Delivery(len(deliveries), kind, whole, from_id, redundant))

    status = draw(st.sampled_from(("pending", "active")))
    add("update", state(status), redundant=status == "pending")
    switched = False
    for _ in range(draw(st.integers(min_value=2, max_value=max_states - 1))):
        options = [o for o in TRANSITIONS.get(status, ()) if o != "switch" or (plan in TIED and not switched)]
        if not options:
            break
        after = draw(st.sampled_from(options))
        if status == "pending-cancel" and after == "cancelled":
            t = prepaid_end + timedelta(hours=draw(st.integers(min_value=0, max_value=72)))  # the store cancels it
        elif status == "pending-cancel":  # reactivated, or cancelled again, before the prepaid end
            room = int((prepaid_end - t).total_seconds() // 3600)
            if room < 2:
                continue
            t += timedelta(hours=draw(st.integers(min_value=1, max_value=room - 1)))
        else:
            t += timedelta(hours=draw(st.integers(min_value=1, max_value=20 * 24)))
        if term_end is not None and status in ("active", "on-hold") and t >= term_end:
            after, t = "expired", term_end + timedelta(hours=draw(st.integers(min_value=0, max_value=72)))
        if after == "switch":
            old_plan, plan = plan, next(p for p in TIED if p != plan)
            old, sub, start, trial_end, term_end = sub, "s2", t, None, None
            new = state("active")
            own_update = draw(st.booleans())
            add("switch", new, from_id=old, redundant=own_update)
            if own_update:
                whole = {"id": old, "member": MEMBER, "plan": old_plan, "status": "switched", "modified": t}
                add("update", whole | {"start": T0})
            add("update", dict(new))
            status, switched = "active", True
            continue
        if after == "pending-cancel" and status != "pending-cancel":
            prepaid_end = t + timedelta(days=draw(st.integers(min_value=1, max_value=15)))
        status, repeated = after, after == status
        add("update", state(status), redundant=repeated)

    deliveries = _paid_off(deliveries)
    return History(tuple(deliveries))


def _paid_off(deliveries: list[Delivery]) -> list[Delivery]:
    """A payment plan that ends `expired` and was never on-hold or pending cancellation: its final state, with
    its start, says everything the earlier ones did (the membership its own length gives)."""
    mine = [d for d in deliveries if d.kind == "update"]
    first, last = mine[0], mine[-1]
    statuses = {d.state["status"] for d in mine}
    if first.state["plan"] in TIED or last.state["status"] != "expired" or statuses & {"on-hold", "pending-cancel"}:
        return deliveries
    return [replace(d, redundant=True) if d.index != last.index else d for d in deliveries]


# --- faulty deliveries --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    delivery: Delivery
    at: datetime
    key: str | None  # the store's delivery key: a copy with the same key is a duplicate of it
    copy: int = 0

    def __repr__(self) -> str:
        return f"{self.delivery!r} arrives @{self.at:%m-%d %H:%M}{' key' if self.key else ''}"


@dataclass(frozen=True)
class Case:
    history: History
    arrivals: tuple[Arrival, ...]  # in arrival order
    recoverable: bool = True

    @property
    def final(self) -> datetime:
        """Both deliveries are compared here: after every arrival, and long after the last state."""
        return max(self.history.end + SETTLE, max(a.at for a in self.arrivals) + timedelta(days=1))


def clean(history: History, indices: set[int] | None = None) -> tuple[Arrival, ...]:
    """The clean delivery: each state once, on time, in order (only those in `indices`, if given)."""
    return tuple(Arrival(d, d.modified, None) for d in history.deliveries if indices is None or d.index in indices)


@st.composite
def cases(draw, *, recoverable: bool) -> Case:
    history = draw(histories())
    last = history.last_indices()
    arrivals: list[Arrival] = []
    for d in history.deliveries:
        droppable = d.index not in last and (d.redundant or not recoverable)
        if droppable and draw(st.booleans()):
            continue
        for copy in range(1 + draw(st.integers(min_value=0, max_value=2))):
            delay = draw(st.one_of(st.just(0), st.integers(min_value=1, max_value=MAX_DELAY.days * 24)))
            key = f"delivery-{d.index}" if draw(st.booleans()) else None
            arrivals.append(Arrival(d, d.modified + timedelta(hours=delay), key, copy))
    if recoverable:
        arrivals = _in_time(arrivals)
    arrivals.sort(key=lambda a: (a.at, a.delivery.index, a.copy))
    return Case(history, tuple(arrivals), recoverable)


def _in_time(arrivals: list[Arrival]) -> list[Arrival]:
    """Move each non-redundant delivery's first arrival before every newer delivery about the same subscription,
    so that it is never stale: only redundant ones may be overtaken."""
    first: dict[int, Arrival] = {}
    for a in sorted(arrivals, key=lambda a: a.at):
        first.setdefault(a.delivery.index, a)
    by_sub: dict[str, list[Delivery]] = defaultdict(list)
    for a in first.values():
        for sub in a.delivery.subscriptions:
            by_sub[sub].append(a.delivery)
    moved: dict[int, datetime] = {}
    for deliveries in by_sub.values():
        earliest_newer = None
        for modified in sorted({d.modified for d in deliveries}, reverse=True):
            same = [d for d in deliveries if d.modified == modified]
            for d in same:
                at = moved.get(d.index, first[d.index].at)
                if not d.redundant and earliest_newer is not None and at > earliest_newer:
                    moved[d.index] = at = earliest_newer
            times = [moved.get(d.index, first[d.index].at) for d in same]
            earliest_newer = min([*times, earliest_newer] if earliest_newer else times)
    return [
        replace(a, at=moved[a.delivery.index]) if first.get(a.delivery.index) is a and a.delivery.index in moved else a
        for a in arrivals
    ]


# --- running and comparing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    enrollments: tuple[tuple, ...]  # (kind, id, status, access_from, suspended_since)
    memberships: tuple[tuple[str, str], ...]  # (plan, status), every membership
    outcomes: dict[int, set[str]] = field(default_factory=dict, compare=False)  # delivery -> event outcomes

    def applied(self) -> set[int]:
        return {index for index, seen in self.outcomes.items() if Event.APPLIED in seen}

    def refused(self) -> set[int]:
        return {index for index, seen in self.outcomes.items() if "refused" in seen}


def deliver(arrival: Arrival) -> str:
    """Hand one delivery to the services as a webhook would; the inbox's outcome for it."""
    d = arrival.delivery
    try:
        if d.kind == "switch":
            result = subscription_switch(from_id=d.from_id, to=dict(d.state), actor=STORE, idempotency_key=arrival.key)
        else:
            result = subscription_update(subscription=dict(d.state), actor=STORE, idempotency_key=arrival.key)
    except ServiceError:
        return "refused"
    return Event.objects.get(pk=result.event_id).outcome


def run(arrivals: tuple[Arrival, ...], final: datetime) -> Outcome:
    """Deliver on a fresh catalog, letting the worker do what time brings between arrivals, then run it to
    `final`; everything is rolled back afterwards."""
    outcomes: dict[int, set[str]] = defaultdict(set)
    try:
        with transaction.atomic():
            catalog_create()
            for arrival in arrivals:
                worker_run_until(arrival.at)
                outcomes[arrival.delivery.index].add(deliver(arrival))
            worker_run_until(final)
            outcome = observe(final)
            transaction.set_rollback(True)
    finally:
        clock.set_time(None)
    return replace(outcome, outcomes=dict(outcomes))


def observe(final: datetime) -> Outcome:
    member = Member.objects.filter(external_id=MEMBER).first()
    if member is None:
        return Outcome((), ())
    enrollments = tuple(
        sorted(
            Enrollment.objects.filter(member=member).values_list(
                "target_kind", "target_id", "status", "access_from", "suspended_since"
            )
        )
    )
    statuses = membership_states(member, final).values()
    return Outcome(enrollments, tuple(sorted((plan, state.status) for plan, state in statuses)))


def assert_converges(case: Case) -> None:
    """The faulty delivery ends as the clean one: of the whole history when the faults are recoverable, else of
    the deliveries that were not stale when they arrived. Nothing a store sends in a history is refused."""
    faulty = run(case.arrivals, case.final)
    assert not faulty.refused(), f"refused {sorted(faulty.refused())} in {case}"
    if case.recoverable:  # the fault model's own promise: only redundant deliveries were lost or overtaken
        needed = {d.index for d in case.history.deliveries if not d.redundant}
        assert needed <= faulty.applied(), f"not applied: {sorted(needed - faulty.applied())} in {case}"
    reference = clean(case.history, None if case.recoverable else faulty.applied())
    expected = run(reference, case.final)
    assert faulty == expected, (
        f"\nhistory: {list(case.history.deliveries)}\narrivals: {list(case.arrivals)}"
        f"\nfaulty:   {faulty}\nexpected: {expected}"
    )


def convergence_check(*, histories: int, recoverable: bool = True) -> int:
    """Check the claim on up to `histories` random cases; returns how many were tried. Raises AssertionError with
    the smallest failing case found."""
    tried = 0

    @settings(
        max_examples=histories,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(case=cases(recoverable=recoverable))
    def check(case: Case) -> None:
        nonlocal tried
        tried += 1
        assert_converges(case)

    check()
    return tried


# --- the three faults of issue 8, as cases --------------------------------------------------------------------


def _case(deliveries: list[tuple], arrivals: list[tuple[int, timedelta]], *, recoverable: bool = True) -> Case:
    """deliveries: (kind, state, from_id?, redundant?); arrivals: (delivery index, delay after its modified)."""
    history = History(tuple(Delivery(i, *spec) for i, spec in enumerate(deliveries)))
    return Case(
        history,
        tuple(Arrival(history.deliveries[i], history.deliveries[i].modified + delay, None) for i, delay in arrivals),
        recoverable,
    )


def _state(sub: str, plan: str, status: str, modified: datetime, **more) -> dict:
    return {"id": sub, "member": MEMBER, "plan": plan, "status": status, "start": T0, "modified": modified, **more}


_SWITCH_AT = T0 + timedelta(days=9)
_NEW = _state("s2", "gold", "active", _SWITCH_AT) | {"start": _SWITCH_AT}
# a: the new subscription's own update arrives before the switch (which was refused as a duplicate).
FAULT_A_SWITCH_NEW_FIRST = _case(
    [("update", _state("s1", "silver", "active", T0)), ("switch", _NEW, "s1"), ("update", dict(_NEW))],
    [(0, timedelta(0)), (2, timedelta(0)), (1, timedelta(hours=1))],
)
_ENDS = T0 + timedelta(days=20)
# b: a reactivation made before the prepaid end arrives three days after it (the membership stayed cancelled).
FAULT_B_LATE_REACTIVATION = _case(
    [
        ("update", _state("s1", "gold", "active", T0)),
        ("update", _state("s1", "gold", "pending-cancel", T0 + timedelta(days=10), end=_ENDS)),
        ("update", _state("s1", "gold", "active", _ENDS - timedelta(days=2))),
        ("update", _state("s1", "gold", "active", _ENDS + timedelta(days=20)), None, True),
    ],
    [(0, timedelta(0)), (1, timedelta(0)), (2, timedelta(days=5)), (3, timedelta(0))],
)
# c: a payment plan whose earlier deliveries were lost is first seen expired (it made no membership).
FAULT_C_PAID_OFF_FIRST_SEEN_EXPIRED = _case(
    [
        ("update", _state("s1", "lifetime", "active", T0), None, True),
        ("update", _state("s1", "lifetime", "active", T0 + timedelta(days=30)), None, True),
        ("update", _state("s1", "lifetime", "expired", T0 + timedelta(days=45))),
    ],
    [(2, timedelta(hours=3))],
)
FAULTS = (FAULT_A_SWITCH_NEW_FIRST, FAULT_B_LATE_REACTIVATION, FAULT_C_PAID_OFF_FIRST_SEEN_EXPIRED)


def convergence_bench(*, histories: int, out) -> None:
    """`membersync bench convergence`: both claims on `histories` random cases each, with the time taken. A case
    that does not converge stops the run with the smallest such case (AssertionError)."""
    import time

    for recoverable, claim in (
        (True, "recoverable faults: as the clean whole history"),
        (False, "any faults: as the clean delivery of what was not stale"),
    ):
        started = time.monotonic()
        tried = convergence_check(histories=histories, recoverable=recoverable)
        out(f"{claim}: {tried} histories converged in {time.monotonic() - started:.1f} s")
