"""A correlation id follows what a request or delivery caused into the outbox: the operations it made carry it,
and the worker that carries them out later logs under it."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.correlation import correlation_bound
from membersync.members import services as members
from membersync.ops.logs import CorrelationFilter
from membersync.sync import outbox
from membersync.sync.models import Operation

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_the_operations_a_delivery_caused_are_logged_under_its_correlation_id(set_clock):
    set_clock(NOW)
    catalog.course_create(external_id="intro")
    catalog.plan_create(external_id="gold", grants=[{"course": "intro"}])
    ann = members.member_get_or_create(external_id="ann", email="ann@example.com")
    with correlation_bound("delivery-77"):
        members.order_complete(order_id="o1", member_id=ann.external_id, plan_id="gold", actor=Actor.system("t"))
    members.order_complete(order_id="o2", member_id="bob", plan_id="gold", actor=Actor.system("t"))
    assert Operation.objects.get(member=ann).correlation_id == "delivery-77"

    seen: list[tuple[str, str]] = []

    class Keep(logging.Handler):
        def emit(self, record):
            seen.append((record.correlation_id, record.getMessage()))

    handler = Keep()
    handler.addFilter(CorrelationFilter())
    logger = logging.getLogger("membersync.sync.outbox")
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)
    try:
        assert outbox.operations_run(worker="w", now=NOW) == 2
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)
    assert [(cid, message.split(":")[-1].strip()) for cid, message in seen] == [("delivery-77", "done")]
