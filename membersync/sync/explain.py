"""Explanations in words, for the CLI (the member's admin page draws the same Explanation)."""

from __future__ import annotations

from datetime import datetime

from membersync.access.grants import days

from .selectors import FUTURE, PAST, Explanation, GrantExplanation, TargetExplanation


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M}" if moment else "-"


def explanation_text(explanation: Explanation) -> str:
    lines = [_heading(explanation), "", "Sources:"]
    if not explanation.sources:
        lines.append("  (none)")
    for source in explanation.sources:
        end = f" until {_when(source.end)} ({source.end_reason})" if source.end else " with no end"
        unknown = "" if source.known_then else "(not known then) "
        lines.append(f"  {unknown}{source.label} [{source.kind} {source.id}]: from {_when(source.start)}{end}")
        if source.status:
            lines.append(f"    status {source.status}: {source.status_rule}")
        lines += [f"    {detail}" for detail in source.details]
        for start, stop, reason in source.pauses:
            lines.append(f"    paused {_when(start)} -> {_when(stop) if stop else 'still paused'}: {reason}")
        if source.correction:
            lines.append(f"    corrected later: {source.correction}")
    lines += ["", "Access:"]
    if not explanation.targets:
        lines.append("  (nothing)")
    for target in explanation.targets:
        lines += _target_lines(target)
    if explanation.notes:
        lines += ["", "Note:"] + [f"  {note}" for note in explanation.notes]
    return "\n".join(lines) + "\n"


def _heading(explanation: Explanation) -> str:
    head = f"{explanation.member.external_id} at {_when(explanation.at)} UTC"
    if explanation.when == PAST:
        return (
            f"{head}, in the past (now is {_when(explanation.now)} UTC): what was in force then, "
            "and what deliveries known only later corrected"
        )
    if explanation.when == FUTURE:
        return (
            f"{head}, a preview (now is {_when(explanation.now)} UTC): from her sources as they stand now; "
            "events still to come can change it"
        )
    return f"{head} (now)"


def target_name(target: TargetExplanation) -> str:
    if target.title and target.title != target.id:
        return f"{target.kind} {target.id} ({target.title})"
    return f"{target.kind} {target.id}"


def _target_lines(target: TargetExplanation) -> list[str]:
    name = target_name(target)
    if not target.grants and not target.correction:
        lines = [f"  {name}: none of her sources grant it"]
        if target.granted_by:
            lines.append(f"    it would be granted by: {'; '.join(target.granted_by)}")
        else:
            lines.append("    nothing in the catalog grants it")
        return lines
    since = ""
    if target.access_from:
        since = f", enrollment start {_when(target.access_from)}"
        if target.pushed_back:
            since += (
                f" (pushed back {days(target.pushed_back)} by suspension; her access began {_when(target.run_start)})"
            )
    lines = [f"  {name}: {target.state}{since}"]
    for grant in target.grants:
        lines += _grant_lines(grant)
    for line in target.history:
        entry = line.entry
        text = f"    ledger {_when(entry.at)} {entry.action}: {entry.reason} (cause: {entry.cause}, by {entry.actor})"
        if line.recorded_later:
            text += f" [recorded {_when(entry.recorded_at)}, after this moment]"
        lines.append(text)
    if target.correction:
        lines.append(f"    corrected later: {target.correction}")
    return lines


def _grant_lines(grant: GrantExplanation) -> list[str]:
    if grant.state == "never":
        label = "never opened" if grant.opening.startswith("never opened") else "never opens"
        return [f"    [{label}] {grant.why}; {grant.opening}"]
    if grant.opens is None:
        return [f"    [{grant.state}] {grant.why}; {grant.opening}"]
    window = f"{_when(grant.opens)} -> {_when(grant.closes) if grant.closes else 'no end'}"
    lines = [f"    [{grant.state}] {grant.why}; window {window}"]
    if grant.closes and grant.close_reason:
        lines.append(f"        closes because {grant.close_reason}")
    for start, stop, reason in grant.suspensions:
        lines.append(f"        suspended {_when(start)} -> {_when(stop) if stop else 'open'}: {reason}")
    return lines
