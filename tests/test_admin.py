"""The admin: every page loads for a superuser, the member's page explains her access, and operator actions go
through the services (an event is stored, the member is reconciled) instead of editing source rows."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.urls import reverse

from membersync.actors import Actor
from membersync.demo import demo_load
from membersync.members.models import Membership, Order
from membersync.people.models import Member
from membersync.sync.models import Enrollment, Event, LedgerEntry, Operation
from membersync.sync.resync import members_resync
from membersync.sync.worker import worker_tick
from tests.conftest import at

NOW = at("2026-03-01T12:00")


@pytest.fixture
def site(db, set_clock):
    set_clock(NOW)
    demo_load()
    members_resync(dry_run=False, actor=Actor.system("test"))


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_registered_model_has_a_changelist_and_a_page_that_load(site, admin_client):
    for model, model_admin in admin.site._registry.items():
        response = admin_client.get(_url(model, "changelist"))
        assert response.status_code == 200, model
        if model_admin.search_fields:
            assert admin_client.get(_url(model, "changelist"), {"q": "alice"}).status_code == 200, model
        obj = model.objects.first()
        if obj is not None:
            assert admin_client.get(_url(model, "change", obj.pk)).status_code == 200, model


def test_list_filters_narrow_the_lists(site, admin_client):
    page = admin_client.get(_url(Membership, "changelist"), {"status__exact": "paused"})
    assert page.status_code == 200
    assert list(page.context["cl"].result_list) == list(Membership.objects.filter(status="paused"))
    events = admin_client.get(_url(Event, "changelist"), {"kind": "membership.pause"})
    assert {e.kind for e in events.context["cl"].result_list} == {"membership.pause"}
    ledger = admin_client.get(_url(LedgerEntry, "changelist"), {"action": "suspended"})
    assert ledger.context["cl"].result_list and {e.action for e in ledger.context["cl"].result_list} == {"suspended"}
    linked = admin_client.get(_url(Membership, "changelist"), {"linked": "yes"})
    assert list(linked.context["cl"].result_list) == []


def test_member_page_explains_her_access_and_shows_a_timeline(site, admin_client):
    grace = Member.objects.get(external_id="grace")
    page = admin_client.get(_url(Member, "change", grace.pk)).content.decode()
    assert "Access now" in page
    assert 'course <strong>Advanced Leadership</strong> <span class="ms-muted">(advanced)</span>' in page
    assert "Enrollment start" in page
    assert "grants course advanced 14 days after the start" in page
    assert "paused by MemberSync" in page  # the suspension, from the ledger and the grant (the actor by its label)
    assert "Timeline" in page and "ms-seg-suspended" in page and "ms-seg-open" in page
    assert "membership.resume" in page  # the ledger's cause


def test_member_page_previews_another_day(site, admin_client):
    grace = Member.objects.get(external_id="grace")
    page = admin_client.get(_url(Member, "change", grace.pk), {"at": "2026-12-31"}).content.decode()
    assert "what-if preview" in page
    assert "2026-12-31" in page
    bad = admin_client.get(_url(Member, "change", grace.pk), {"at": "someday"}, follow=True)
    assert bad.status_code == 200 and "is not a date" in bad.content.decode()


# --- the member page as of another day: a site built from tests/test_explain_as_of.py's scenario ------------------


@pytest.fixture
def alice_page(db, set_clock, admin_client):
    from membersync.scenarios.parsing import load
    from membersync.scenarios.runner import FileResult, _run
    from membersync.sync.worker import worker_run_until
    from tests.test_explain_as_of import NOW as SCENARIO_NOW
    from tests.test_explain_as_of import SITE

    result = FileResult("site")
    _run(load(SITE), result)
    assert result.failures == []
    worker_run_until(SCENARIO_NOW)
    alice = Member.objects.get(external_id="alice")

    def page(day: str | None = None) -> str:
        response = admin_client.get(_url(Member, "change", alice.pk), {"at": day} if day else {})
        assert response.status_code == 200
        return response.content.decode()

    return page


def _section(page: str, title: str) -> str:
    start = page.index(f"<h3>{title}")
    return page[start : page.index("<h3>", start + 4) if "<h3>" in page[start + 4 :] else len(page)]


def test_member_page_on_a_past_day_shows_what_was_in_force_then_and_the_ledger_up_to_it(alice_page):
    page = alice_page("2026-02-15")
    assert "(in the past: what was in force then)" in page
    sources = _section(page, "Sources")
    assert "<strong>paused</strong>" in sources and "subscription 101: on-hold since 2026-02-10 00:00" in sources
    assert "plan Basic" not in sources  # bought on 1 March
    access = _section(page, "Courses and groups")
    assert "opens 5 days after the source resumes (40 of 45 days served)" in access
    ledger = _section(page, "Ledger up to 2026-02-15 00:00")
    assert "suspended" in ledger and "resumed" not in ledger and "order.complete" not in ledger


def test_member_page_marks_what_a_later_delivery_corrected(alice_page):
    page = alice_page("2026-03-17")
    sources = _section(page, "Sources")
    assert "<strong>active</strong>" in sources
    assert (
        "was active then; a later delivery (subscription.update, received 2026-03-20 00:00) says it was already "
        "cancelled (since 2026-03-15 00:00)" in sources
    )
    assert "was open then; a later delivery" in _section(page, "Courses and groups")
    assert "recorded 2026-03-20 00:00, after this day" in _section(page, "Ledger")


def test_member_page_timeline_reaches_the_previewed_day_with_what_is_to_come_and_a_date_axis(alice_page):
    page = alice_page("2026-07-01")
    timeline = _section(page, "Timeline")
    for day in ("2026-01-01", "2026-04-01", "2026-07-01"):
        assert f">{day}</span>" in timeline  # the date axis
    assert 'class="ms-line ms-line-at" style="left: 97.09%"' in timeline  # the previewed day, near the right end
    bonus = timeline[timeline.index("<strong>bonus</strong>") :]
    bonus = bonus[: bonus.index("</tr>")]
    assert 'ms-seg ms-seg-open ms-future" style="left: 96.01%' in bonus  # to come, not yet in the ledger
    assert "opens 2026-06-29 00:00 (drip of plan Basic)" in bonus
    # Courses are named by their titles; the enrollment start that suspension pushed back says so.
    intro = timeline[timeline.index("<strong>Introduction</strong>") :]
    assert "enrollment start 2026-01-11 00:00, pushed back 10 days by suspension" in intro[: intro.index("</tr>")]
    access = _section(page, "Courses and groups")
    assert "course <strong>Advanced Practice</strong>" in access
    assert "pushed back 10 days by suspension (her access began 2026-01-01 00:00)" in access


def _membership(member: str) -> Membership:
    return Membership.objects.get(member__external_id=member)


def test_pause_action_pauses_through_the_service_and_suspends_her_enrollments(site, admin_client):
    alice = _membership("alice")
    response = admin_client.post(
        _url(Membership, "changelist"), {"action": "pause_memberships", "_selected_action": [alice.pk]}, follow=True
    )
    assert response.status_code == 200
    event = Event.objects.filter(kind="membership.pause").latest("pk")
    assert (event.actor, event.source, event.outcome) == ("operator:admin", "admin", Event.APPLIED)
    alice.refresh_from_db()
    assert alice.status == "paused"
    worker_tick(now=NOW)
    assert set(Enrollment.objects.filter(member=alice.member).values_list("status", flat=True)) == {"suspended"}
    assert LedgerEntry.objects.filter(member=alice.member, action="suspended", actor=Actor.operator("admin")).exists()


def test_resume_and_cancel_actions_go_through_the_services(site, admin_client):
    dave, alice = _membership("dave"), _membership("alice")
    admin_client.post(_url(Membership, "changelist"), {"action": "resume_memberships", "_selected_action": [dave.pk]})
    admin_client.post(_url(Membership, "changelist"), {"action": "cancel_memberships", "_selected_action": [alice.pk]})
    dave.refresh_from_db()
    alice.refresh_from_db()
    assert dave.status == "active"
    assert alice.status == "cancelled" and alice.ended_by == "cancelled by an administrator"
    assert Event.objects.filter(kind="membership.resume", actor=Actor.operator("admin")).exists()
    assert Event.objects.filter(kind="membership.cancel", actor=Actor.operator("admin")).exists()


def test_a_refused_action_says_why_and_changes_nothing(site, admin_client):
    frank = _membership("frank")  # cancelled
    response = admin_client.post(
        _url(Membership, "changelist"), {"action": "pause_memberships", "_selected_action": [frank.pk]}, follow=True
    )
    assert "cannot be paused" in response.content.decode()
    frank.refresh_from_db()
    assert frank.status == "cancelled" and not frank.pauses.exists()
    assert Event.objects.filter(kind="membership.pause", outcome=Event.REFUSED).exists()


def test_delete_action_deletes_through_the_service_and_the_ledger_keeps_the_history(site, admin_client):
    alice = _membership("alice")
    admin_client.post(_url(Membership, "changelist"), {"action": "delete_memberships", "_selected_action": [alice.pk]})
    assert not Membership.objects.filter(pk=alice.pk).exists()
    assert Event.objects.filter(kind="membership.delete", actor=Actor.operator("admin")).exists()
    assert LedgerEntry.objects.filter(member=alice.member, action="closed", reason="its source was deleted").exists()


def test_add_membership_goes_through_membership_create(site, admin_client):
    form = {"member": "newbie", "plan": "gold", "status": "complimentary", "start": "", "external_id": "m-new"}
    response = admin_client.post(_url(Membership, "add"), form)
    assert response.status_code == 302
    created = Membership.objects.get(external_id="m-new")
    assert created.status == "complimentary"
    assert Event.objects.filter(kind="membership.create", actor=Actor.operator("admin")).exists()


def test_add_membership_refuses_free_trial_and_a_delayed_start_in_the_past(site, admin_client):
    trial = admin_client.post(_url(Membership, "add"), {"member": "x", "plan": "gold", "status": "free_trial"})
    assert trial.status_code == 200 and "free_trial is not one of the available choices" in trial.content.decode()
    delayed = {"member": "x", "plan": "gold", "status": "delayed", "start": "2020-01-01 00:00:00"}
    page = admin_client.post(_url(Membership, "add"), delayed)
    assert page.status_code == 200 and "a delayed membership needs a start in the future" in page.content.decode()
    assert not Member.objects.filter(external_id="x").exists()


def test_ledger_and_sources_cannot_be_edited_in_the_admin(site, admin_client):
    entry = LedgerEntry.objects.first()
    assert admin_client.get(_url(LedgerEntry, "add")).status_code == 403
    assert admin_client.get(_url(LedgerEntry, "delete", entry.pk)).status_code == 403
    before = entry.reason
    admin_client.post(_url(LedgerEntry, "change", entry.pk), {"reason": "edited"})
    entry.refresh_from_db()
    assert entry.reason == before
    membership = _membership("alice")
    assert admin_client.post(_url(Membership, "delete", membership.pk), {"post": "yes"}).status_code == 403
    assert Membership.objects.filter(pk=membership.pk).exists()
    admin_client.post(
        _url(LedgerEntry, "changelist"), {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    )
    assert LedgerEntry.objects.filter(pk=entry.pk).exists()


def test_refund_action_cancels_the_membership_the_order_granted(site, admin_client):
    order = Order.objects.get(external_id="demo-1001")
    admin_client.post(_url(Order, "changelist"), {"action": "refund_orders", "_selected_action": [order.pk]})
    order.refresh_from_db()
    assert order.status == Order.REFUNDED
    assert Membership.objects.get(order=order).status == "cancelled"


def test_retry_now_carries_out_a_dead_operation(site, admin_client):
    alice = _membership("alice")
    Enrollment.objects.filter(member=alice.member).delete()
    members_resync(dry_run=True, actor=Actor.system("test"))  # a dry run leaves nothing in the outbox
    from membersync.sync.reconciler import Cause, members_reconcile

    members_reconcile(member_ids=[alice.member_id], now=NOW, cause=Cause("test", "test"))
    operation = Operation.objects.get(member=alice.member, status=Operation.PENDING)
    # As if its sink had failed it too many times.
    Operation.objects.filter(pk=operation.pk).update(status=Operation.DEAD, attempts=8, last_error="LMS down")
    response = admin_client.post(
        _url(Operation, "changelist"), {"action": "retry_now", "_selected_action": [operation.pk]}, follow=True
    )
    assert "made due now" in response.content.decode()
    operation.refresh_from_db()
    assert operation.status == Operation.DONE
    assert Enrollment.objects.filter(member=alice.member).exists()
