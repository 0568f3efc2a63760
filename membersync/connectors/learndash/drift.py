"""Drift on a LearnDash site: what the site holds for each member MemberSync knows there, compared with what her
sources want, read from the site (enrollments, group memberships, leaderships).

    report = learndash_verify(connection)                                # every difference, in words
    report = learndash_verify(connection, repair=True)                   # missing ones sent again
    report = learndash_verify(connection, repair=True, remove_extra=True)  # and extra ones removed

- missing: wanted, and not on the site (a suspended one counts only with the companion plugin: without it a
  suspension is not being enrolled). --repair forgets that member's mirror and reconciles her, so the outbox
  sends her whole wanted state again (in shadow mode it is recorded, not sent).
- extra: on the site, for a linked course or group, and not wanted. MemberSync's sources include the `lms`
  sources (what the operator adopted, what the companion reported), so an extra is one nobody vouched for: it is
  reported, and removed from the site only with --repair --remove-extra.
- mismatched: on the site and wanted, but MemberSync's mirror of the site has a record of her without it (its
  record is wrong); --repair resets the mirror, so the next reconcile compares with the truth. A member of whom
  the mirror records nothing (nothing sent yet: shadow mode) has no record to contradict.
Courses reached through a group and open courses are not enrollments of their own (as the import reads them).
Only linked courses and groups are compared: the others are not MemberSync's. HTTP reads and removals are never
inside a transaction; the snapshot (SiteEnrollment) is refreshed for every member read.

Nightly: connection setting `verify` = "report" or "repair" at `verify_hour` (UTC), like a store's
(`learndash_drift_checks_run(now=)` is the worker's periodic job; recorded in connectors' DriftCheck).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from membersync import clock
from membersync.actors import Actor
from membersync.people.models import LEARNDASH, WP_USER, Connection, Identity
from membersync.sync.ledger import Cause

from ..models import DriftCheck
from .models import COURSE, GROUP, GROUP_LEADER, OPEN, SiteEnrollment, SiteTarget
from .reading import ATTEMPTS, MAX_WAIT_SECONDS, PatientReader, SiteStopped, enrolled_at_of
from .selectors import site_targets
from .site import site_client
from .wanted import SUSPENDED_STATUS, wanted_access

log = logging.getLogger(__name__)

VERIFY_MODES = ("report", "repair")
DEFAULT_VERIFY_HOUR = 3


@dataclass
class Difference:
    kind: str  # missing, extra, mismatched
    member_id: int
    member: str
    wp_user_id: int
    target_kind: str
    remote_id: int
    title: str
    repaired: str = ""

    def text(self) -> str:
        what = {"course": "course", "group": "group", "group_leader": "leader of group"}[self.target_kind]
        said = {
            "missing": "MemberSync wants it, the site does not have it",
            "extra": "the site has it, nothing in MemberSync grants it",
            "mismatched": "the site has it, MemberSync's record of the site says it does not",
        }[self.kind]
        done = f" — {self.repaired}" if self.repaired else ""
        return (
            f"{self.kind}: {self.member} (user {self.wp_user_id}) {what} {self.title} (#{self.remote_id}): {said}{done}"
        )


@dataclass
class VerifyReport:
    connection: str
    repair: bool
    remove_extra: bool
    members: int = 0
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped: str = ""

    @property
    def repaired(self) -> int:
        return sum(1 for d in self.differences if d.repaired)

    def lines(self) -> list[str]:
        return [d.text() for d in self.differences]


def learndash_verify(
    connection: Connection,
    *,
    repair: bool = False,
    remove_extra: bool = False,
    client=None,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = ATTEMPTS,
    max_wait: float = MAX_WAIT_SECONDS,
) -> VerifyReport:
    """Compare the site with MemberSync for every member known there (see the module's docstring). Never raises
    for the site's failures: `stopped` says why it stopped."""
    report = VerifyReport(connection.name, repair, remove_extra and repair)
    own = client is None
    client = client or site_client(connection)
    reader = PatientReader(connection.name, sleep, attempts, max_wait)
    try:
        _verify(connection, report, client, reader)
    except SiteStopped as stopped:
        report.stopped = str(stopped)
    finally:
        if own:
            client.close()
    return report


def _verify(connection: Connection, report: VerifyReport, client, reader: PatientReader) -> None:
    from membersync.clients.learndash import SiteError, SiteNotFound

    from .sinks import sink_name

    now = clock.now()
    sink = sink_name(connection)
    companion = bool(connection.settings.get("has_companion"))
    linked = site_targets(connection=connection)  # (kind, target_id) -> row
    by_remote = {(row.kind, row.remote_id): row for row in linked.values()}
    groups = {row.remote_id: row for row in linked.values() if row.kind == GROUP}
    open_ids = set(
        SiteTarget.objects.filter(connection=connection, kind=COURSE, access_mode=OPEN).values_list(
            "remote_id", flat=True
        )
    )
    identities = list(
        Identity.objects.filter(connection=connection, kind=WP_USER).select_related("member").order_by("pk")
    )
    wanted = wanted_access(member_ids=[i.member_id for i in identities], now=now)
    leaders: dict[int, set[int]] = {}
    for group_id in groups:
        where = f"reading group {group_id}'s leaders"
        try:
            rows = reader.call(lambda g=group_id: client.group_leaders(g), where=where)
        except SiteNotFound:
            rows = []
            report.notes.append(f"group #{group_id} is linked but no longer on the site: run the import again")
        except SiteError as error:
            raise SiteStopped(f"the site could not be read {where}: {error}") from None
        for row in rows:
            leaders.setdefault(int(row["id"] if isinstance(row, dict) else row), set()).add(group_id)
    mirror = _mirror(sink, [i.member_id for i in identities])
    to_reset: set[int] = set()
    for identity in identities:
        if not identity.external_id.isdigit():
            continue
        wp_user_id = int(identity.external_id)
        where = f"reading user {wp_user_id}'s enrollments"
        try:
            courses = reader.call(lambda u=wp_user_id: client.user_courses(u), where=where)
            user_groups = reader.call(lambda u=wp_user_id: client.user_groups(u), where=where)
        except SiteNotFound:
            report.notes.append(f"user {wp_user_id} ({identity.member}) is no longer on the site")
            continue
        except SiteError as error:
            raise SiteStopped(f"the site could not be read {where}: {error}") from None
        report.members += 1
        group_ids = {int(g["id"] if isinstance(g, dict) else g) for g in user_groups}
        through = {int(c) for gid in group_ids if gid in groups for c in groups[gid].details.get("courses", [])}
        held: dict[tuple[str, int], datetime | None] = {(GROUP, gid): None for gid in group_ids}
        for course in courses:
            cid = int(course["id"])
            if cid not in open_ids and cid not in through:
                held[(COURSE, cid)] = enrolled_at_of(course)
        for gid in leaders.get(wp_user_id, ()):
            held[(GROUP_LEADER, gid)] = None
        _snapshot(connection, wp_user_id, held, now)
        member_wants = wanted.get(identity.member_id, {})
        member_mirror = mirror.get(identity.member_id, set())
        for (kind, target_id), (status, _from, _since) in member_wants.items():
            row = linked.get((kind, target_id))
            if row is None or (status == SUSPENDED_STATUS and not companion):
                continue
            if (kind, row.remote_id) in held:
                if member_mirror and (kind, target_id) not in member_mirror:
                    report.differences.append(_diff("mismatched", identity, wp_user_id, kind, row))
                    to_reset.add(identity.member_id)
                continue
            report.differences.append(_diff("missing", identity, wp_user_id, kind, row))
            to_reset.add(identity.member_id)
        for kind, remote_id in held:
            row = by_remote.get((GROUP if kind == GROUP_LEADER else kind, remote_id))
            if row is None:
                continue  # not linked: not MemberSync's
            if (kind, row.target_id) in member_wants:
                continue
            report.differences.append(_diff("extra", identity, wp_user_id, kind, row))
    if report.repair:
        _repair(connection, report, client, sink, to_reset, now)


def _diff(kind, identity, wp_user_id, target_kind, row) -> Difference:
    return Difference(kind, identity.member_id, str(identity.member), wp_user_id, target_kind, row.remote_id, row.title)


def _mirror(sink: str, member_ids: list[int]) -> dict[int, set[tuple[str, str]]]:
    from membersync.sync.mirror import mirror_read

    return {m: set(held) for m, held in mirror_read(sink=sink, member_ids=member_ids).items()}


def _snapshot(connection: Connection, wp_user_id: int, held: dict, now: datetime) -> None:
    """The snapshot of what this user holds, as just read."""
    with transaction.atomic():
        rows = SiteEnrollment.objects.filter(connection=connection, wp_user_id=wp_user_id)
        known = {(r.kind, r.remote_id): r for r in rows}
        SiteEnrollment.objects.filter(pk__in=[r.pk for k, r in known.items() if k not in held]).delete()
        for (kind, remote_id), enrolled_at in held.items():
            row = known.get((kind, remote_id))
            if row is None:
                SiteEnrollment.objects.create(
                    connection=connection,
                    wp_user_id=wp_user_id,
                    kind=kind,
                    remote_id=remote_id,
                    enrolled_at=enrolled_at,
                    seen_at=now,
                )
            else:
                row.enrolled_at = enrolled_at or row.enrolled_at
                row.seen_at = now
                row.save(update_fields=["enrolled_at", "seen_at"])


def _repair(connection: Connection, report: VerifyReport, client, sink: str, to_reset: set[int], now) -> None:
    from membersync.clients.learndash import SiteError
    from membersync.sync.mirror import mirror_reset
    from membersync.sync.reconciler import members_reconcile

    if to_reset:
        with transaction.atomic():
            mirror_reset(sink=sink, member_ids=sorted(to_reset))
            members_reconcile(
                member_ids=sorted(to_reset), now=now, cause=Cause(f"verify of {connection.name}", Actor.system())
            )
        shadow = " (shadow mode: recorded, not sent)" if connection.settings.get("shadow") else ""
        for difference in report.differences:
            if difference.member_id in to_reset and difference.kind != "extra":
                difference.repaired = f"sent again through the outbox{shadow}"
    if not report.remove_extra:
        return
    for difference in report.differences:
        if difference.kind != "extra":
            continue
        try:
            if difference.target_kind == COURSE:
                results = client.user_courses_remove(difference.wp_user_id, [difference.remote_id])
            elif difference.target_kind == GROUP:
                results = client.user_groups_remove(difference.wp_user_id, [difference.remote_id])
            else:
                results = client.group_leaders_remove(difference.remote_id, [difference.wp_user_id])
        except SiteError as error:
            difference.repaired = f"not removed: {error}"
            continue
        if all(r.ok for r in results):
            difference.repaired = "removed from the site"
            SiteEnrollment.objects.filter(
                connection=connection,
                wp_user_id=difference.wp_user_id,
                kind=difference.target_kind,
                remote_id=difference.remote_id,
            ).delete()
        else:
            difference.repaired = "not removed: " + "; ".join(f"{r.code} {r.message}" for r in results if not r.ok)


# ---- nightly -------------------------------------------------------------------------------------------------


def verify_mode(connection: Connection) -> str:
    mode = str(connection.settings.get("verify") or "")
    return mode if mode in VERIFY_MODES else ""


def verify_due(connection: Connection, now: datetime) -> bool:
    """A LearnDash connection set to be verified nightly (setting `verify`) with no nightly check started since
    today's `verify_hour` (UTC)."""
    from ..woocommerce.drift import _slot

    if connection.kind != LEARNDASH or not verify_mode(connection):
        return False
    return not DriftCheck.objects.filter(
        connection=connection, nightly=True, started_at__gte=_slot(connection, now)
    ).exists()


def drift_check_record(check: DriftCheck, report: VerifyReport, *, finished_at: datetime) -> DriftCheck:
    check.finished_at = finished_at
    check.differences = len(report.differences)
    check.repaired = report.repaired
    check.report = "\n".join(report.lines() + report.notes)[:100_000]
    check.error = report.stopped
    check.save()
    return check


def learndash_drift_checks_run(*, now: datetime, worker: str = "", **_) -> int:
    """Verify every LearnDash site whose nightly check is due (claimed first: two workers never run the same);
    returns how many ran. Nightly runs never remove extras (that takes an operator's --remove-extra)."""
    ran = 0
    for connection in Connection.objects.filter(kind=LEARNDASH).order_by("pk"):
        if not verify_due(connection, now):
            continue
        with transaction.atomic():
            Connection.objects.select_for_update().filter(pk=connection.pk).first()
            if not verify_due(connection, now):
                continue
            check = DriftCheck.objects.create(
                connection=connection, started_at=now, nightly=True, repair=verify_mode(connection) == "repair"
            )
        try:
            report = learndash_verify(connection, repair=check.repair)
        except Exception as error:  # recorded, and the worker goes on
            log.exception("nightly verify of %s failed", connection.name)
            report = VerifyReport(connection.name, check.repair, False, stopped=f"{type(error).__name__}: {error}")
        drift_check_record(check, report, finished_at=clock.now())
        ran += 1
    return ran
