"""Adoption: before a site goes live, what MemberSync's sources would do to the students it already has, and
adopting the enrollments to keep as `lms` sources (origin "adopted", at their original dates) so that going live
neither wipes them nor restarts their drip (docs/decisions/0013-learndash-going-live.md).

    plan = adoption_plan(connection=site)          # per course/group: keep, add, remove, move, not members
    adopted = learndash_adopt(connection=site, remote_ids=[12], actor=...)   # or all_extra=True

Per linked course or group of the site, comparing the import's snapshot (SiteEnrollment) with each member's
wanted access now:
- keep: on the site and wanted (as it is);
- add: wanted, not on the site: going live enrolls them (a WordPress user found by email or created);
- remove: on the site, not wanted: going live unenrolls them, unless adopted (these are the "extra" ones);
- move: on the site and wanted, but going live changes their place: wanted suspended (without the companion
  plugin a suspension unenrolls, and LearnDash restarts the drip on re-enrolling), or, with the companion, an
  access date MemberSync computes more than a day away from the site's enrollment date;
- not members: WordPress users no member is known by (no email match): MemberSync never touches them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from membersync import clock
from membersync.actors import Actor
from membersync.errors import ServiceError
from membersync.people.models import WP_USER, Connection, Identity

from .models import COURSE, GROUP, GROUP_LEADER, SiteEnrollment, SiteTarget, SiteUser
from .wanted import SUSPENDED_STATUS, all_member_ids, wanted_access

MOVE_TOLERANCE = timedelta(days=1)
KINDS = ("keep", "add", "remove", "move", "not_members")


@dataclass
class TargetRow:
    kind: str  # course, group, group_leader
    remote_id: int
    target_id: str
    title: str
    keep: int = 0
    add: int = 0
    remove: int = 0
    move: int = 0
    not_members: int = 0
    # (member pk, wp user id, enrolled_at) of the enrollments going live would remove: what adoption keeps
    extra: list[tuple[int, int, datetime | None]] = field(default_factory=list, repr=False)

    @property
    def label(self) -> str:
        what = "group leaders of" if self.kind == GROUP_LEADER else self.kind
        return f"{what} {self.title} (#{self.remote_id})"


@dataclass
class AdoptionPlan:
    connection: str
    has_companion: bool
    rows: list[TargetRow]
    unlinked: list[str]  # site courses/groups not linked to the catalog: never driven, left as they are
    imported: bool  # an import has read the site's enrollments

    def total(self, kind: str) -> int:
        return sum(getattr(r, kind) for r in self.rows)


def adoption_plan(*, connection: Connection, now: datetime | None = None) -> AdoptionPlan:
    """Per linked course and group, how many students going live would keep, add, remove or move."""
    now = now or clock.now()
    targets = list(SiteTarget.objects.filter(connection=connection).order_by("kind", "title"))
    linked = [t for t in targets if t.target_id]
    members = dict(Identity.objects.filter(connection=connection, kind=WP_USER).values_list("external_id", "member_id"))
    held: dict[tuple[str, int], dict[int, datetime | None]] = defaultdict(dict)
    for wp_user_id, kind, remote_id, enrolled_at in SiteEnrollment.objects.filter(connection=connection).values_list(
        "wp_user_id", "kind", "remote_id", "enrolled_at"
    ):
        held[(kind, remote_id)][wp_user_id] = enrolled_at
    wanted = wanted_access(member_ids=list(all_member_ids()), now=now)
    companion = bool(connection.settings.get("has_companion"))
    wp_of = {member_id: int(wp) for wp, member_id in members.items() if wp.isdigit()}
    rows = []
    for target in linked:
        kinds = (COURSE,) if target.kind == COURSE else (GROUP, GROUP_LEADER)
        for kind in kinds:
            row = TargetRow(kind, target.remote_id, target.target_id, target.title)
            on_site = held.get((kind, target.remote_id), {})
            seen_members = set()
            for wp_user_id, enrolled_at in on_site.items():
                member_id = members.get(str(wp_user_id))
                if member_id is None:
                    row.not_members += 1
                    continue
                seen_members.add(member_id)
                want = wanted.get(member_id, {}).get((kind, target.target_id))
                if want is None:
                    row.remove += 1
                    row.extra.append((member_id, wp_user_id, enrolled_at))
                elif _moves(want, enrolled_at, companion):
                    row.move += 1
                else:
                    row.keep += 1
            for member_id, targets_wanted in wanted.items():
                want = targets_wanted.get((kind, target.target_id))
                if want is None or member_id in seen_members:
                    continue
                if want[0] == SUSPENDED_STATUS and not companion:
                    continue  # not on the site, and not to be while suspended
                if member_id in wp_of and wp_of[member_id] in on_site:
                    continue
                row.add += 1
            rows.append(row)
    unlinked = [f"{t.kind} {t.title} (#{t.remote_id})" for t in targets if not t.target_id]
    imported = SiteUser.objects.filter(connection=connection).exists()
    return AdoptionPlan(connection.name, companion, rows, unlinked, imported)


@dataclass
class Adopted:
    recorded: int = 0  # lms sources recorded now
    already: int = 0  # adopted before (the same enrollment, by its idempotency key)
    lines: list[str] = field(default_factory=list)


def learndash_adopt(
    *,
    connection: Connection,
    actor: Actor,
    remote_ids: list[int] = (),
    all_extra: bool = False,
    source: str = "cli",
    now: datetime | None = None,
) -> Adopted:
    """Adopt the enrollments going live would remove (the plan's "remove" column) as `lms` sources of origin
    "adopted", each at its original enrollment date: of the courses/groups whose post ids are `remote_ids`, or of
    every one (`all_extra`). Adopting the same enrollment again records nothing new (idempotency key)."""
    if not remote_ids and not all_extra:
        raise ServiceError(
            "invalid_value", "name the courses or groups to adopt (--course), or --all-extra", field="course"
        )
    from membersync.lms.services import lms_enrollment_record

    plan = adoption_plan(connection=connection, now=now)
    chosen = [r for r in plan.rows if all_extra or r.remote_id in set(remote_ids)]
    known = {r.remote_id for r in plan.rows}
    missing = [str(i) for i in remote_ids if i not in known]
    if missing:
        raise ServiceError(
            "not_found",
            f"no linked course or group with post id {', '.join(missing)} on {connection.name} "
            "(run `membersync import learndash NAME` first, and link it)",
            field="course",
        )
    adopted = Adopted()
    at_fallback = now or clock.now()
    for row in chosen:
        for member_id, wp_user_id, enrolled_at in row.extra:
            key = f"learndash-adopt:{connection.pk}:{wp_user_id}:{row.kind}:{row.remote_id}"
            note = f"adopted from {connection.name}: {row.label}, WordPress user {wp_user_id}"
            if enrolled_at is None:
                note += " (the site gives no enrollment date for it: adopted at the time of adoption)"
            result = lms_enrollment_record(
                member=_member(member_id),
                target_kind=row.kind,
                target_id=row.target_id,
                at=enrolled_at or at_fallback,
                origin="adopted",
                actor=actor,
                source=source,
                connection=connection,
                note=note,
                idempotency_key=key,
            )
            if result.duplicate:
                adopted.already += 1
            else:
                adopted.recorded += 1
                adopted.lines.append(note)
    return adopted


def _moves(want: tuple, enrolled_at: datetime | None, companion: bool) -> bool:
    """Whether going live changes a kept student's place: a suspension without the companion unenrolls (the drip
    restarts on re-enrolling); with it, an access date more than a day from the site's enrollment date."""
    if want[0] == SUSPENDED_STATUS:
        return not companion
    return companion and enrolled_at is not None and abs(want[1] - enrolled_at) > MOVE_TOLERANCE


def _member(member_id: int):
    from membersync.people.models import Member

    return Member.objects.get(pk=member_id)
