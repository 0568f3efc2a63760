"""Prometheus metrics in the text exposition format (version 0.0.4), written by hand: every number is read from
the database when scraped, so any web process answers the same and nothing is kept in memory."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Count

from membersync.api.models import ResyncJob
from membersync.sync.models import Operation

from .health import (
    connections_health,
    deliveries_by_status,
    outbox_lag,
    wake_lag_seconds,
    worker_reconcile_counters,
    worker_state,
)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class _Text:
    def __init__(self):
        self.lines: list[str] = []

    def family(self, name: str, kind: str, text: str, samples: list[tuple[dict, float]]) -> None:
        self.lines += [f"# HELP {name} {text}", f"# TYPE {name} {kind}"]
        for labels, value in samples:
            inside = ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items())
            self.lines.append(f"{name}{{{inside}}} {value:g}" if inside else f"{name} {value:g}")


def metrics_text(*, now: datetime) -> str:
    out = _Text()
    operations = Operation.objects.values_list("sink", "status").annotate(n=Count("pk")).order_by("sink", "status")
    out.family(
        "membersync_operations",
        "gauge",
        "Operations in the outbox by sink and status.",
        [({"sink": sink, "status": status}, n) for sink, status, n in operations],
    )
    out.family(
        "membersync_deliveries",
        "gauge",
        "Webhook deliveries stored, by connection and status.",
        [({"connection": c, "status": s}, n) for (c, s), n in sorted(deliveries_by_status().items())],
    )
    lags = outbox_lag(now=now)
    out.family(
        "membersync_outbox_lag_seconds",
        "gauge",
        "How long the oldest due operation of each sink has waited (0: nothing due; shadow sinks send nothing).",
        [({"sink": s.sink}, s.lag_seconds) for s in lags],
    )
    worker = worker_state(now=now)
    out.family("membersync_workers_alive", "gauge", "Workers that reported recently.", [({}, worker.workers)])
    age = worker.age(now)
    if age is not None:
        out.family("membersync_worker_last_seen_seconds", "gauge", "Seconds since a worker last reported.", [({}, age)])
    counters = worker_reconcile_counters(now=now)
    for name, index, text in (
        ("membersync_reconciles_total", 1, "Reconcile batches a worker ran since it started."),
        ("membersync_reconciled_members_total", 2, "Members a worker reconciled since it started."),
        ("membersync_reconcile_seconds_total", 3, "Seconds a worker spent reconciling since it started."),
    ):
        out.family(name, "counter", text, [({"worker": row[0]}, row[index]) for row in counters])
    due, late = wake_lag_seconds(now=now)
    out.family("membersync_reconcile_due_members", "gauge", "Members whose reconcile is due now.", [({}, due)])
    out.family(
        "membersync_reconcile_wake_lag_seconds",
        "gauge",
        "How late the most overdue member's reconcile is (a drip, a trial end or an expiry waiting for the worker).",
        [({}, late)],
    )
    finished = list(
        ResyncJob.objects.filter(started_at__isnull=False, finished_at__isnull=False).order_by("-finished_at")[:1]
    )
    if finished:
        job = finished[0]
        out.family(
            "membersync_resync_last_duration_seconds",
            "gauge",
            "How long the last full or quick resync asked through the API took.",
            [({"quick": str(job.quick).lower()}, (job.finished_at - job.started_at).total_seconds())],
        )
    connections = connections_health(now=now)
    out.family(
        "membersync_connection_consecutive_failures",
        "gauge",
        "Calls to each connection that failed in a row.",
        [({"connection": c.name, "kind": c.kind}, c.consecutive_failures) for c in connections],
    )
    out.family(
        "membersync_connection_last_delivery_timestamp_seconds",
        "gauge",
        "When each connection last sent a delivery (Unix time).",
        [({"connection": c.name}, c.last_delivery_at.timestamp()) for c in connections if c.last_delivery_at],
    )
    return "\n".join(out.lines) + "\n"
