"""The explanation `membersync explain` prints, as typed data (sync/selectors.py's Explanation, field for field)."""

from __future__ import annotations

from datetime import datetime

from ninja import Schema

from membersync.sync.selectors import Explanation, LedgerLine


class Interval(Schema):
    start: datetime
    end: datetime | None
    reason: str


class LedgerOut(Schema):
    id: int
    member: str
    at: datetime
    recorded_at: datetime
    action: str
    target_kind: str
    target_id: str
    source_kind: str
    source_id: str
    reason: str
    cause: str
    actor: str
    event: int | None


class LedgerLineOut(LedgerOut):
    recorded_later: bool


class SourceOut(Schema):
    kind: str
    id: str
    label: str
    start: datetime
    end: datetime | None
    end_reason: str
    pauses: list[Interval]
    trial_end: datetime | None
    status: str
    status_rule: str
    details: list[str]
    correction: str
    known_then: bool


class GrantOut(Schema):
    key: str
    state: str
    source: str
    opens: datetime | None
    closes: datetime | None
    opening: str
    suspensions: list[Interval]
    why: str
    close_reason: str
    scheduled: str


class TargetOut(Schema):
    kind: str
    id: str
    title: str
    state: str
    access_from: datetime | None
    run_start: datetime | None
    pushed_back_days: str
    grants: list[GrantOut]
    history: list[LedgerLineOut]
    correction: str
    granted_by: list[str]


class ExplanationOut(Schema):
    member: str
    at: datetime
    now: datetime
    when: str
    sources: list[SourceOut]
    targets: list[TargetOut]
    ledger: list[LedgerLineOut]


def ledger_out(entry, member: str) -> dict:
    return {
        "id": entry.pk,
        "member": member,
        "at": entry.at,
        "recorded_at": entry.recorded_at,
        "action": entry.action,
        "target_kind": entry.target_kind,
        "target_id": entry.target_id,
        "source_kind": entry.source_kind,
        "source_id": entry.source_id,
        "reason": entry.reason,
        "cause": entry.cause,
        "actor": entry.actor,
        "event": entry.event_id,
    }


def _line(line: LedgerLine, member: str) -> dict:
    return {**ledger_out(line.entry, member), "recorded_later": line.recorded_later}


def _intervals(rows) -> list[dict]:
    return [{"start": start, "end": end, "reason": reason} for start, end, reason in rows]


def explanation_out(explanation: Explanation) -> dict:
    member = explanation.member.external_id
    return {
        "member": member,
        "at": explanation.at,
        "now": explanation.now,
        "when": explanation.when,
        "sources": [
            {
                "kind": s.kind,
                "id": s.id,
                "label": s.label,
                "start": s.start,
                "end": s.end,
                "end_reason": s.end_reason,
                "pauses": _intervals(s.pauses),
                "trial_end": s.trial_end,
                "status": s.status,
                "status_rule": s.status_rule,
                "details": list(s.details),
                "correction": s.correction,
                "known_then": s.known_then,
            }
            for s in explanation.sources
        ],
        "targets": [
            {
                "kind": t.kind,
                "id": t.id,
                "title": t.title,
                "state": t.state,
                "access_from": t.access_from,
                "run_start": t.run_start,
                "pushed_back_days": t.pushed_back_days,
                "grants": [
                    {
                        "key": g.key,
                        "state": g.state,
                        "source": g.source,
                        "opens": g.opens,
                        "closes": g.closes,
                        "opening": g.opening,
                        "suspensions": _intervals(g.suspensions),
                        "why": g.why,
                        "close_reason": g.close_reason,
                        "scheduled": g.scheduled,
                    }
                    for g in t.grants
                ],
                "history": [_line(line, member) for line in t.history],
                "correction": t.correction,
                "granted_by": list(t.granted_by),
            }
            for t in explanation.targets
        ],
        "ledger": [_line(line, member) for line in explanation.ledger],
    }
