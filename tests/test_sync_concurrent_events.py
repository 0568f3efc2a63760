"""Two deliveries of the same new subscription at the same moment (the store sends created and updated
webhooks together): both are applied, one creating and one updating, and nothing is doubled or lost."""

import threading
from datetime import UTC, datetime

import pytest
from django.db import connection

from membersync import clock
from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.members.models import Membership, Subscription
from membersync.members.subscriptions import subscription_update
from membersync.people.models import Member

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_two_first_deliveries_of_a_new_subscription_at_once_make_one_subscription_and_one_membership():
    catalog.course_create(external_id="intro")
    catalog.plan_create(external_id="gold", length="subscription", grants=[{"course": "intro"}])
    clock.set_time(START)
    barrier = threading.Barrier(2)
    errors = []

    def deliver(status: str) -> None:
        try:
            barrier.wait(timeout=10)
            subscription_update(
                subscription={"id": "900", "member": "zed", "plan": "gold", "status": status},
                actor=Actor.connection("store"),
            )
        except Exception as error:  # collected: an exception in a thread would otherwise vanish
            errors.append(error)
        finally:
            connection.close()

    try:
        threads = [threading.Thread(target=deliver, args=("active",)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    finally:
        clock.set_time(None)
    assert errors == []
    assert Member.objects.filter(external_id="zed").count() == 1
    assert Subscription.objects.filter(external_id="900").count() == 1
    assert Membership.objects.filter(member__external_id="zed").count() == 1
