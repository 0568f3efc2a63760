"""An operator grants a member a course or group by hand: a source of its own (the "manual" kind), shown in her
explanation with its note, ended by the operator; bad input names its field and changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from membersync.actors import Actor
from membersync.catalog.services import course_create, group_create
from membersync.errors import ServiceError
from membersync.manual.models import ManualGrant
from membersync.manual.services import manual_grant_create, manual_grant_end
from membersync.members.services import member_get_or_create
from membersync.sync.models import Enrollment, Event, LedgerEntry
from membersync.sync.selectors import member_explain
from membersync.sync.worker import worker_tick
from tests.conftest import at

NOW = at("2026-03-01T12:00")
OPERATOR = Actor.operator("olga")


@pytest.fixture
def site(db, set_clock):
    set_clock(NOW)
    course_create(external_id="intro", title="Intro")
    group_create(external_id="team", title="Team", course_ids=["intro"])
    return member_get_or_create(external_id="alice", email="alice@example.com")


def test_a_manual_grant_gives_access_shows_in_the_explanation_and_ends_when_the_operator_ends_it(site, set_clock):
    result = manual_grant_create(
        member_id="alice", target_kind="course", target_id="intro", note="speaker", actor=OPERATOR
    )
    worker_tick(now=NOW)
    enrollment = Enrollment.objects.get(member=site, target_id="intro")
    assert enrollment.status == "active"
    entry = LedgerEntry.objects.get(member=site, target_id="intro", action="opened")
    assert (entry.source_kind, entry.actor) == ("manual", "operator:olga")
    explained = str(member_explain(member=site, at=NOW, now=NOW))
    assert "manual grant of course intro by olga (speaker)" in explained

    later = NOW + timedelta(days=3)
    set_clock(later)
    manual_grant_end(grant_id=result.value.pk, actor=OPERATOR)
    worker_tick(now=later)
    assert not Enrollment.objects.filter(member=site, target_id="intro").exists()
    with pytest.raises(ServiceError) as twice:
        manual_grant_end(grant_id=result.value.pk, actor=OPERATOR)
    assert twice.value.code == "not_active"


def test_a_manual_grant_with_an_end_closes_by_itself(site, set_clock):
    manual_grant_create(
        member_id="alice", target_kind="group", target_id="team", ends_at=NOW + timedelta(days=2), actor=OPERATOR
    )
    worker_tick(now=NOW)
    assert Enrollment.objects.filter(member=site, target_kind="group", target_id="team").exists()
    set_clock(NOW + timedelta(days=2, hours=1))
    worker_tick(now=NOW + timedelta(days=2, hours=1))
    assert not Enrollment.objects.filter(member=site, target_kind="group").exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"member_id": "nobody"}, "member"),
        ({"target_id": "nope"}, "target_id"),
        ({"target_kind": "group_leader"}, "target_kind"),
        ({"ends_at": NOW - timedelta(days=1)}, "ends_at"),
        ({"note": "x" * 401}, "note"),
    ],
)
def test_bad_input_names_its_field_and_changes_nothing(site, kwargs, field):
    fields = {"member_id": "alice", "target_kind": "course", "target_id": "intro", **kwargs}
    with pytest.raises(ServiceError) as refused:
        manual_grant_create(actor=OPERATOR, **fields)
    assert refused.value.field == field
    assert not ManualGrant.objects.exists()
    assert Event.objects.get().outcome == Event.REFUSED
