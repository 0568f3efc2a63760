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
from membersync.catalog import services as catalog
from membersync.errors import ServiceError
from membersync.people.models import Member
from membersync.sync.models import Event
from membersync.sync.worker import worker_run_until

from . import events_members, events_orgs, events_subscriptions  # noqa: F401  (they register events and checks)
from .parsing import Node, ScenarioError, load, parse_moment, plain
from .registry import EVENTS, LATER_EVENTS, MEMBER_CHECKS, ORG_CHECKS, Context

log = logging.getLogger(__name__)

TOP_KEYS = {"title", "catalog", "timeline"}
CATALOG_KEYS = {"courses", "groups", "plans", "seat_types", "license_types", "timezone"}
STEP_KEYS = {"at", "do", "expect", "error", "as"}


@dataclass
class FileResult:
    path: str
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures


def scenario_run_paths(paths: list[str]) -> list[FileResult]:
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*.yaml")))
        else:
            files.append(path)
    return [scenario_run_file(path) for path in files]


def scenario_run_file(path: Path) -> FileResult:
    """Run one file against an empty database: everything it writes is rolled back at the end."""
    result = FileResult(str(path))
    try:
        text = path.read_text()
    except OSError as error:
        result.failures.append(f"{path}: cannot read: {error.strerror}")
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
        result.failures.append(f"{path}: crashed: {type(error).__name__}: {error}")
    finally:
        clock.set_time(None)
    return result


def _require_empty(path: Path) -> None:
    if Member.objects.exists() or Event.objects.exists():
        raise ScenarioError("the database is not empty: scenarios run on a fresh database")


def _mapping(node: Node, what: str) -> dict[str, Node]:
    if not isinstance(node.value, dict):
        raise ScenarioError(f"{what} must be a mapping", node.line)
    return node.value


def _list(node: Node, what: str) -> list[Node]:
    if not isinstance(node.value, list):
        raise ScenarioError(f"{what} must be a list", node.line)
    return node.value


def _run(root: Node, result: FileResult) -> None:
    top = _mapping(root, "the file")
    for key, node in top.items():
        if key not in TOP_KEYS:
            raise ScenarioError(f"unknown key {key!r} (a file has title, catalog, timeline)", node.line)
    tz = ZoneInfo("UTC")
    if "catalog" in top:
        tz = _catalog(top["catalog"])
    steps = _list(top["timeline"], "timeline") if "timeline" in top else []
    previous = None
    for index, step_node in enumerate(steps, start=1):
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
    if "do" in step:
        _event(step, Context(now=at, tz=tz), result, where)
        worker_run_until(at)
    elif "expect" in step:
        _expect(step["expect"], Context(now=at, tz=tz), result, where)
    else:
        raise ScenarioError(f"step {index} has neither 'do' nor 'expect'", step_node.line)


def _catalog(node: Node) -> ZoneInfo:
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

    def dated(value):
        """Grant and length dates, parsed in the site's time zone."""
        if isinstance(value, dict):
            return {k: (parse_moment(v, tz) if k in ("on", "from", "until") else dated(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [dated(v) for v in value]
        return value

    def entries(key: str):
        for item in _list(catalog_map[key], key) if key in catalog_map else []:
            value = plain(item)
            if not isinstance(value, dict):
                value = {"id": value}
            if "id" not in value:
                raise ScenarioError(f"an entry of {key} has no id", item.line)
            try:
                yield item, dated(value)
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

    for item, value in entries("courses"):
        create(
            item,
            {"id", "title"},
            lambda v: catalog.course_create(external_id=str(v["id"]), title=v.get("title", "")),
            value,
        )
    for item, value in entries("groups"):
        create(
            item,
            {"id", "title", "courses"},
            lambda v: catalog.group_create(
                external_id=str(v["id"]), title=v.get("title", ""), course_ids=[str(c) for c in v.get("courses", [])]
            ),
            value,
        )
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


def _fingerprint() -> tuple:
    """Row counts of every table but the event inbox: a refused event must leave them all unchanged."""
    return tuple(
        model.objects.count()
        for model in apps.get_models()
        if model._meta.app_label in ("catalog", "members", "orgs", "sync") and model is not Event
    )


def _event(step: dict[str, Node], ctx: Context, result: FileResult, where: str) -> None:
    name = str(step["do"].value)
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
    if "as" in step:
        ctx.as_member = str(step["as"].value)
        ctx.actor = f"member:{ctx.as_member}"
    expected_error = str(step["error"].value) if "error" in step else None
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
        return
    if expected_error is not None:
        result.failures.append(f"{result.path}: {where}: {name}: expected refusal {expected_error}, found success")


def _expect(node: Node, ctx: Context, result: FileResult, where: str) -> None:
    for subject, checks_node in _mapping(node, "expect").items():
        if subject == "orgs":
            for org_id, org_checks in _mapping(checks_node, "orgs").items():
                for key, expected in _mapping(org_checks, f"orgs.{org_id}").items():
                    handler = ORG_CHECKS.get(key)
                    if handler is None:
                        raise ScenarioError(f"unknown organization check {key!r}", expected.line)
                    _compare(handler(org_id, plain(expected), ctx), f"org {org_id}", result, where)
            continue
        member = Member.objects.filter(external_id=subject).first()
        for key, expected in _mapping(checks_node, subject).items():
            handler = MEMBER_CHECKS.get(key)
            if handler is None:
                raise ScenarioError(f"unknown check {key!r}", expected.line)
            _compare(handler(member, plain(expected), ctx), subject, result, where)


def _compare(pairs, who: str, result: FileResult, where: str) -> None:
    for what, expected, found in pairs:
        if expected != found:
            result.failures.append(f"{result.path}: {where}: {who}: {what}: expected {expected}, found {found}")
