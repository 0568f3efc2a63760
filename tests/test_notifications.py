"""Member notifications: started, ending in 7 days, ended; once each; never for subscription-tied memberships."""

from datetime import timedelta

import pytest
from django.core import mail

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.members.models import Notification
from membersync.members.services import membership_create
from membersync.members.subscriptions import subscription_update
from membersync.people.models import Member
from membersync.sync.worker import worker_run_until

from .conftest import at

START = at("2026-01-01T09:00")


def member(external_id="ann"):
    return Member.objects.create(external_id=external_id, email=f"{external_id}@example.com", created_at=START)


def kinds(external_id="ann"):
    return list(
        Notification.objects.filter(membership__member__external_id=external_id)
        .order_by("sent_at", "pk")
        .values_list("kind", flat=True)
    )


@pytest.fixture
def catalog_ready(db):
    catalog.course_create(external_id="intro")
    catalog.plan_create(external_id="month", length="30 days", grants=[{"course": "intro"}])
    catalog.plan_create(external_id="gold", length="subscription", grants=[{"course": "intro"}])


@pytest.mark.django_db
def test_a_set_length_membership_sends_started_ending_soon_and_ended_once_each(
    catalog_ready, django_capture_on_commit_callbacks
):
    member()
    with django_capture_on_commit_callbacks(execute=True):
        worker_run_until(START)
        membership_create(member_id="ann", plan_id="month", actor=Actor.operator("admin"))
        worker_run_until(START + timedelta(days=20))
        assert kinds() == ["started"]
        worker_run_until(START + timedelta(days=24))
        assert kinds() == ["started", "ending_soon"]
        worker_run_until(START + timedelta(days=40))
    assert kinds() == ["started", "ending_soon", "ended"]
    sent = [(m.to, m.subject) for m in mail.outbox]
    assert sent == [
        (["ann@example.com"], "Your month membership has started"),
        (["ann@example.com"], "Your month membership ends on 2026-01-31"),
        (["ann@example.com"], "Your month membership has ended"),
    ]
    assert Notification.objects.get(kind="ended").sent_at == START + timedelta(days=30)


@pytest.mark.django_db
def test_nothing_is_sent_for_a_subscription_tied_membership(catalog_ready, django_capture_on_commit_callbacks):
    member()
    with django_capture_on_commit_callbacks(execute=True):
        for day, status in ((0, "active"), (10, "on-hold"), (12, "active"), (20, "cancelled")):
            worker_run_until(START + timedelta(days=day))
            subscription_update(
                subscription={"id": "1", "member": "ann", "plan": "gold", "status": status},
                actor=Actor.connection("store"),
            )
        worker_run_until(START + timedelta(days=40))
    assert kinds() == []
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_paid_off_payment_plan_is_told_about_its_own_end_but_not_welcomed_again(
    catalog_ready, django_capture_on_commit_callbacks
):
    member()
    with django_capture_on_commit_callbacks(execute=True):
        worker_run_until(START)
        subscription_update(
            subscription={"id": "2", "member": "ann", "plan": "month", "status": "active"}, actor=Actor.system("test")
        )
        worker_run_until(START + timedelta(days=10))
        subscription_update(
            subscription={"id": "2", "member": "ann", "plan": "month", "status": "expired"}, actor=Actor.system("test")
        )
        worker_run_until(START + timedelta(days=40))
    assert kinds() == ["ending_soon", "ended"]


@pytest.mark.django_db
def test_a_rolled_back_reconcile_sends_nothing(catalog_ready, django_capture_on_commit_callbacks):
    from membersync.sync.reconciler import Cause, members_reconcile

    ann = member()
    with django_capture_on_commit_callbacks(execute=True):
        worker_run_until(START)
        membership_create(member_id="ann", plan_id="month", actor=Actor.operator("admin"))
    assert kinds() == ["started"]
    with django_capture_on_commit_callbacks(execute=True):
        members_reconcile(
            member_ids=[ann.pk], now=START + timedelta(days=40), cause=Cause("preview", "t"), dry_run=True
        )
    assert kinds() == ["started"]
    assert [m.subject for m in mail.outbox] == ["Your month membership has started"]
