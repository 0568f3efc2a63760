"""`membersync scenario run`: play a scenario file's timeline through the production code paths and check it.

Events go through the same services as the API and webhooks; time moves through the one clock; due work
(drips, trial ends, expiries) is done by the worker's own logic, run up to each step's time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.apps import apps
from django.db import transaction

from membersync import clock
from membersync.actors import Actor
from membersync.catalog import services as catalog
from membersync.catalog.selectors import site_settings_get
from membersync.errors import ServiceError
from membersync.people.models import Member
from membersync.sync.selectors import inbox_is_empty
from membersync.sync.worker import worker_run_until

from . import events_lms, events_members, events_orgs, events_subscriptions, events_tags  # noqa: F401  (they register events and checks)
from .parsing import MAX_FILE_BYTES, Node, ScenarioError, decode, ident, load, parse_moment, plain
from .registry import ERROR_CODES, EVENTS, LATER_EVENTS, MEMBER_CHECKS, ORG_CHECKS, Context

log = logging.getLogger(__name__)

TOP_KEYS = {"title", "catalog", "timeline"}
CATALOG_KEYS = {"courses", "groups", "plans", "seat_types", "license_types", "timezone", "tags"}
STEP_KEYS = {"at", "do", "expect", "error", "as"}
# Keys whose value names one object: a list or a mapping there is a mistake (`member: [a, b]`).
ID_KEYS = {"id", "member", "plan", "seat_type", "type", "to_member", "to_org", "owner_org", "owner", "from"}


@dataclass
class FileResult:
    path: str
    failures: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)  # one line per step, for `scenario run -v`
    line: int | None = None  # the line being run: a crash names it

    @property
    def passed(self) -> bool:
        return not self.failures


def scenario_run_paths(paths: list[str]) -> list[FileResult]:
    """Every file named, and every *.yaml in every folder named; a folder with none is a failure of its own."""
    results: list[FileResult] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(path.rglob("*.yaml"))
            if not files:
                results.append(FileResult(str(path), [f"{path}: no scenario files (*.yaml) in this folder"]))
            results.extend(scenario_run_file(file) for file in files)
        else:
            results.append(scenario_run_file(path))
    return results


def scenario_run_file(path: Path) -> FileResult:
    """Run one file against an empty database: everything it writes is rolled back at the end."""
    result = FileResult(str(path))
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:  # refused before reading it
            raise ScenarioError(f"the file is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,}")
        text = decode(path.read_bytes())
    except OSError as error:
        result.failures.append(f"{path}: cannot read: {error.strerror}")
        return result
    except ScenarioError as error:
        result.failures.append(f"{path}: {error}")
        return result
    try:
        with transaction.atomic():
            _require_empty(path)
            try:
                _run(load(text), result)
            finally:
                transaction.set_rollback(True)
    except ScenarioError as error:
        result.failures.append(f"{path}: {error}")
    except Exception as error:  # a bug must fail this file, not end the run of the others
        log.exception("scenario %s crashed", path)
        where = f"line {result.line}: " if result.line else ""
        result.failures.append(f"{path}: {where}crashed: {type(error).__name__}: {error}")
    finally:
        clock.set_time(None)
    return result


def _require_empty(path: Path) -> None:
    if Member.objects.exists() or not inbox_is_empty():
        raise ScenarioError("the database is not empty: scenarios run on a fresh database")


def _mapping(node: Node, what: str) -> dict[str, Node]:
    if not isinstance(node.value, dict):
        raise ScenarioError(f"{what} must be a mapping, not {_kind(node.value)}", node.line)
    return node.value


def _list(node: Node, what: str) -> list[Node]:
    if not isinstance(node.value, list):
        raise ScenarioError(f"{what} must be a list, not {_kind(node.value)}", node.line)
    return node.value


def _kind(value) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return "nothing" if value is None else repr(value)


def _run(root: Node, result: FileResult) -> None:
    top = _mapping(root, "the file")
    for key, node in top.items():
        if key not in TOP_KEYS:
            raise ScenarioError(f"unknown key {key!r} (a file has title, catalog, timeline)", node.line)
    tz = ZoneInfo("UTC")
    if "catalog" in top:
        tz = _catalog(top["catalog"], result)
    steps = _list(top["timeline"], "timeline") if "timeline" in top else []
    previous = None
    for index, step_node in enumerate(steps, start=1):
        result.line = step_node.line
        step = _mapping(step_node, f"step {index}")
        for key, node in step.items():
            if "do" not in step and key not in STEP_KEYS:
                raise ScenarioError(f"unknown key {key!r} in step {index}", node.line)
        if "at" not in step:
            raise ScenarioError(f"step {index} has no 'at'", step_node.line)
        try:
            at = parse_moment(plain(step["at"]), tz)
        except ValueError as error:
            raise ScenarioError(f"step {index}: at: {error}", step["at"].line) from None
        if previous is not None and at < previous:
            raise ScenarioError(
                f"step {index} at {at:%Y-%m-%d %H:%M} is earlier than the step before it: steps go in time order",
                step["at"].line,
            )
        previous = at
        try:
            _step(step, step_node, index, at, tz, result)
        except ScenarioError as error:
            if error.line is None:  # raised from a step's fields: point at the step
                error.line = step_node.line
            raise


def _step(step: dict[str, Node], step_node: Node, index: int, at, tz: ZoneInfo, result: FileResult) -> None:
    worker_run_until(at)
    where = f"step {index} (line {step_node.line})"
    if "do" in step and "expect" in step:
        raise ScenarioError(f"step {index} has both 'do' and 'expect'", step_node.line)
    failures = len(result.failures)
    if "do" in step:
        what = _event(step, Context(now=at, tz=tz), result, where)
        worker_run_until(at)
    elif "expect" in step:
        _expect(step["expect"], Context(now=at, tz=tz), result, where)
        what = "expect " + ", ".join(_mapping(step["expect"], "expect"))
    else:
        raise ScenarioError(f"step {index} has neither 'do' nor 'expect'", step_node.line)
    verdict = "ok" if len(result.failures) == failures else "FAILED"
    result.steps.append(f"{where} {at:%Y-%m-%d %H:%M}: {what}: {verdict}")


def _catalog(node: Node, result: FileResult) -> ZoneInfo:
    catalog_map = _mapping(node, "catalog")
    for key, value in catalog_map.items():
        if key not in CATALOG_KEYS:
            raise ScenarioError(f"unknown catalog key {key!r}", value.line)
    tz = ZoneInfo("UTC")
    if "timezone" in catalog_map:
        try:
            tz = ZoneInfo(str(catalog_map["timezone"].value))
        except (ZoneInfoNotFoundError, ValueError):
            raise ScenarioError(
                f"unknown time zone {catalog_map['timezone'].value!r}", catalog_map["timezone"].line
            ) from None
        # The site's stored zone: the admin and dated grant rules read the same one (docs/decisions/0021).
        kept = site_settings_get().plan_change_confirm_above
        catalog.site_settings_update(timezone=tz.key, plan_change_confirm_above=kept)

    def dated(value):
        """Grant and length dates, parsed in the site's time zone."""
        if isinstance(value, dict):
            return {k: (parse_moment(v, tz) if k in ("on", "from", "until") else dated(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [dated(v) for v in value]
        return value

    def entries(key: str):
        for item in _list(catalog_map[key], key) if key in catalog_map else []:
            result.line = item.line
            value = plain(item)
            if not isinstance(value, dict):
                value = {"id": value}
            if "id" not in value:
                raise ScenarioError(f"an entry of {key} has no id", item.line)
            try:
                _entry_types(value)
                yield item, dated(value)
            except ScenarioError as error:
                raise ScenarioError(f"{key}: {error.message}", item.line) from None
            except ValueError as error:
                raise ScenarioError(f"{key}: {error}", item.line) from None

    def create(item: Node, allowed: set[str], make, value: dict):
        unknown = set(value) - allowed
        if unknown:
            raise ScenarioError(f"unknown key {sorted(unknown)[0]!r}", item.line)
        try:
            make(value)
        except ServiceError as error:
            raise ScenarioError(str(error), item.line) from None

    if "tags" in catalog_map:
        result.line = catalog_map["tags"].line
        events_tags.catalog_tags_create(plain(catalog_map["tags"]))
    for item, value in entries("courses"):
        create(
            item,
            {"id", "title", "settings"},
            lambda v: catalog.course_create(external_id=str(v["id"]), title=v.get("title", "")),
            value,
        )
        if "settings" in value:
            events_tags.course_settings_apply(str(value["id"]), value["settings"])
    for item, value in entries("groups"):
        create(
            item,
            {"id", "title", "courses", *events_tags.GROUP_TAG_SETTINGS},
            lambda v: catalog.group_create(
                external_id=str(v["id"]), title=v.get("title", ""), course_ids=[str(c) for c in v.get("courses", [])]
            ),
            value,
        )
        events_tags.group_settings_apply(str(value["id"]), value)
    for item, value in entries("plans"):
        create(
            item,
            {"id", "name", "length", "grants", "on_hold_grace"},
            lambda v: catalog.plan_create(
                external_id=str(v["id"]),
                name=v.get("name", ""),
                length=v.get("length", "unlimited"),
                grants=v.get("grants", []),
                on_hold_grace=v.get("on_hold_grace"),
            ),
            value,
        )
    for item, value in entries("seat_types"):
        create(
            item,
            {"id", "name", "grants"},
            lambda v: catalog.seat_type_create(
                external_id=str(v["id"]), name=v.get("name", ""), grants=v.get("grants", [])
            ),
            value,
        )
    for item, value in entries("license_types"):
        create(
            item,
            {"id", "name", "grants", "length"},
            lambda v: catalog.license_type_create(
                external_id=str(v["id"]),
                name=v.get("name", ""),
                grants=v.get("grants", []),
                length=v.get("length", "unlimited"),
            ),
            value,
        )
    return tz


def _entry_types(value: dict) -> None:
    """A catalog entry's values have the types FORMAT.md gives them."""
    ident(value["id"], "id")
    for key in ("title", "name", "on_hold_grace"):
        if key in value and not isinstance(value[key], str):
            raise ScenarioError(f"{key} must be text, not {_kind(value[key])}")
    if "courses" in value:
        if not isinstance(value["courses"], list):
            raise ScenarioError(f"courses must be a list of course ids, not {_kind(value['courses'])}")
        for course in value["courses"]:
            ident(course, "a course")
    if "grants" in value:
        grants = value["grants"]
        if not isinstance(grants, list) or not all(isinstance(g, dict) for g in grants):
            raise ScenarioError("grants must be a list of mappings ({course: ID, after: DURATION, ...})")
        for grant in grants:
            for key in ("course", "group"):
                if key in grant:
                    ident(grant[key], key)
            if "after" in grant and not isinstance(grant["after"], str):
                raise ScenarioError(f'after must be a duration such as "7 days", not {_kind(grant["after"])}')
    if "length" in value and not isinstance(value["length"], (str, dict)):
        raise ScenarioError(f"length must be a duration, a word or {{from, until}}, not {_kind(value['length'])}")


def _check_ids(node: Node) -> None:
    """Keys that name one object (member, org, id, ...) hold a word or a number, wherever they are in a step."""
    if isinstance(node.value, dict):
        for key, child in node.value.items():
            if key in ID_KEYS and isinstance(child.value, (dict, list)):
                raise ScenarioError(f"{key} must be an id (a word or a number), not {_kind(child.value)}", child.line)
            _check_ids(child)
    elif isinstance(node.value, list):
        for child in node.value:
            _check_ids(child)


def _fingerprint() -> tuple:
    """Row counts of every table but the event inbox: a refused event must leave them all unchanged."""
    return tuple(
        model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in ("catalog", "members", "orgs", "sync") and model._meta.label != "sync.Event"
    )


def _event(step: dict[str, Node], ctx: Context, result: FileResult, where: str) -> str:
    """Apply the step's event; returns what happened, for `scenario run -v`."""
    if not isinstance(step["do"].value, str):
        raise ScenarioError(f"do must be an event name, not {_kind(step['do'].value)}", step["do"].line)
    name = step["do"].value
    spec = EVENTS.get(name)
    if spec is None:
        if name in LATER_EVENTS:
            raise ScenarioError(f"event {name!r} is not supported yet: {LATER_EVENTS[name]}", step["do"].line)
        raise ScenarioError(f"unknown event {name!r}", step["do"].line)
    fields = {k: plain(v) for k, v in step.items() if k not in ("at", "do", "error", "as")}
    for key in fields:
        if key not in spec.required | spec.optional:
            raise ScenarioError(f"unknown key {key!r} for {name}", step[key].line)
    for key in spec.required:
        if key not in fields:
            raise ScenarioError(f"{name} needs {key!r}", step["do"].line)
    for key in fields:
        _check_ids(Node({key: step[key]}, step[key].line))
    if "as" in step:
        try:
            ctx.as_member = ident(step["as"].value, "as")
        except ScenarioError as error:
            raise ScenarioError(error.message, step["as"].line) from None
        ctx.actor = Actor.member(ctx.as_member)
    expected_error = None
    if "error" in step:
        expected_error = step["error"].value
        if not isinstance(expected_error, str) or expected_error not in ERROR_CODES:
            raise ScenarioError(
                f"error: {_kind(expected_error)} is not an error code MemberSync has (docs/ERRORS.md lists them)",
                step["error"].line,
            )
    before = _fingerprint() if expected_error else None
    try:
        spec.handler(fields, ctx)
    except ServiceError as error:
        if expected_error is None:
            result.failures.append(f"{result.path}: {where}: {name} was refused: {error}")
        elif error.code != expected_error:
            result.failures.append(
                f"{result.path}: {where}: {name}: expected refusal {expected_error}, found {error.code} ({error})"
            )
        elif _fingerprint() != before:
            result.failures.append(f"{result.path}: {where}: {name} was refused but changed something")
        return f"do {name}: refused ({error.code})"
    if expected_error is not None:
        result.failures.append(f"{result.path}: {where}: {name}: expected refusal {expected_error}, found success")
    return f"do {name}"


def _expect(node: Node, ctx: Context, result: FileResult, where: str) -> None:
    for subject, checks_node in _mapping(node, "expect").items():
        if subject == "orgs":
            for org_id, org_checks in _mapping(checks_node, "orgs").items():
                for key, expected in _mapping(org_checks, f"orgs.{org_id}").items():
                    handler = ORG_CHECKS.get(key)
                    if handler is None:
                        raise ScenarioError(f"unknown organization check {key!r}", expected.line)
                    _compare(_checked(handler, org_id, expected, ctx), f"org {org_id}", result, where)
            continue
        member = Member.objects.filter(external_id=subject).first()
        for key, expected in _mapping(checks_node, subject).items():
            handler = MEMBER_CHECKS.get(key)
            if handler is None:
                raise ScenarioError(f"unknown check {key!r}", expected.line)
            _compare(_checked(handler, member, expected, ctx), subject, result, where)


def _checked(handler, subject, expected: Node, ctx: Context):
    """The check's (what, expected, found) triples; a check refusing its expectation points at its line."""
    try:
        return handler(subject, plain(expected), ctx)
    except ScenarioError as error:
        if error.line is None:
            error.line = expected.line
        raise


def _compare(pairs, who: str, result: FileResult, where: str) -> None:
    for what, expected, found in pairs:
        if expected != found:
            result.failures.append(f"{result.path}: {where}: {who}: {what}: expected {expected}, found {found}")
