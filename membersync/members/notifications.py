"""Member notifications: membership started, ending in 7 days, ended. Sent with Django's email framework.

They are level-triggered like everything else: whenever the reconciler stores a membership's changed status
(an event, or the worker at a trial end, an end date, or 7 days before it), the notices that status calls
for and that were not sent yet are sent, once per membership and kind (the Notification row is the record).

As WooCommerce Memberships does, nothing is sent for subscription-tied memberships (the subscription's own
emails cover them). A payment-plan (installment) membership has its own length and gets them all (DOMAIN.md,
MemberSync's own rules). Nothing is said about an end that came before the membership was made (one created
already ended), and a member with no email address is sent nothing and no notice is recorded as sent.

What a customer reads is made from the membership's plan, status and dates only: never from the free text of
a rule, which can name who acted.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction

from membersync.access.rules import SUBSCRIPTION
from membersync.access.sources import ENDING_SOON, MembershipState
from membersync.sync.bulk import rows_insert

from .models import Membership, Notification

SUBJECTS = {
    Notification.STARTED: "Your {plan} membership has started",
    Notification.ENDING_SOON: "Your {plan} membership ends on {end:%Y-%m-%d}",
    Notification.ENDED: "Your {plan} membership has ended",
}
BODIES = {
    Notification.STARTED: "{greeting},\n\nyour membership in {plan} is {status} from {start:%Y-%m-%d}.\n",
    Notification.ENDING_SOON: "{greeting},\n\nyour membership in {plan} ends on {end:%Y-%m-%d %H:%M} UTC.\n",
    Notification.ENDED: "{greeting},\n\nyour membership in {plan} {ended} on {end:%Y-%m-%d %H:%M} UTC.\n",
}
ENDED_AS = {"cancelled": "was cancelled", "expired": "expired"}


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


def notifications_for_status_changes(changes: Iterable[tuple[int, MembershipState]], now) -> int:
    """Record and send the notices due for memberships whose derived status was just stored.

    `changes` are (membership pk, its new state). The emails go out once the transaction commits, over one
    connection, so a rolled-back reconcile (a dry run, a refused event) sends nothing. Returns how many.
    """
    due = {}
    for pk, state in changes:
        kinds = notices_due(state, now=now)
        if kinds:
            due[pk] = (kinds, state)
    if not due:
        return 0
    sent = set(Notification.objects.filter(membership_id__in=due).values_list("membership_id", "kind"))
    rows, messages = [], []
    for membership in Membership.objects.filter(pk__in=due).values(*_FIELDS):
        kinds, state = due[membership["pk"]]
        for kind in kinds:
            if (membership["pk"], kind) in sent or not _may_notify(membership, kind, state):
                continue
            subject, body = _texts(membership, kind, state)
            rows.append((membership["pk"], kind, now, membership["member__email"], subject))
            messages.append(EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [membership["member__email"]]))
    rows_insert(Notification, ["membership_id", "kind", "sent_at", "to_email", "subject"], rows)
    if messages:
        transaction.on_commit(lambda: get_connection().send_messages(messages))
    return len(rows)


_FIELDS = (
    "pk",
    "plan__length_kind",
    "plan__name",
    "start",
    "created_at",
    "member__name",
    "member__email",
)


def _may_notify(membership: dict, kind: str, state: MembershipState) -> bool:
    if membership["plan__length_kind"] == SUBSCRIPTION:
        return False  # subscription-tied: the subscription's own emails cover it
    if not membership["member__email"]:
        return False  # no address: nothing is sent, and nothing is recorded as sent
    end = state.window.end
    never_had_it = end is not None and end <= max(membership["start"], membership["created_at"])
    return not (kind == Notification.ENDED and never_had_it)


def _texts(membership: dict, kind: str, state: MembershipState) -> tuple[str, str]:
    values = {
        "plan": membership["plan__name"],
        "greeting": f"Hello {membership['member__name']}" if membership["member__name"] else "Hello",
        "status": state.status.replace("_", " "),
        "ended": ENDED_AS.get(state.status, "ended"),
        "start": state.window.start,
        "end": state.window.end,
    }
    return SUBJECTS[kind].format(**values)[:200], BODIES[kind].format(**values)
