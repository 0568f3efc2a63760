"""Changing what a template (a plan, a seat type, a license type) grants changes the access of everyone holding it,
from each one's own start. Before the change is saved the operator sees who would gain, lose or shift a grant (a
dry run through the reconciler); the change is saved with a job listing exactly those members, and the worker
re-reconciles them in batches (`template_change_jobs_run`, a periodic job), the change's event as the ledger's
cause. A change that would take access away from more members than the site's threshold is refused unless the
operator confirms it (docs/decisions/0021-plan-changes-from-the-admin.md)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction
from django.db.models import Q

from membersync import clock, memo
from membersync.access.grants import grants_from_window
from membersync.actors import Actor
from membersync.catalog.selectors import site_settings_get
from membersync.errors import ServiceError
from membersync.members.models import Membership
from membersync.orgs.models import LicenseAssignment, SeatHolding
from membersync.people.models import Member
from membersync.sync.reconciler import Cause, members_reconcile
from membersync.sync.sources import load_sources

from .models import PlanChangeJob

log = logging.getLogger(__name__)
BATCH = 200
SHOWN = 50  # members listed by name in a preview

# (target, opens, closes) of every grant a member holds, per target: what the comparison reads
Holdings = dict[str, set[tuple]]


@dataclass
class MemberChange:
    member_id: int
    name: str
    gains: list[str] = field(default_factory=list)
    loses: list[str] = field(default_factory=list)
    shifts: list[str] = field(default_factory=list)
    removes_now: bool = False  # the dry run would unenroll or suspend something she holds now

    @property
    def loses_access(self) -> bool:
        return bool(self.loses) or self.removes_now


@dataclass
class ChangePreview:
    template: str
    checked: int = 0  # members holding the template
    changes: list[MemberChange] = field(default_factory=list)
    threshold: int = 0

    @property
    def gaining(self) -> list[MemberChange]:
        return [c for c in self.changes if c.gains]

    @property
    def losing(self) -> list[MemberChange]:
        return [c for c in self.changes if c.loses_access]

    @property
    def shifting(self) -> list[MemberChange]:
        return [c for c in self.changes if c.shifts]

    @property
    def needs_confirmation(self) -> bool:
        return len(self.losing) > self.threshold

    @property
    def member_ids(self) -> list[int]:
        return sorted(c.member_id for c in self.changes)

    def summary(self) -> str:
        return (
            f"{len(self.changes)} of {self.checked} members change: {len(self.gaining)} gain, "
            f"{len(self.losing)} lose, {len(self.shifting)} shift a grant"
        )


def template_members(kind: str, pk: int) -> list[int]:
    """Members holding a template now or before: a plan's memberships, a seat type's seats, a license type's
    licenses (assigned to them, or to an organization where they hold a seat)."""
    if kind == "plan":
        found = Membership.objects.filter(plan_id=pk).values_list("member_id", flat=True)
    elif kind == "seat_type":
        found = SeatHolding.objects.filter(seat_type_id=pk).values_list("member_id", flat=True)
    else:
        assigned = LicenseAssignment.objects.filter(license__license_type_id=pk)
        orgs = assigned.filter(organization__isnull=False).values("organization_id")
        found = [
            *assigned.filter(member__isnull=False).values_list("member_id", flat=True),
            *SeatHolding.objects.filter(Q(organization_id__in=orgs)).values_list("member_id", flat=True),
        ]
    return sorted(set(found))


@contextmanager
def _fresh_reads() -> Iterator[None]:
    """Reads of their own, even inside an event's scope: the catalog is read again after the change, and nothing
    read here (a change a preview rolls back) is served to the enclosing scope afterwards."""
    memo.forget()
    try:
        with memo.scope():
            yield
    finally:
        memo.forget()


def _holdings(member_ids: list[int], now: datetime) -> dict[int, Holdings]:
    with _fresh_reads():
        loaded = load_sources(member_ids, now)
    result: dict[int, Holdings] = {}
    for member_id in member_ids:
        targets: Holdings = {}
        for window in loaded.windows.get(member_id, []):
            for grant in grants_from_window(window):
                if grant.opens is not None and (grant.closes is None or grant.opens < grant.closes):
                    targets.setdefault(str(grant.target), set()).add((grant.opens, grant.closes))
        result[member_id] = targets
    return result


def _compare(template: str, before: dict[int, Holdings], after: dict[int, Holdings], dry, now) -> ChangePreview:
    preview = ChangePreview(
        template=template, checked=len(before), threshold=site_settings_get().plan_change_confirm_above
    )
    names = dict(Member.objects.filter(pk__in=list(before)).values_list("pk", "external_id"))
    for member_id in before:
        was, now_ = before[member_id], after.get(member_id, {})
        change = MemberChange(member_id, names.get(member_id, str(member_id)))
        change.gains = sorted(set(now_) - set(was))
        change.loses = sorted(set(was) - set(now_))
        change.shifts = sorted(t for t in set(was) & set(now_) if was[t] != now_[t])
        change.removes_now = any(c["action"] in ("unenroll", "suspend") for c in dry.by_member.get(member_id, []))
        if change.gains or change.loses or change.shifts or change.removes_now:
            preview.changes.append(change)
    return preview


def template_change_effect(
    *, kind: str, pk: int, label: str, change: Callable[[], object], actor: Actor
) -> ChangePreview:
    """Inside a transaction: make the change, and say whose access it changes (the change stays made)."""
    now = clock.now()
    member_ids = template_members(kind, pk)
    before = _holdings(member_ids, now)
    change()
    after = _holdings(member_ids, now)
    with _fresh_reads():
        dry = members_reconcile(member_ids=member_ids, now=now, cause=Cause("preview", actor), dry_run=True)
    return _compare(label, before, after, dry, now)


def template_change_preview(
    *, kind: str, pk: int, label: str, change: Callable[[], object], actor: Actor
) -> ChangePreview:
    """What the change would do, without doing it (everything is rolled back). A refused change raises."""
    with transaction.atomic():
        preview = template_change_effect(kind=kind, pk=pk, label=label, change=change, actor=actor)
        transaction.set_rollback(True)
    return preview


def template_change_refuse_unconfirmed(preview: ChangePreview, *, confirmed: bool) -> None:
    if preview.needs_confirmation and not confirmed:
        shown = ", ".join(c.name for c in preview.losing[:10])
        raise ServiceError(
            "confirmation_required",
            f"this change takes access away from {len(preview.losing)} members ({shown}"
            f"{', ...' if len(preview.losing) > 10 else ''}), more than the site's threshold of "
            f"{preview.threshold}: tick 'I confirm these removals' to go ahead",
            field="confirm_removals",
        )


def template_change_job_create(*, preview: ChangePreview, event_id: int, actor: Actor) -> PlanChangeJob | None:
    """Inside the change's event: queue the re-reconcile of exactly the members it changes (none: no job)."""
    if not preview.changes:
        return None
    return PlanChangeJob.objects.create(
        template=preview.template[:200],
        event_id=event_id,
        member_ids=preview.member_ids,
        summary=preview.summary()[:300],
        requested_by=str(actor)[:200],
        created_at=clock.now(),
        total=len(preview.changes),
    )


def template_change_jobs_run(*, now: datetime, worker: str) -> int:
    """The worker's turn: re-reconcile the oldest queued job's members, a batch at a time, recording its progress.
    Returns how many jobs it finished (0 or 1)."""
    with transaction.atomic():
        job = PlanChangeJob.objects.select_for_update().filter(status=PlanChangeJob.QUEUED).order_by("pk").first()
        if job is None:
            return 0
        PlanChangeJob.objects.filter(pk=job.pk).update(status=PlanChangeJob.RUNNING, started_at=now)
    cause = Cause(f"{job.template} changed (event {job.event_id})", Actor.parse(job.requested_by), job.event_id)
    try:
        for start in range(0, len(job.member_ids), BATCH):
            batch = job.member_ids[start : start + BATCH]
            existing = list(Member.objects.filter(pk__in=batch).values_list("pk", flat=True))
            members_reconcile(member_ids=sorted(existing), now=clock.now(), cause=cause)
            PlanChangeJob.objects.filter(pk=job.pk).update(done=min(start + BATCH, len(job.member_ids)))
    except Exception as error:  # recorded for the operator; the worker goes on with its other work
        log.exception("re-reconcile job %s failed", job.pk)
        PlanChangeJob.objects.filter(pk=job.pk).update(
            status=PlanChangeJob.FAILED, finished_at=clock.now(), error=str(error)[:2000]
        )
        return 1
    PlanChangeJob.objects.filter(pk=job.pk).update(status=PlanChangeJob.DONE, finished_at=clock.now())
    return 1
