"""Operators are told by email when something needs them: an operation went dead, no worker is running, a
connection keeps failing, a store has sent nothing for a day (WooCommerce disables a webhook after five failed
deliveries and says nothing).

Each cause is an incident (an Alert row): the email goes when it opens, not at every check; it resolves when its
cause goes away, and the next time is a new incident with a new email. Dead operations are an incident per sink
that new dead operations extend while it is open; it resolves after an hour without a new one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Count, Max

from membersync.sync.models import Operation

from .health import connections_health, worker_state
from .models import Alert, WorkerHeartbeat

log = logging.getLogger("membersync.alerts")
DEAD_QUIET = timedelta(hours=1)


@dataclass(frozen=True)
class Cause:
    key: str
    subject: str
    message: str
    watermark: int = 0


def _causes(now: datetime) -> tuple[list[Cause], set[str]]:
    """The causes present now, and the keys that were checked (an open incident whose key was checked and is not
    among the causes is resolved)."""
    causes: list[Cause] = []
    checked: set[str] = {"worker"}
    worker = worker_state(now=now)
    if worker.workers == 0 and WorkerHeartbeat.objects.exists():
        seen = f"{worker.last_seen:%Y-%m-%d %H:%M} UTC" if worker.last_seen else "never"
        causes.append(
            Cause(
                "worker",
                "MemberSync: no worker is running",
                f"No MemberSync worker has reported for {settings.HEALTH_WORKER_STALE_SECONDS} seconds (last seen "
                f"{seen}). Nothing is sent to the LMS and no member is woken until one runs: start "
                "`membersync worker` (a process manager should restart it).",
            )
        )
    for c in connections_health(now=now):
        checked |= {f"connection:{c.name}", f"silent:{c.name}"}
        if c.failing:
            causes.append(
                Cause(
                    f"connection:{c.name}",
                    f"MemberSync: the connection {c.name} is failing",
                    f"The last {c.consecutive_failures} calls to {c.kind} {c.name} failed. Its admin page shows "
                    "the last error; check its address and credentials.",
                )
            )
        if c.silent:
            since = f"{c.last_delivery_at:%Y-%m-%d %H:%M} UTC" if c.last_delivery_at else "it was connected"
            causes.append(
                Cause(
                    f"silent:{c.name}",
                    f"MemberSync: the store {c.name} has sent nothing for {settings.ALERT_STORE_SILENT_HOURS} hours",
                    f"No webhook delivery came from {c.name} since {since}. WooCommerce disables a webhook after "
                    "five failed deliveries without saying so: check WooCommerce > Settings > Advanced > Webhooks "
                    f"(each should be Active), then run `membersync verify woocommerce {c.name} --repair`.",
                )
            )
    for sink, newest, dead in (
        Operation.objects.filter(status=Operation.DEAD).values_list("sink").annotate(m=Max("pk"), n=Count("pk"))
    ):
        checked.add(f"dead:{sink}")
        causes.append(
            Cause(
                f"dead:{sink}",
                f"MemberSync: operations for {sink} went dead",
                f"{dead} operations for {sink} failed {settings.OUTBOX_MAX_ATTEMPTS} times (or could never work) "
                "and are no longer tried. The admin's Operations page shows each one's error and retries them.",
                watermark=newest,
            )
        )
    return causes, checked


def alerts_check(*, now: datetime) -> list[Alert]:
    """Open an incident (and email the operators) for each new cause, resolve those whose cause went away.
    Returns the incidents opened now. The emails go after the transaction, never inside it."""
    causes, checked = _causes(now)
    opened: list[Alert] = []
    with transaction.atomic():
        open_alerts = {a.key: a for a in Alert.objects.select_for_update().filter(resolved_at__isnull=True)}
        present = {c.key for c in causes}
        for cause in causes:
            current = open_alerts.get(cause.key)
            if cause.key.startswith("dead:"):
                opened += _dead_incident(cause, current, now)
            elif current is None:
                opened.append(_open(cause, now))
            else:
                Alert.objects.filter(pk=current.pk).update(last_seen_at=now)
        for key, alert in open_alerts.items():
            # Gone: a connection removed, no dead operation left for a sink (retried or discarded).
            if key not in present and (key in checked or key.startswith(("dead:", "connection:", "silent:"))):
                Alert.objects.filter(pk=alert.pk).update(resolved_at=now)
    for alert in opened:
        log.warning("%s: %s", alert.subject, alert.message, extra={"alert": alert.key})
        if settings.OPERATOR_EMAILS:
            send_mail(alert.subject, alert.message, None, settings.OPERATOR_EMAILS, fail_silently=True)
    return opened


def _open(cause: Cause, now: datetime) -> Alert:
    return Alert.objects.create(
        key=cause.key,
        subject=cause.subject,
        message=cause.message,
        opened_at=now,
        last_seen_at=now,
        emailed_to=", ".join(settings.OPERATOR_EMAILS),
        watermark=cause.watermark,
    )


def _dead_incident(cause: Cause, current: Alert | None, now: datetime) -> list[Alert]:
    """New dead operations (newer than any incident covered) open an incident, or extend the open one; an open
    one with none new for an hour resolves."""
    if current is not None:
        if cause.watermark > current.watermark:
            Alert.objects.filter(pk=current.pk).update(last_seen_at=now, watermark=cause.watermark)
        elif current.last_seen_at < now - DEAD_QUIET:
            Alert.objects.filter(pk=current.pk).update(resolved_at=now)
        return []
    covered = Alert.objects.filter(key=cause.key).aggregate(w=Max("watermark"))["w"] or 0
    if cause.watermark <= covered:
        return []
    return [_open(cause, now)]
