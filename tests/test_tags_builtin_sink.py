"""The built-in CRM costs a site that uses no tags nothing: it is among the sinks only once there is a tag setting,
a tag applied as a source, a tag it holds or an operation on its way to it; and it then stays until what it holds
is gone, so removing every setting still takes the mirrored tags away."""

from __future__ import annotations

from datetime import UTC, datetime

from membersync import memo
from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.members import services as members
from membersync.sync.sinks import sinks_all
from membersync.sync.worker import worker_tick
from membersync.tags import services as tags
from membersync.tags.models import TargetTagSettings
from membersync.tags.selectors import crm_tags_held

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ACTOR = Actor.system("test")


def _has_builtin_crm() -> bool:
    with memo.scope():
        return "crm" in sinks_all()


def test_the_built_in_crm_is_a_sink_only_while_the_site_uses_tags(db, set_clock):
    set_clock(NOW)
    catalog.course_create(external_id="c101")
    catalog.plan_create(external_id="gold", grants=[{"course": "c101"}])
    ada = members.member_get_or_create(external_id="ada", email="ada@example.com")
    members.order_complete(order_id="o1", member_id="ada", plan_id="gold", actor=ACTOR)
    worker_tick(now=NOW)
    assert not _has_builtin_crm()

    tags.tag_settings_set(target_kind="course", target_id="c101", link_tag="c101-linked", actor=ACTOR)
    assert _has_builtin_crm()
    members.order_complete(order_id="o2", member_id="ada", plan_id="gold", actor=ACTOR)  # reconciles her
    worker_tick(now=NOW)
    assert crm_tags_held(member=ada) == {"c101-linked"}

    TargetTagSettings.objects.all().delete()
    assert _has_builtin_crm()  # it still holds her tag: the next reconcile removes it
    members.order_complete(order_id="o3", member_id="ada", plan_id="gold", actor=ACTOR)
    worker_tick(now=NOW)
    assert crm_tags_held(member=ada) == set()
    assert not _has_builtin_crm()
