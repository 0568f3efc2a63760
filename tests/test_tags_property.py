"""The issue's property: random sequences of tag webhooks, purchases, refunds and pauses, where every tag MemberSync
changes in the CRM comes back as the CRM's webhook (late, duplicated, reordered) and is fed in again, reach a fixed
point (once the echoes settle a reconcile sends the CRM nothing), and a tag MemberSync applied never keeps access
alive once its real source has ended.

The CRM here is a dictionary behind the outcome protocol (its HTTP clients are tested against the contract
fixtures in tests/test_crm_*.py). A webhook, echo or not, makes MemberSync re-read the contact's tags, as the
ActiveCampaign endpoint does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membersync import clock, wiring
from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.errors import ServiceError
from membersync.members import services as members
from membersync.people.models import ACTIVECAMPAIGN
from membersync.people.services import connection_create
from membersync.sync import outbox
from membersync.sync.mirror import mirror_read
from membersync.sync.reconciler import Cause, members_reconcile
from membersync.sync.selectors import member_courses, member_groups
from membersync.sync.sinks import Outcome, Sink
from membersync.tags import services as tags
from membersync.tags.models import MemberTag
from membersync.tags.sinks import tags_project

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
ACTOR = Actor.system("test")
TAGS = ["t1", "tg", "s1", "gs", "vip"]
BOUNDED = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

steps = st.lists(
    st.one_of(
        st.tuples(st.just("crm_apply"), st.sampled_from(TAGS)),
        st.tuples(st.just("crm_remove"), st.sampled_from(TAGS)),
        st.tuples(st.just("buy"), st.none()),
        st.tuples(st.just("refund"), st.none()),
        st.tuples(st.just("join"), st.none()),
        st.tuples(st.just("pause"), st.none()),
        st.tuples(st.just("resume"), st.none()),
        st.tuples(st.just("cancel"), st.none()),
        st.tuples(st.just("deliver"), st.tuples(st.integers(0, 50), st.booleans())),
        st.tuples(st.just("work"), st.none()),
    ),
    max_size=30,
)


class FakeCrm:
    """The CRM's own state per member, and the webhooks it has yet to deliver (one per change, by anyone)."""

    def __init__(self, name: str):
        self.name = name
        self.held: dict[int, set[str]] = {}
        self.webhooks: list[int] = []  # member pks: each is "her tags changed", re-read when delivered

    def apply(self, operations, now):
        """As the CRM sinks do: apply the difference between the wanted tags and MemberSync's mirror, never
        touching a tag MemberSync does not know of; answer with what MemberSync asked for."""
        mirrored = mirror_read(sink=self.name, member_ids=[op.member_id for op in operations])
        outcomes = {}
        for op in operations:
            wanted = {row["target_id"] for row in op.wanted}
            known = {tag for _kind, tag in mirrored.get(op.member_id, {})}
            held = self.held.setdefault(op.member_id, set())
            before = set(held)
            held |= wanted - known
            held -= known - wanted
            self.webhooks.extend([op.member_id] * len(held ^ before))  # one echo per tag changed
            outcomes[op.pk] = Outcome(holds=list(op.wanted))
        return outcomes


def _work(now):
    while outbox.operations_run(worker="w", now=now):
        pass


@pytest.mark.django_db
@BOUNDED
@given(sequence=steps)
def test_echoes_late_duplicated_or_reordered_reach_a_fixed_point_and_mirrored_tags_never_keep_access(
    monkeypatch, sequence
):
    with transaction.atomic():
        try:
            _run(monkeypatch, sequence)
        finally:
            transaction.set_rollback(True)
            clock.set_time(None)


def _run(monkeypatch, sequence):
    now = START
    clock.set_time(now)
    catalog.course_create(external_id="c1")
    catalog.group_create(external_id="g", title="G", course_ids=["c1"])
    catalog.plan_create(external_id="gold", grants=[{"course": "c1"}])
    catalog.plan_create(external_id="club", grants=[{"group": "g"}])
    tags.tag_settings_set(
        target_kind="course",
        target_id="c1",
        link_tag="t1",
        tags_on_enrollment=["s1"],
        remove_tags_on_unenrollment=True,
        actor=ACTOR,
    )
    tags.tag_settings_set(target_kind="group", target_id="g", link_tag="tg", tags_on_enrollment=["gs"], actor=ACTOR)
    connection = connection_create(kind=ACTIVECAMPAIGN, name="ac", url="https://x.api-us1.com")
    crm = FakeCrm(f"crm:{connection.name}")
    sink = Sink(
        crm.name, crm.apply, transactional=False, project=tags_project(sink=crm.name, connection_id=connection.pk)
    )
    monkeypatch.setitem(wiring.sinks(), crm.name, sink)
    ada = members.member_get_or_create(external_id="ada", email="ada@example.com")

    orders: list[str] = []
    person: set[str] = set()  # tags a person applied in the CRM and has not removed since: the real sources
    membership = {"active": False, "paused": False}

    def webhook():
        tags.crm_tags_observe(
            member=ada, tags=sorted(crm.held.get(ada.pk, set())), actor=ACTOR, source="webhook", connection=connection
        )

    for number, (kind, arg) in enumerate(sequence):
        now += timedelta(hours=1)
        clock.set_time(now)
        held = crm.held.setdefault(ada.pk, set())
        try:
            if kind == "crm_apply" and arg not in held:
                held.add(arg)
                person.add(arg)
                crm.webhooks.append(ada.pk)
            elif kind == "crm_remove" and arg in held:
                held.discard(arg)
                person.discard(arg)
                crm.webhooks.append(ada.pk)
            elif kind == "buy":
                orders.append(f"o{number}")
                members.order_complete(order_id=orders[-1], member_id="ada", plan_id="gold", actor=ACTOR)
            elif kind == "refund" and orders:
                members.order_refund(order_id=orders.pop(0), actor=ACTOR)
            elif kind == "join" and not membership["active"]:
                members.membership_create(member_id="ada", plan_id="club", actor=ACTOR)
                membership.update(active=True, paused=False)
            elif kind == "pause" and membership["active"] and not membership["paused"]:
                members.membership_pause(member_id="ada", plan_id="club", actor=ACTOR)
                membership["paused"] = True
            elif kind == "resume" and membership["paused"]:
                members.membership_resume(member_id="ada", plan_id="club", actor=ACTOR)
                membership["paused"] = False
            elif kind == "cancel" and membership["active"]:
                members.membership_cancel(member_id="ada", plan_id="club", actor=ACTOR)
                membership.update(active=False, paused=False)
            elif kind == "deliver" and crm.webhooks:
                index, duplicate = arg
                crm.webhooks[index % len(crm.webhooks)] if duplicate else crm.webhooks.pop(index % len(crm.webhooks))
                webhook()
            elif kind == "work":
                _work(now)
        except ServiceError:
            pass

    for _round in range(20):  # the echoes settle: every webhook delivered, every operation carried out
        now += timedelta(minutes=1)
        clock.set_time(now)
        _work(now)
        if not crm.webhooks:
            break
        while crm.webhooks:
            crm.webhooks.pop()
            webhook()
    assert not crm.webhooks, "the echoes never settled"

    report = members_reconcile(member_ids=[ada.pk], now=now, cause=Cause("test", ACTOR))
    assert report.operations_by_sink.get(crm.name, 0) == 0, "a reconcile after the echoes settled still sends tags"

    # A tag a person applies while MemberSync applies the same one is indistinguishable from its echo: it may be
    # taken as MemberSync's (docs/decisions/0022-crm-tags.md). Never the other way round: a tag MemberSync applied never
    # becomes a source, so access never outlives its real sources.
    sources = set(MemberTag.objects.filter(member=ada, removed_at=None).values_list("tag", flat=True))
    assert sources <= person, "a tag MemberSync applied was taken for a source"
    in_club = membership["active"] and not membership["paused"]
    assert set(member_groups(ada)) <= ({"g"} if in_club or "tg" in person else set())
    assert set(member_courses(ada)) <= ({"c1"} if orders or in_club or {"t1", "tg"} & person else set())
    # and nothing real is lost: her purchases and membership keep her enrolled, tags or not
    assert set(member_courses(ada)) >= ({"c1"} if orders or in_club else set())
    assert set(member_groups(ada)) >= ({"g"} if in_club else set())
