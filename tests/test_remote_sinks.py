"""Remote sinks (a LearnDash site each): the reconciler diffs each member's wanted access against what each sink
holds, a remote sink's answers are recorded in its mirror, shadow mode sends nothing, and the brake holds mass
removals for an operator. The site here is a dictionary behind the outcome protocol; the LearnDash sink's own
HTTP behaviour is tested against the contract fixture in tests/test_learndash_sink*.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from membersync import wiring
from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.members import services as members
from membersync.sync import outbox
from membersync.sync.brake import operations_discard_held, operations_release_held
from membersync.sync.mirror import mirror_read
from membersync.sync.models import MirrorEntry, Operation
from membersync.sync.reconciler import Cause, members_reconcile
from membersync.sync.sinks import Outcome, Sink
from membersync.sync.worker import next_due, worker_tick

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ADMIN = Actor.system("test")
SITE = "learndash:school"


class FakeSite:
    """A remote site behind the outcome protocol: holds rows per member, can fail in the ways sites do."""

    def __init__(self):
        self.held: dict[int, list[dict]] = {}
        self.calls: list[int] = []
        self.answer: Outcome | None = None  # when set, every operation gets this outcome (a failure)

    def apply(self, operations, now):
        outcomes = {}
        for op in operations:
            self.calls.append(op.member_id)
            if self.answer is not None:
                outcomes[op.pk] = self.answer
                continue
            self.held[op.member_id] = list(op.wanted)
            outcomes[op.pk] = Outcome(holds=list(op.wanted))
        return outcomes

    def courses(self, member) -> list[str]:
        return sorted(row["target_id"] for row in self.held.get(member.pk, []) if row["status"] == "active")


@pytest.fixture
def site(monkeypatch, set_clock):
    set_clock(NOW)
    fake = FakeSite()

    def install(**options) -> Sink:
        sink = Sink(SITE, fake.apply, transactional=False, batch_limit=50, **options)
        monkeypatch.setitem(wiring.sinks(), SITE, sink)
        return sink

    fake.install = install
    catalog.course_create(external_id="intro")
    catalog.course_create(external_id="advanced")
    catalog.plan_create(external_id="gold", grants=[{"course": "intro"}, {"course": "advanced"}])
    return fake


def _buyers(count: int, *, start: int = 0) -> list:
    bought = []
    for i in range(start, start + count):
        member = members.member_get_or_create(external_id=f"m{i}", email=f"m{i}@example.com")
        members.order_complete(order_id=f"o{i}", member_id=member.external_id, plan_id="gold", actor=ADMIN)
        bought.append(member)
    return bought


def _refund(members_: list) -> None:
    for member in members_:
        members.order_refund(order_id=f"o{member.external_id[1:]}", actor=ADMIN)


def _drain(now=NOW) -> None:
    while outbox.operations_run(worker="w", now=now):
        pass


@pytest.mark.django_db
def test_a_remote_sink_gets_only_the_targets_it_carries_and_its_answer_becomes_its_mirror(site):
    site.install(accepts=lambda kind, target_id: target_id == "intro")
    (ann,) = _buyers(1)
    _drain()
    assert site.courses(ann) == ["intro"]
    assert [key for key in mirror_read(sink=SITE, member_ids=[ann.pk])[ann.pk]] == [("course", "intro")]
    # Nothing changed: reconciling again diffs against the mirror and sends nothing.
    report = members_reconcile(member_ids=[ann.pk], now=NOW, cause=Cause("test", ADMIN))
    assert report.operations_by_sink == {}
    assert site.calls == [ann.pk]


@pytest.mark.django_db
def test_a_refused_credential_holds_the_operation_without_counting_an_attempt(site):
    site.install()
    site.answer = Outcome(holds=None, error="401 ld_rest_cannot_view", hold=True)
    (ann,) = _buyers(1)
    _drain()
    op = Operation.objects.get(sink=SITE, member=ann)
    assert (op.status, op.attempts) == (Operation.PENDING, 0)
    assert op.next_attempt_at == NOW + outbox.HOLD_RECHECK
    site.answer = None
    _drain(NOW + outbox.HOLD_RECHECK)
    op.refresh_from_db()
    assert op.status == Operation.DONE and site.courses(ann) == ["advanced", "intro"]


@pytest.mark.django_db
def test_a_site_asking_to_wait_is_retried_no_sooner_than_retry_after(site):
    site.install()
    site.answer = Outcome(holds=None, error="429 too many requests", retry_after=600)
    (ann,) = _buyers(1)
    _drain()
    op = Operation.objects.get(sink=SITE, member=ann)
    assert (op.status, op.attempts) == (Operation.PENDING, 1)
    assert NOW + timedelta(seconds=600) <= op.next_attempt_at <= NOW + timedelta(seconds=720)


@pytest.mark.django_db
def test_a_permanent_error_is_dead_at_once_with_its_reason(site):
    site.install()
    site.answer = Outcome(holds=[], error="course 12 is open: LearnDash refuses to enroll", retry=False)
    (ann,) = _buyers(1)
    _drain()
    op = Operation.objects.get(sink=SITE, member=ann)
    assert (op.status, op.attempts) == (Operation.DEAD, 1)
    assert "open" in op.last_error


@pytest.mark.django_db
def test_a_partial_success_is_mirrored_and_the_rest_retried(site):
    site.install()
    (ann,) = _buyers(1)
    site.answer = Outcome(holds=[], error="500")
    _drain()
    op = Operation.objects.get(sink=SITE, member=ann)
    wanted = op.wanted
    site.answer = Outcome(holds=wanted[:1], error="course advanced: 500 on its request")
    _drain(op.next_attempt_at)
    assert MirrorEntry.objects.filter(sink=SITE, member=ann).count() == 1
    op.refresh_from_db()
    assert (op.status, op.attempts) == (Operation.PENDING, 2)


@pytest.mark.django_db
def test_a_late_workers_answer_is_not_mirrored(site, set_clock):
    site.install()
    (ann,) = _buyers(1)
    (leased,) = outbox.operations_lease(sink=SITE, worker="a", now=NOW, limit=10)
    set_clock(NOW + timedelta(seconds=3600))
    sink = wiring.sinks()[SITE]
    assert outbox.operations_apply([leased], sink=sink, worker="a", now=NOW) == 0
    assert not MirrorEntry.objects.filter(sink=SITE).exists()


@pytest.mark.django_db
def test_shadow_mode_records_every_operation_and_sends_nothing_until_turned_off(site):
    site.install(shadow=True)
    (ann,) = _buyers(1)
    _refund([ann])
    worker_tick(now=NOW)
    assert site.calls == []
    assert Operation.objects.filter(sink=SITE, member=ann, status=Operation.PENDING).count() == 2
    assert next_due() is None  # the worker does not wake for what it may not send
    site.install(shadow=False)
    worker_tick(now=NOW)
    # Only her latest state is sent: she bought and was refunded, so the site is never told to enroll her.
    assert site.calls == [ann.pk] and site.courses(ann) == []
    assert Operation.objects.filter(sink=SITE, member=ann, status=Operation.SUPERSEDED).count() == 1


@pytest.mark.django_db
def test_the_brake_holds_a_mass_removal_until_an_operator_releases_it(
    site, mailoutbox, settings, django_capture_on_commit_callbacks
):
    settings.OPERATOR_EMAILS = ["ops@example.com"]
    site.install(brake=True, brake_students=5, brake_percent=5)
    buyers = _buyers(8)
    _drain()
    members_reconcile(member_ids=[m.pk for m in buyers], now=NOW, cause=Cause("test", ADMIN))
    # Refunding them one event at a time still counts as one mass removal within the hour.
    with django_capture_on_commit_callbacks(execute=True):
        _refund(buyers)
    held = Operation.objects.filter(sink=SITE, status=Operation.HELD)
    assert held.count() == 3  # the first five were within the threshold; the sixth and after are held
    assert len(mailoutbox) == 1 and SITE in mailoutbox[0].subject
    _drain()
    assert sum(1 for m in buyers if site.courses(m)) == 3  # nothing held was sent
    assert operations_release_held(sink=SITE, actor=ADMIN, now=NOW) == 3
    _drain()
    assert all(site.courses(m) == [] for m in buyers)


@pytest.mark.django_db
def test_a_member_given_access_back_is_not_kept_waiting_behind_her_held_removal(site):
    site.install(brake=True, brake_students=1, brake_percent=0)
    ann, bob = _buyers(2)
    _drain()
    _refund([ann, bob])
    assert Operation.objects.filter(sink=SITE, member=bob, status=Operation.HELD).exists()
    members.order_complete(order_id="again", member_id=bob.external_id, plan_id="gold", actor=ADMIN)
    _drain()
    assert site.courses(bob) == ["advanced", "intro"]
    assert not Operation.objects.filter(sink=SITE, member=bob, status=Operation.HELD).exists()


@pytest.mark.django_db
def test_discarded_removals_are_never_sent(site):
    site.install(brake=True, brake_students=0, brake_percent=0)
    (ann,) = _buyers(1)
    _drain()
    _refund([ann])
    assert operations_discard_held(sink=SITE, actor=ADMIN, now=NOW) == 1
    _drain()
    assert site.courses(ann) == ["advanced", "intro"]


@pytest.mark.django_db
def test_a_sink_can_hold_what_is_derived_from_access_and_is_diffed_the_same_way(site):
    """A CRM's tags mirror enrollments: the sink's project() turns a batch's wanted enrollments into its own
    holdings, and the reconciler diffs and orders them like any other sink's."""

    def tags(desired_by_member, now):
        return {
            member_id: {("tag", f"{target_id}-student"): ("active", NOW, None) for (_kind, target_id) in desired}
            for member_id, desired in desired_by_member.items()
        }

    site.install(project=tags)
    (ann,) = _buyers(1)
    _drain()
    assert site.courses(ann) == ["advanced-student", "intro-student"]
    _refund([ann])
    _drain()
    assert site.courses(ann) == []
    assert members_reconcile(member_ids=[ann.pk], now=NOW, cause=Cause("test", ADMIN)).operations_by_sink == {}


@pytest.mark.django_db
def test_explain_says_plainly_when_a_site_will_restart_a_suspended_students_drip(site, set_clock):
    from membersync.sync.explain import explanation_text
    from membersync.sync.selectors import member_explain

    note = "On LearnDash site school (no companion plugin), a suspension unenrolls her"
    site.install(suspension_note=note)
    (ann,) = _buyers(1)
    assert note not in explanation_text(member_explain(member=ann, at=NOW))
    later = NOW + timedelta(days=3)
    set_clock(later)
    members.membership_pause(actor=ADMIN, member_id=ann.external_id, plan_id="gold")
    assert note in explanation_text(member_explain(member=ann, at=later))
