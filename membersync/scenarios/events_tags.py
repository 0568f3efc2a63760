"""Scenario events, checks and catalog entries for CRM tags (FORMAT.md "Tags, course content and progress": the
catalog's `tags`, course and group tag `settings`, `tag.apply`, `tag.remove`, and the checks `tags` and `leads`).
The CRM is the built-in one."""

from __future__ import annotations

from membersync.access.rules import COURSE, GROUP, GROUP_LEADER
from membersync.errors import ServiceError
from membersync.members.services import member_get_or_create
from membersync.people.models import Member
from membersync.sync.mirror import holdings_read
from membersync.sync.sinks import BUILTIN
from membersync.tags import services
from membersync.tags.selectors import crm_tags_held

from .parsing import ScenarioError, ident
from .registry import Context, event, member_check

COURSE_TAG_SETTINGS = {"link_tag", "unenroll_on_link_removed", "tags_on_enrollment", "remove_tags_on_unenrollment"}
GROUP_TAG_SETTINGS = {"link_tag", "leader_tag", "tags_on_enrollment", "remove_tags_on_unenrollment"}
# Course settings of the same section that issue 16 (course content and progress) brings.
LATER_COURSE_SETTINGS = {"tags_on_completion", "navigation", "locked_text", "fields"}


def _tags(value, what: str) -> list[str]:
    if not isinstance(value, list):
        raise ScenarioError(f"{what} must be a list of tags, not {value!r}")
    return [ident(tag, f"a tag of {what}") for tag in value]


def catalog_tags_create(value) -> None:
    """The catalog's `tags`: the CRM's tags."""
    try:
        services.tag_catalog_create(names=_tags(value, "tags"), actor=_actor())
    except ServiceError as error:
        raise ScenarioError(f"tags: {error}") from None


def course_settings_apply(course_id: str, settings) -> None:
    """A course's `settings` (its tag part)."""
    if not isinstance(settings, dict):
        raise ScenarioError(f"settings must be a mapping, not {settings!r}")
    later = sorted(set(settings) & LATER_COURSE_SETTINGS)
    if later:
        raise ScenarioError(f"setting {later[0]!r} is not supported yet: course content and progress (issue 16)")
    unknown = sorted(set(settings) - COURSE_TAG_SETTINGS)
    if unknown:
        raise ScenarioError(f"unknown setting {unknown[0]!r}")
    _settings(COURSE, course_id, settings)


def group_settings_apply(group_id: str, entry: dict) -> None:
    """A group's tag keys (given inline: link_tag, leader_tag, tags_on_enrollment, remove_tags_on_unenrollment)."""
    given = {k: v for k, v in entry.items() if k in GROUP_TAG_SETTINGS}
    if given:
        _settings(GROUP, group_id, given)


def _settings(kind: str, target_id: str, given: dict) -> None:
    try:
        services.tag_settings_set(
            target_kind=kind,
            target_id=target_id,
            link_tag=ident(given["link_tag"], "link_tag") if given.get("link_tag") is not None else "",
            leader_tag=ident(given["leader_tag"], "leader_tag") if given.get("leader_tag") is not None else "",
            unenroll_on_link_removed=given.get("unenroll_on_link_removed", True),
            tags_on_enrollment=_tags(given.get("tags_on_enrollment", []), "tags_on_enrollment"),
            remove_tags_on_unenrollment=given.get("remove_tags_on_unenrollment", False),
            actor=_actor(),
        )
    except ServiceError as error:
        raise ScenarioError(str(error)) from None


def _actor():
    from membersync.actors import Actor

    return Actor.system("scenario")


@event("tag.apply", required=("member", "tags"))
def tag_apply(step: dict, ctx: Context):
    return services.tag_apply(
        member=member_get_or_create(external_id=str(step["member"])),
        tags=_tags(step["tags"], "tags"),
        actor=ctx.actor,
        source="scenario",
    )


@event("tag.remove", required=("member", "tags"))
def tag_remove(step: dict, ctx: Context):
    return services.tag_remove(
        member=member_get_or_create(external_id=str(step["member"])),
        tags=_tags(step["tags"], "tags"),
        actor=ctx.actor,
        source="scenario",
    )


@member_check("tags")
def check_tags(member: Member | None, expected, ctx: Context):
    """Exactly the tags the CRM holds for her now, whoever applied them."""
    found = sorted(crm_tags_held(member=member)) if member else []
    return [("tags", sorted(_tags(expected or [], "tags")), found)]


@member_check("leads")
def check_leads(member: Member | None, expected, ctx: Context):
    """Exactly the groups she leads now."""
    found = []
    if member is not None:
        held = holdings_read(sink=BUILTIN, member_ids=[member.pk]).get(member.pk, {})
        found = sorted(t for (kind, t), (status, *_rest) in held.items() if kind == GROUP_LEADER and status == "active")
    if expected is not None and not isinstance(expected, list):
        raise ScenarioError(f"leads: expects a list of group ids, not {expected!r}")
    return [("leads", sorted(ident(g, "a group of leads") for g in expected or []), found)]
