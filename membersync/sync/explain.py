"""Explanations in words, for the CLI and the member's admin page."""

from __future__ import annotations

from datetime import datetime

from .selectors import Explanation


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


def explanation_text(explanation: Explanation) -> str:
    lines = [f"{explanation.member.external_id} at {_when(explanation.at)} UTC", "", "Sources:"]
    if not explanation.sources:
        lines.append("  (none)")
    for source in explanation.sources:
        end = f" until {_when(source['end'])} ({source['end_reason']})" if source["end"] else " with no end"
        lines.append(f"  {source['label']} [{source['kind']} {source['id']}]: from {_when(source['start'])}{end}")
        if source.get("status"):
            lines.append(f"    status {source['status']}: {source['status_rule']}")
        for start, stop, reason in source["pauses"]:
            lines.append(f"    paused {_when(start)} -> {_when(stop) if stop else 'still paused'}: {reason}")
    lines += ["", "Access:"]
    if not explanation.targets:
        lines.append("  (nothing)")
    for target in explanation.targets:
        since = f", enrollment start {_when(target.access_from)}" if target.access_from else ""
        lines.append(f"  {target.kind} {target.id}: {target.state}{since}")
        for grant in target.grants:
            window = f"{_when(grant['opens'])} -> {_when(grant['closes']) if grant['closes'] else 'no end'}"
            lines.append(f"    [{grant['state']}] {grant['why']}; window {window}")
            if grant["closes"] and grant["close_reason"]:
                lines.append(f"        closes because {grant['close_reason']}")
            for start, stop, reason in grant["suspensions"]:
                lines.append(f"        suspended {_when(start)} -> {_when(stop) if stop else 'open'}: {reason}")
        for entry in target.history:
            lines.append(
                f"    ledger {_when(entry.at)} {entry.action}: {entry.reason} (cause: {entry.cause}, by {entry.actor})"
            )
    return "\n".join(lines) + "\n"
