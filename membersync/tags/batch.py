"""`membersync batch course-tags|group-tags|crm-pull`: WP Fusion's batch operations, decided set-based.

course-tags and group-tags decide, for every member at once and from stored state only, what each CRM should hold
of the tags that course (or group) settings name: her enrollments as the built-in enrollment table holds them
(with any operation still on its way), her source tags, the CRM's suppressions and MemberSync's mirror of the CRM,
through the same rules the reconciler uses (access/tags.py tags_wanted). Nothing is reconciled: members whose tags
are already right cost one pass over those rows. Only the members whose tags differ get an operation in the
outbox, which this command then carries out itself: merged per contact and in bulk where the CRM allows
(FluentCRM's sync-segments), within the CRM's rate limit, retried by the outbox if a call fails.

crm-pull reloads every connected CRM's tags (pull.py), as `membersync crm pull NAME` does for one.
"""

from __future__ import annotations

import os
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import connection as db
from django.db import transaction

from membersync import clock, memo
from membersync.access.rules import COURSE, GROUP, Target
from membersync.access.tags import TAG, TAG_EPOCH, TagRules, tags_wanted
from membersync.errors import ServiceError
from membersync.sync.bulk import rows_insert
from membersync.sync.models import Enrollment, LedgerEntry, MirrorEntry, Operation
from membersync.sync.outbox import operations_apply, operations_lease
from membersync.sync.reconciler import OPERATION_COLUMNS, enrollments_digest
from membersync.sync.sinks import BUILTIN, Sink

from .models import MemberTag, TagSuppression
from .remote import crm_sink
from .selectors import crm_connections, tag_rules
from .services import suppressions_lift
from .sinks import builtin_crm_sink

COURSE_TAGS = "course-tags"
GROUP_TAGS = "group-tags"
CRM_PULL = "crm-pull"
BATCHES = (COURSE_TAGS, GROUP_TAGS, CRM_PULL)
CHUNK = 500  # members per IN (...) list

Progress = Callable[[int, int], None]


def batch_scope(rules: TagRules, which: str) -> set[str]:
    """The tags a batch decides: those course settings name (course-tags: linked and enrollment tags), or those
    group settings name (group-tags: linked, leader and enrollment tags, and the enrollment tags of the groups'
    courses, which access through a group applies)."""
    tags: set[str] = set()
    for target, settings in rules.settings.items():
        if (target.kind == COURSE) == (which == COURSE_TAGS):
            tags.update(t for t in (settings.link_tag, settings.leader_tag, *settings.tags_on_enrollment) if t)
    if which == GROUP_TAGS:
        grouped = {
            c for target in rules.settings if target.kind == GROUP for c in rules.group_courses.get(target.id, ())
        }
        for course_id in grouped:
            course = rules.settings.get(Target(COURSE, course_id))
            if course is not None:
                tags.update(course.tags_on_enrollment)
    return tags


@dataclass(frozen=True)
class Difference:
    member_id: int
    holds: frozenset[str]  # what the CRM holds (or will, once the outbox is through)
    wanted: frozenset[str]  # what it should hold after the batch

    @property
    def add(self) -> frozenset[str]:
        return self.wanted - self.holds

    @property
    def remove(self) -> frozenset[str]:
        return self.holds - self.wanted


@dataclass
class Decision:
    sink: str
    members: int = 0  # members with anything to decide (an enrollment, a source tag, a tag held)
    differences: list[Difference] = field(default_factory=list)
    lifted: dict[int, set[str]] = field(default_factory=dict)  # suppressions no enrollment needs any more

    @property
    def adds(self) -> int:
        return sum(len(d.add) for d in self.differences)

    @property
    def removes(self) -> int:
        return sum(len(d.remove) for d in self.differences)


# Each member's rows come back as one string per member (the database groups them), so deciding a member is a
# dictionary lookup: members with the same enrollments holding the same tags share one decision.
SEP, PAIR = "\x1f", "\x1e"


def _grouped(table: str, value: str, value_params: tuple = (), where: str = "", params: tuple = ()) -> dict[int, str]:
    aggregate = "string_agg" if db.vendor == "postgresql" else "group_concat"
    sql = f"SELECT member_id, {aggregate}({value}, %s) FROM {db.ops.quote_name(table)} {where} GROUP BY member_id"
    with db.cursor() as cursor:
        cursor.execute(sql, (*value_params, SEP, *params))
        return dict(cursor.fetchall())


def _enrollments() -> dict[int, str]:
    """Each member's enrollments (active or suspended) as the built-in enrollment table holds them, or as the
    latest operation still on its way to it will leave them."""
    found = _grouped(Enrollment._meta.db_table, "target_kind || %s || target_id", (PAIR,))
    coming = Operation.objects.filter(sink=BUILTIN, status__in=Operation.UNFINISHED).order_by("pk")
    for member_id, wanted in coming.values_list("member_id", "wanted"):
        found[member_id] = SEP.join(sorted(f"{row['target_kind']}{PAIR}{row['target_id']}" for row in wanted))
    return found


def _held(sink: str) -> dict[int, str]:
    """What the CRM holds per member as MemberSync knows it, or as the operation on its way will leave it."""
    found = _grouped(
        MirrorEntry._meta.db_table, "target_id", where="WHERE sink = %s AND target_kind = %s", params=(sink, TAG)
    )
    coming = Operation.objects.filter(sink=sink, status__in=Operation.UNFINISHED).order_by("pk")
    for member_id, wanted in coming.values_list("member_id", "wanted"):
        found[member_id] = SEP.join(sorted(row["target_id"] for row in wanted if row["target_kind"] == TAG))
    return found


class _Parsed(dict):
    """text -> its parsed value, each distinct text parsed once."""

    def __init__(self, parse: Callable[[str], frozenset]):
        super().__init__()
        self.parse = parse

    def __missing__(self, text: str) -> frozenset:
        value = self[text] = self.parse(text)
        return value


def _pairs(text: str) -> frozenset[tuple[str, str]]:
    return frozenset(tuple(item.split(PAIR, 1)) for item in text.split(SEP)) if text else frozenset()


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split(SEP)) if text else frozenset()


def _by_member(rows: Iterable[tuple[int, str]]) -> dict[int, set[str]]:
    found: dict[int, set[str]] = defaultdict(set)
    for member_id, tag in rows:
        found[member_id].add(tag)
    return found


def _had(member_ids: list[int], rules: TagRules) -> dict[int, list[tuple[str, str]]]:
    """The sticky courses and groups each of these members was ever given (the ledger's openings)."""
    sticky = rules.sticky_targets()
    wanted = {(t.kind, t.id) for t in sticky}
    had: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for start in range(0, len(member_ids), CHUNK):
        rows = (
            LedgerEntry.objects.filter(
                member_id__in=member_ids[start : start + CHUNK],
                action=LedgerEntry.OPENED,
                target_kind__in={t.kind for t in sticky},
                target_id__in={t.id for t in sticky},
            )
            .values_list("member_id", "target_kind", "target_id")
            .distinct()
        )
        for member_id, kind, target_id in rows:
            if (kind, target_id) in wanted:
                had[member_id].append((kind, target_id))
    return had


def tags_batch_decide(
    *,
    which: str,
    sink: str,
    connection_id: int | None,
    rules: TagRules | None = None,
    enrollments: dict[int, str] | None = None,
) -> Decision:
    """Every member whose tags in one CRM differ, within the batch's scope, from what the rules want."""
    rules = rules if rules is not None else tag_rules()
    enrollments = enrollments if enrollments is not None else _enrollments()
    scope = batch_scope(rules, which)
    decision = Decision(sink=sink)
    if not scope:
        return decision
    held = _held(sink)
    sources = _by_member(
        MemberTag.objects.filter(connection_id=connection_id, removed_at__isnull=True).values_list("member_id", "tag")
    )
    suppressed = _by_member(TagSuppression.objects.filter(connection_id=connection_id).values_list("member_id", "tag"))
    members = enrollments.keys() | held.keys() | sources.keys()
    decision.members = len(members)
    pairs, names = _Parsed(_pairs), _Parsed(_names)
    kept_anywhere = _kept_anywhere(rules)

    def decide(mine, holds, own=(), off=(), had=()) -> tuple[frozenset, frozenset, bool]:
        """(what the CRM should hold after the batch, suppressions to lift, whether her history may matter)"""
        decided = tags_wanted(rules=rules, enrollments=mine, sources=own, held=holds, suppressed=off, had=had)
        after = (holds - scope) | (decided.wanted & scope)
        history = bool(holds & (kept_anywhere - rules.mirrored(mine)))  # a tag she may keep from a target she had
        return frozenset(after), decided.lifted, history

    shared: dict[tuple[str, str], tuple[frozenset, frozenset, bool]] = {}
    need_history: list[int] = []
    for member_id in members:
        mine, holds = enrollments.get(member_id, ""), held.get(member_id, "")
        if member_id in sources or member_id in suppressed:
            after, lifted, history = decide(
                pairs[mine], names[holds], sources.get(member_id, ()), suppressed.get(member_id, ())
            )
        else:
            key = (mine, holds)
            if key not in shared:
                shared[key] = decide(pairs[mine], names[holds])
            after, lifted, history = shared[key]
        if history:
            need_history.append(member_id)
            continue
        if after != names[holds]:
            decision.differences.append(Difference(member_id, names[holds], after))
        if lifted:
            decision.lifted[member_id] = set(lifted)
    had = _had(need_history, rules) if need_history else {}
    for member_id in need_history:
        holds = names[held.get(member_id, "")]
        after, lifted, _ = decide(
            pairs[enrollments.get(member_id, "")],
            holds,
            sources.get(member_id, ()),
            suppressed.get(member_id, ()),
            had.get(member_id, ()),
        )
        if after != holds:
            decision.differences.append(Difference(member_id, holds, after))
        if lifted:
            decision.lifted[member_id] = set(lifted)
    decision.differences.sort(key=lambda d: d.member_id)
    return decision


def _kept_anywhere(rules: TagRules) -> frozenset[str]:
    """Every enrollment tag some target leaves in place after an unenrollment."""
    return frozenset(
        t for s in rules.settings.values() if not s.remove_tags_on_unenrollment for t in s.tags_on_enrollment
    )


# ---- carrying a decision out -----------------------------------------------------------------------------------


@dataclass
class BatchReport:
    which: str
    dry_run: bool
    decisions: list[tuple[str, Decision]] = field(default_factory=list)  # (CRM label, decision)
    done: int = 0  # operations carried out
    waiting: int = 0  # operations left in the outbox (a failed call: the worker retries; shadow mode)
    notes: list[str] = field(default_factory=list)


def _sinks(crm: str | None) -> list[tuple[str, Sink, int | None]]:
    """(label, sink, connection pk) of the built-in CRM and each connected CRM, or of the one named."""
    found = [("built-in CRM", builtin_crm_sink(), None)]
    for connection in crm_connections():
        if connection.has_credentials:
            found.append((f"{connection.kind} {connection.name}", crm_sink(connection), connection.pk))
    if crm is None:
        return found
    chosen = [row for row in found if (crm == "builtin" and row[2] is None) or row[1].name == f"crm:{crm}"]
    if not chosen:
        names = ", ".join(["builtin", *(c.name for c in crm_connections())])
        raise ServiceError("not_found", f"no CRM named {crm!r} (one of: {names})", field="crm")
    return chosen


def tags_batch_run(
    *, which: str, dry_run: bool = False, crm: str | None = None, progress: Progress | None = None
) -> BatchReport:
    """Decide, then (unless a dry run) queue an operation for each member whose tags differ and carry them out."""
    report = BatchReport(which=which, dry_run=dry_run)
    with memo.scope():
        sinks = _sinks(crm)
        rules = tag_rules()
        enrollments = _enrollments()
        for label, sink, connection_id in sinks:
            decision = tags_batch_decide(
                which=which, sink=sink.name, connection_id=connection_id, rules=rules, enrollments=enrollments
            )
            report.decisions.append((label, decision))
    if dry_run:
        return report
    total = sum(len(d.differences) for _, d in report.decisions)
    done = 0
    for (label, decision), (_, sink, connection_id) in zip(report.decisions, sinks, strict=True):
        _queue(decision, connection_id)
        if not decision.differences:
            continue
        if sink.shadow:
            report.notes.append(f"{label} is in shadow mode: {len(decision.differences)} operations wait, unsent")
            report.waiting += len(decision.differences)
            continue
        carried = _carry_out(sink, len(decision.differences), _offset(progress, done, total))
        done += len(decision.differences)
        report.done += carried
        report.waiting += len(decision.differences) - carried
    if progress is not None:
        progress(total, total)
    return report


def _offset(progress: Progress | None, before: int, total: int) -> Callable[[int], None]:
    def draw(count: int) -> None:
        if progress is not None:
            progress(before + count, total)

    return draw


def _queue(decision: Decision, connection_id: int | None) -> None:
    now = clock.now()
    rows = []
    for diff in decision.differences:
        wanted = [
            {
                "target_kind": TAG,
                "target_id": tag,
                "status": Enrollment.ACTIVE,
                "access_from": TAG_EPOCH.isoformat(),
                "suspended_since": None,
            }
            for tag in sorted(diff.wanted)
        ]
        changes = [
            {"target_kind": TAG, "target_id": t, "action": "enroll", "access_from": TAG_EPOCH.isoformat()}
            for t in sorted(diff.add)
        ] + [{"target_kind": TAG, "target_id": t, "action": "unenroll"} for t in sorted(diff.remove)]
        digest = enrollments_digest(((TAG, t), (Enrollment.ACTIVE, TAG_EPOCH, None)) for t in diff.wanted)
        key = f"{decision.sink}:{diff.member_id}:batch:{uuid.uuid4().hex}"
        rows.append(
            (diff.member_id, decision.sink, wanted, changes, digest, key, Operation.PENDING, 0, now, now, "", "", "")
        )
    with transaction.atomic():
        rows_insert(Operation, OPERATION_COLUMNS, rows)
        if decision.lifted:
            suppressions_lift(lifted=decision.lifted, connection_id=connection_id)


def _carry_out(sink: Sink, expected: int, progress: Callable[[int], object]) -> int:
    """Run the sink's due operations until none is left that can go now (a failed one waits for its retry)."""
    worker = f"batch:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    carried = seen = 0
    while True:
        leased = operations_lease(sink=sink.name, worker=worker, now=clock.now(), limit=sink.batch_limit)
        if not leased:
            return carried
        carried += operations_apply(leased, sink=sink, worker=worker, now=clock.now())
        seen += len(leased)
        progress(min(seen, expected))
