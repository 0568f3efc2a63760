"""Member notifications: membership started, ending in 7 days, ended. Sent with Django's email framework.

They are level-triggered like everything else: whenever the reconciler stores a membership's changed status
(an event, or the worker at a trial end, an end date, or 7 days before it), the notices that status calls
for and that were not sent yet are sent, once per membership and kind (the Notification row is the record).

As WooCommerce Memberships does, nothing is sent for subscription-tied memberships (the subscription's own
emails cover them), nor while a membership is paid by a subscription: its welcome and its cancellation come
from the store. A payment-plan membership unlinked once its payments are complete is told about its own end.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from membersync import clock
from membersync.access.rules import SUBSCRIPTION
from membersync.access.sources import ENDING_SOON, MembershipState

from .models import Membership, Notification

SUBJECTS = {
    Notification.STARTED: "Your {plan} membership has started",
    Notification.ENDING_SOON: "Your {plan} membership ends on {end:%Y-%m-%d}",
    Notification.ENDED: "Your {plan} membership has ended",
}
BODIES = {
    Notification.STARTED: "Hello {name},\n\nyour membership in {plan} is {status} from {start:%Y-%m-%d}.\n",
    Notification.ENDING_SOON: "Hello {name},\n\nyour membership in {plan} ends on {end:%Y-%m-%d %H:%M} UTC.\n",
    Notification.ENDED: "Hello {name},\n\nyour membership in {plan} is {status}: {rule}.\n",
}


def notices_due(state: MembershipState, *, now) -> tuple[str, ...]:
    """The notices a membership's status calls for at `now` (before the sending rules are applied)."""
    if state.ended:
        return (Notification.ENDED,)
    if not state.grants_access:
        return ()
    end = state.window.end
    if end is not None and state.window.end_status in ("expired", "cancelled") and now + ENDING_SOON >= end:
        return (Notification.STARTED, Notification.ENDING_SOON)
    return (Notification.STARTED,)


def notifications_for_status_changes(rows: Iterable) -> list[Notification]:
    """Record and send the notices due for memberships whose derived status was just stored.

    Each row carries `derived_state` (set by members/sources.py). The emails go out once the transaction
    commits, so a rolled-back reconcile (a dry run, a refused event) sends nothing.
    """
    due = {}
    for row in rows:
        state = getattr(row, "derived_state", None)
        if state is None:
            continue
        kinds = notices_due(state, now=row.status_at or clock.now())
        if kinds:
            due[row.pk] = (kinds, state)
    if not due:
        return []
    memberships = Membership.objects.filter(pk__in=due).select_related("member", "plan")
    sent = set(Notification.objects.filter(membership_id__in=due).values_list("membership_id", "kind"))
    created: list[Notification] = []
    for membership in memberships:
        kinds, state = due[membership.pk]
        for kind in kinds:
            if (membership.pk, kind) not in sent and _may_notify(membership, kind):
                created.append(_notification(membership, kind, state))
    Notification.objects.bulk_create(created)
    for notification in created:
        if notification.to_email:
            transaction.on_commit(_sender(notification))
    return created


def _may_notify(membership: Membership, kind: str) -> bool:
    if membership.plan.length_kind == SUBSCRIPTION or membership.subscription_id is not None:
        return False
    paid_by_subscription = membership.last_subscription_id is not None
    if kind == Notification.STARTED and paid_by_subscription:
        return False  # it started while the subscription covered it
    # Ended by its subscription (cancelled before payments were complete): the store told her.
    ended_by_subscription = paid_by_subscription and membership.base_status in ("cancelled", "expired")
    return not (kind == Notification.ENDED and ended_by_subscription)


def _notification(membership: Membership, kind: str, state: MembershipState) -> Notification:
    values = {
        "plan": membership.plan.name,
        "name": membership.member.name or membership.member.external_id,
        "status": state.status.replace("_", " "),
        "rule": state.rule,
        "start": state.window.start,
        "end": state.window.end,
    }
    notification = Notification(
        membership=membership,
        kind=kind,
        sent_at=clock.now(),
        to_email=membership.member.email,
        subject=SUBJECTS[kind].format(**values)[:200],
    )
    notification.body = BODIES[kind].format(**values)
    return notification


def _sender(notification: Notification):
    subject, body, to = notification.subject, notification.body, notification.to_email

    def send() -> None:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])

    return send
