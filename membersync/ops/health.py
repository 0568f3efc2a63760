"""Reads for /healthz, /metrics and the alerts: is the database there, is a worker alive, how far behind is each
sink's outbox, how is each connection doing. Read-only; every function takes the moment it answers for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection as db
from django.db.models import Count, Max, Min

from membersync import memo
from membersync.connectors.models import Delivery
from membersync.people.models import WOOCOMMERCE, Connection
from membersync.sync.models import MemberAccess, Operation
from membersync.sync.sinks import sinks_all

from .models import WorkerHeartbeat

OK, DEGRADED, DOWN = "ok", "degraded", "down"


def database_ok() -> bool:
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # any failure to reach it is the answer
        return False


@dataclass(frozen=True)
class WorkerState:
    last_seen: datetime | None
    workers: int  # alive: seen within the stale limit

    def age(self, now: datetime) -> float | None:
        return None if self.last_seen is None else max(0.0, (now - self.last_seen).total_seconds())


def worker_state(*, now: datetime) -> WorkerState:
    stale = now - timedelta(seconds=settings.HEALTH_WORKER_STALE_SECONDS)
    found = WorkerHeartbeat.objects.aggregate(last=Max("seen_at"))
    alive = WorkerHeartbeat.objects.filter(seen_at__gte=stale).count()
    return WorkerState(found["last"], alive)


@dataclass(frozen=True)
class SinkLag:
    sink: str
    shadow: bool
    pending: int
    held: int
    dead: int
    lag_seconds: float  # how long the oldest due operation has waited (0: nothing due)


def outbox_lag(*, now: datetime) -> list[SinkLag]:
    """Per sink (every known one, and any name operations still carry): what waits and how long the oldest due
    operation has waited. A shadow sink's pending operations are never sent, so they are no lag."""
    counts: dict[tuple[str, str], int] = {
        (sink, status): n
        for sink, status, n in Operation.objects.filter(status__in=(Operation.PENDING, Operation.HELD, Operation.DEAD))
        .values_list("sink", "status")
        .annotate(n=Count("pk"))
    }
    oldest = dict(
        Operation.objects.filter(status=Operation.PENDING, next_attempt_at__lte=now)
        .values_list("sink")
        .annotate(t=Min("next_attempt_at"))
    )
    with memo.scope():
        sinks = sinks_all()
    names = sorted(set(sinks) | {sink for sink, _ in counts})
    result = []
    for name in names:
        shadow = bool(sinks.get(name) and sinks[name].shadow)
        due = oldest.get(name)
        lag = 0.0 if shadow or due is None else max(0.0, (now - due).total_seconds())
        result.append(
            SinkLag(
                name,
                shadow,
                counts.get((name, Operation.PENDING), 0),
                counts.get((name, Operation.HELD), 0),
                counts.get((name, Operation.DEAD), 0),
                lag,
            )
        )
    return result


@dataclass(frozen=True)
class ConnectionHealth:
    name: str
    kind: str
    failing: bool
    consecutive_failures: int
    last_success_at: datetime | None
    last_delivery_at: datetime | None
    silent: bool  # a store that has sent nothing for STORE_SILENT_HOURS


def connections_health(*, now: datetime) -> list[ConnectionHealth]:
    silent_since = now - timedelta(hours=settings.ALERT_STORE_SILENT_HOURS)
    rows = []
    for c in Connection.objects.order_by("name"):
        last_heard = c.last_delivery_at or c.created_at
        rows.append(
            ConnectionHealth(
                name=c.name,
                kind=c.kind,
                failing=c.consecutive_failures >= settings.ALERT_CONNECTION_FAILURES,
                consecutive_failures=c.consecutive_failures,
                last_success_at=c.last_success_at,
                last_delivery_at=c.last_delivery_at,
                silent=c.kind == WOOCOMMERCE and last_heard < silent_since,
            )
        )
    return rows


def deliveries_by_status() -> dict[tuple[str, str], int]:
    return {
        (name, status): n
        for name, status, n in Delivery.objects.values_list("connection__name", "status").annotate(n=Count("pk"))
    }


def wake_lag_seconds(*, now: datetime) -> tuple[int, float]:
    """(members due for a reconcile, how late the most overdue one is): the worker's backlog of reconciles."""
    due = MemberAccess.objects.filter(next_change_at__lte=now).aggregate(n=Count("pk"), t=Min("next_change_at"))
    return due["n"], (0.0 if due["t"] is None else max(0.0, (now - due["t"]).total_seconds()))


def health_report(*, now: datetime) -> dict:
    """The whole answer of /healthz: each check's status and the overall one.

    Only an unreachable database makes the web node `down`: a node that can store deliveries must stay behind the
    load balancer even when the worker is stopped, or stores would see failures and disable their webhooks.
    Everything else makes it `degraded` (still 200, unless the caller asks ?strict=1: then 503)."""
    if not database_ok():
        return {"status": DOWN, "checked_at": now.isoformat(), "checks": {"database": {"status": DOWN}}}
    worker = worker_state(now=now)
    worker_ok = worker.workers > 0
    sinks = outbox_lag(now=now)
    connections = connections_health(now=now)
    checks = {
        "database": {"status": OK},
        "worker": {
            "status": OK if worker_ok else DEGRADED,
            "last_seen": worker.last_seen.isoformat() if worker.last_seen else None,
            "seconds_since": worker.age(now),
            "alive": worker.workers,
        },
        "outbox": {
            s.sink: {
                "status": DEGRADED if s.lag_seconds > settings.HEALTH_MAX_LAG_SECONDS else OK,
                "lag_seconds": round(s.lag_seconds, 3),
                "pending": s.pending,
                "held": s.held,
                "dead": s.dead,
                "shadow": s.shadow,
            }
            for s in sinks
        },
        "connections": {
            c.name: {
                "status": DEGRADED if c.failing or c.silent else OK,
                "kind": c.kind,
                "consecutive_failures": c.consecutive_failures,
                "last_success_at": c.last_success_at.isoformat() if c.last_success_at else None,
                "last_delivery_at": c.last_delivery_at.isoformat() if c.last_delivery_at else None,
                "silent": c.silent,
            }
            for c in connections
        },
    }
    statuses = [checks["worker"]["status"]]
    statuses += [s["status"] for s in checks["outbox"].values()]
    statuses += [c["status"] for c in checks["connections"].values()]
    overall = OK if all(s == OK for s in statuses) else DEGRADED
    return {"status": overall, "checked_at": now.isoformat(), "checks": checks}


def worker_reconcile_counters(*, now: datetime) -> list[tuple[str, int, int, float]]:
    """Per worker that reported recently: (worker, reconciles, members reconciled, seconds spent) since it started."""
    stale = now - timedelta(seconds=settings.HEALTH_WORKER_STALE_SECONDS)
    rows = WorkerHeartbeat.objects.filter(seen_at__gte=stale).order_by("worker")
    return list(rows.values_list("worker", "reconciles", "reconciled_members", "reconcile_seconds"))
