"""How much reconciling this process has done since it started: counters the worker reports with its heartbeat
(ops/jobs.py) and /metrics exposes per worker. Kept in memory: counting costs no write."""

from __future__ import annotations

import threading

_lock = threading.Lock()
_totals = {"reconciles": 0, "members": 0, "seconds": 0.0}


def reconcile_counted(*, members: int, seconds: float) -> None:
    with _lock:
        _totals["reconciles"] += 1
        _totals["members"] += members
        _totals["seconds"] += seconds


def reconcile_totals() -> dict[str, float]:
    """{"reconciles", "members", "seconds"} since this process started."""
    with _lock:
        return dict(_totals)
