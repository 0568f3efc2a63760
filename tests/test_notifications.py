"""Member notifications: started, ending in 7 days, ended; once each; never for subscription-tied memberships,
always for payment plans; never naming who acted; nothing about an end that came before the membership was made;
nothing recorded as sent to a member without an address."""

from datetime import timedelta

import pytest
from django.core import mail

from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.members.models import Notification
from membersync.members.services import membership_cancel, membership_create, membership_pause, membership_resume
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
def test_a_payment_plan_membership_gets_its_emails_while_linked_and_after(
    catalog_ready, django_capture_on_commit_callbacks
):
    """Only subscription-tied memberships are silent: a payment plan has its own length (DOMAIN.md)."""
    member()
    with django_capture_on_commit_callbacks(execute=True):
        worker_run_until(START)
        subscription_update(
            subscription={"id": "2", "member": "ann", "plan": "month", "status": "active"}, actor=Actor.system("test")
        )
        assert kinds() == ["started"]  # while the subscription pays for it
        worker_run_until(START + timedelta(days=10))
        subscription_update(
            subscription={"id": "2", "member": "ann", "plan": "month", "status": "expired"}, actor=Actor.system("test")
        )
        worker_run_until(START + timedelta(days=40))
    assert kinds() == ["started", "ending_soon", "ended"]
    assert [m.subject for m in mail.outbox] == [
        "Your month membership has started",
        "Your month membership ends on 2026-01-31",
        "Your month membership has ended",
    ]


@pytest.mark.django_db
def test_a_payment_plan_cancelled_before_its_payments_are_complete_is_told_it_ended(
    catalog_ready, django_capture_on_commit_callbacks
):
    member()
    with django_capture_on_commit_callbacks(execute=True):
        for day, status in ((0, "active"), (5, "on-hold"), (8, "cancelled")):
            worker_run_until(START + timedelta(days=day))
            subscription_update(
                subscription={"id": "3", "member": "ann", "plan": "month", "status": status},
                actor=Actor.connection("store"),
            )
        worker_run_until(START + timedelta(days=40))
    assert kinds() == ["started", "ended"]


ACTORS = [
    Actor.operator("jsmith-ops"),
    Actor.member("m-7731"),
    Actor.api_key("zapier-prod-key"),
    Actor.connection("woo-main-store"),
]


@pytest.mark.parametrize("actor", ACTORS, ids=lambda a: a.kind)
@pytest.mark.django_db
def test_customer_emails_never_show_who_acted(catalog_ready, django_capture_on_commit_callbacks, actor):
    Member.objects.create(external_id="ann", email="ann@example.com", name="Ann", created_at=START)
    with django_capture_on_commit_callbacks(execute=True):
        worker_run_until(START)
        membership_create(member_id="ann", plan_id="month", actor=actor)
        worker_run_until(START + timedelta(days=2))
        membership_pause(member_id="ann", plan_id="month", actor=actor)
        worker_run_until(START + timedelta(days=3))
        membership_resume(member_id="ann", plan_id="month", actor=actor)
        worker_run_until(START + timedelta(days=4))
        membership_cancel(member_id="ann", plan_id="month", actor=actor)
        worker_run_until(START + timedelta(days=5))
    assert kinds() == ["started", "ended"]
    texts = [f"{m.subject}\n{m.body}" for m in mail.outbox]
    assert texts[-1] == (
        "Your month membership has ended\n"
        "Hello Ann,\n\nyour membership in month was cancelled on 2026-01-05 09:00 UTC.\n"
    )
    for text in texts:
        assert actor.id not in text and str(actor) not in text


@pytest.mark.parametrize("status", ["cancelled", "expired"])
@pytest.mark.django_db
def test_a_membership_created_already_ended_sends_no_has_ended(
    catalog_ready, django_capture_on_commit_callbacks, status
):
    member()
    with django_capture_on_commit_callbacks(execute=True):
        worker_run_until(START)
        membership_create(member_id="ann", plan_id="month", status=status, actor=Actor.operator("admin"))
        membership_create(
            member_id="ann", plan_id="month", start=START - timedelta(days=45), actor=Actor.operator("admin")
        )  # its 30 days ran out before it was made
        worker_run_until(START + timedelta(days=40))
    assert kinds() == []
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_member_without_an_email_address_gets_no_notification_recorded_as_sent(
    catalog_ready, django_capture_on_commit_callbacks
):
    Member.objects.create(external_id="ann", email="", created_at=START)
    with django_capture_on_commit_callbacks(execute=True):
        worker_run_until(START)
        membership_create(member_id="ann", plan_id="month", actor=Actor.operator("admin"))
        worker_run_until(START + timedelta(days=40))
    assert not Notification.objects.exists()
    assert mail.outbox == []


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
