"""CRM tags: which tags grant access, and which tags MemberSync holds in a CRM to mirror enrollments.

A tag applied in the CRM (by a person or an automation there) or by an operator in MemberSync is a source: a
course's or group's linked tag grants that target while it is applied. A tag MemberSync applies itself to mirror
an enrollment (the linked tag, enrollment tags) is never a source, so it cannot keep access alive once the real
source has ended, and no chain of linked tags can cascade (docs/decisions/0022-crm-tags.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .rules import COURSE, GROUP, GROUP_LEADER, GrantRule, Target
from .sources import SourceWindow

CRM = "crm"  # applied in the CRM by a person or an automation there
OPERATOR = "operator"  # applied by an operator in MemberSync
MIRROR = "mirror"  # applied by MemberSync to mirror an enrollment: never a source
ORIGINS = (CRM, OPERATOR, MIRROR)
SOURCE_ORIGINS = (CRM, OPERATOR)
TAG = "tag"  # the source kind, and the target kind a CRM sink holds
# A CRM sink's holdings have the enrollments' shape; a tag has no start of its own.
TAG_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class TargetTags:
    """A course's or group's tag settings (WP Fusion's, as FORMAT.md names them)."""

    target: Target  # a course or a group
    link_tag: str = ""  # applied (by the CRM or an operator) it enrolls; MemberSync applies it on any enrollment
    leader_tag: str = ""  # groups: the same for the group's leadership
    unenroll_on_link_removed: bool = True  # courses: False keeps her enrolled as if by lms.enroll
    tags_on_enrollment: tuple[str, ...] = ()
    remove_tags_on_unenrollment: bool = False


@dataclass(frozen=True)
class TagRules:
    """Every course's and group's tag settings, and each group's courses."""

    settings: dict[Target, TargetTags] = field(default_factory=dict)
    group_courses: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.settings

    def linked_targets(self, tag: str) -> tuple[Target, ...]:
        """What a tag applied as a source grants: every course and group it is the linked tag of, every group
        it is the leader tag of."""
        found = []
        for target, tags in sorted(self.settings.items()):
            if tags.link_tag == tag:
                found.append(target)
            if tags.leader_tag == tag:
                found.append(Target(GROUP_LEADER, target.id))
        return tuple(found)

    def _of(self, kind: str, target_id: str) -> TargetTags | None:
        return self.settings.get(Target(kind, target_id))

    def mirrored(self, enrollments: Iterable[tuple[str, str]]) -> set[str]:
        """The tags MemberSync holds in the CRM for these enrollments (active or suspended alike: a suspension
        is not an unenrollment): each course's and group's linked tag and enrollment tags, the courses' enrollment
        tags for access through a group (not their linked tags), and a leadership's leader tag."""
        tags: set[str] = set()
        for kind, target_id in enrollments:
            if kind == COURSE:
                own = self._of(COURSE, target_id)
                if own is not None:
                    tags.update(t for t in (own.link_tag, *own.tags_on_enrollment) if t)
            elif kind == GROUP:
                own = self._of(GROUP, target_id)
                if own is not None:
                    tags.update(t for t in (own.link_tag, *own.tags_on_enrollment) if t)
                for course_id in self.group_courses.get(target_id, ()):
                    course = self._of(COURSE, course_id)
                    if course is not None:
                        tags.update(course.tags_on_enrollment)
            elif kind == GROUP_LEADER:
                own = self._of(GROUP, target_id)
                if own is not None and own.leader_tag:
                    tags.add(own.leader_tag)
        return tags

    def kept(self, enrollments: Iterable[tuple[str, str]]) -> set[str]:
        """The enrollment tags these enrollments leave in place when they end (remove_tags_on_unenrollment
        false), the courses of a group included."""
        tags: set[str] = set()
        for kind, target_id in enrollments:
            owners = []
            if kind == COURSE:
                owners.append(self._of(COURSE, target_id))
            elif kind == GROUP:
                owners.append(self._of(GROUP, target_id))
                owners.extend(self._of(COURSE, c) for c in self.group_courses.get(target_id, ()))
            for own in owners:
                if own is not None and not own.remove_tags_on_unenrollment:
                    tags.update(own.tags_on_enrollment)
        return tags

    def sticky_targets(self) -> set[Target]:
        """The courses and groups whose enrollment tags stay after an unenrollment (a group counts when one of
        its courses keeps them)."""
        found = {t for t, s in self.settings.items() if s.tags_on_enrollment and not s.remove_tags_on_unenrollment}
        courses = {t.id for t in found if t.kind == COURSE}
        found |= {Target(GROUP, g) for g, cs in self.group_courses.items() if courses.intersection(cs)}
        return found


@dataclass(frozen=True, slots=True)
class TagDecision:
    wanted: frozenset[str]  # every tag the CRM should hold for her
    lifted: frozenset[str]  # suppressions to forget: no enrollment wants those tags any more


def tags_wanted(
    *,
    rules: TagRules,
    enrollments: Iterable[tuple[str, str]],
    sources: Iterable[str],
    held: Iterable[str],
    suppressed: Iterable[str],
    had: Iterable[tuple[str, str]] = (),
) -> TagDecision:
    """What the CRM should hold for one member.

    - `sources`: the tags applied in the CRM or by an operator and not removed since: never removed by MemberSync.
    - the tags mirroring her `enrollments`, except those the CRM removed while she kept the enrollment
      (`suppressed`): MemberSync never fights the CRM. A suppression ends when no enrollment wants the tag.
    - enrollment tags of targets she had (`had`) that stay after an unenrollment, while the CRM still holds them.
    """
    enrollments = list(enrollments)
    mirrored = rules.mirrored(enrollments)
    suppressed = set(suppressed)
    kept = set(held) & rules.kept([*enrollments, *had])
    wanted = set(sources) | (mirrored - suppressed) | kept
    return TagDecision(frozenset(wanted), frozenset(suppressed - mirrored))


@dataclass(frozen=True, slots=True)
class TagFacts:
    """One application of a tag as a source, as stored."""

    id: str
    tag: str
    origin: str  # crm | operator
    crm: str  # where: "ActiveCampaign", "FluentCRM", "the CRM" (the built-in one)
    applied_at: datetime
    applied_by: str = ""
    removed_at: datetime | None = None
    removed_by: str = ""


def tag_window(facts: TagFacts, targets: tuple[Target, ...]) -> SourceWindow:
    """A source tag grants every target it is linked to, from its application until its removal."""
    if facts.origin == OPERATOR:
        how = f"applied by an operator{' (' + facts.applied_by + ')' if facts.applied_by else ''}"
    else:
        how = f"applied in {facts.crm}"
    label = f"tag {facts.tag}, {how} on {facts.applied_at:%Y-%m-%d %H:%M}"
    where = "by an operator" if facts.origin == OPERATOR else f"in {facts.crm}"
    return SourceWindow(
        kind=TAG,
        id=facts.id,
        label=label,
        rules=tuple(GrantRule(key=f"{t.kind}:{t.id}", target=t) for t in targets),
        start=facts.applied_at,
        end=facts.removed_at,
        end_reason=f"tag {facts.tag} removed {where}" + (f" by {facts.removed_by}" if facts.removed_by else "")
        if facts.removed_at
        else "",
        end_status="removed" if facts.removed_at else "",
        status="removed" if facts.removed_at else "applied",
    )
