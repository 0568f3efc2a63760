"""Reading scenario files: YAML with the line of every value kept, and the file's date and duration forms."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import yaml


class ScenarioError(Exception):
    """A file that cannot be run as written: says where (line) and what."""

    def __init__(self, message: str, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


class Node:
    """A parsed YAML value with the line it came from."""

    __slots__ = ("value", "line")

    def __init__(self, value, line: int):
        self.value = value
        self.line = line


def load(text: str) -> Node:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ScenarioError(
            f"not valid YAML: {getattr(error, 'problem', error)}", mark.line + 1 if mark else None
        ) from None
    if root is None:
        raise ScenarioError("the file is empty")
    return _convert(root)


def _convert(node: yaml.Node) -> Node:
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        return Node({k.value: _convert(v) for k, v in node.value}, line)
    if isinstance(node, yaml.SequenceNode):
        return Node([_convert(v) for v in node.value], line)
    if node.tag == "tag:yaml.org,2002:str":
        return Node(node.value, line)
    try:
        return Node(yaml.safe_load(yaml.serialize(node)), line)
    except ValueError:
        # Looks like a date or number but is not one (2026-13-01): keep the text, so the field that reads it
        # says what is wrong, and where.
        return Node(node.value, line)


def plain(node: Node):
    """The value without line numbers."""
    if isinstance(node.value, dict):
        return {k: plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [plain(v) for v in node.value]
    return node.value


def parse_moment(value, tz: ZoneInfo | None = None) -> datetime:
    """An ISO 8601 date (00:00 in the site's time zone) or date-time (`Z` or an offset; none means site time)."""
    zone = tz or UTC
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=zone)
    text = str(value).strip()
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time(0), tzinfo=zone)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date or date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def mapping_fields(value, allowed: set[str], required: set[str], where: str) -> dict:
    """An event's nested mapping (`order: {...}`), refused with a clear message if a key is unknown or missing."""
    if not isinstance(value, dict):
        raise ScenarioError(f"{where} must be a mapping")
    unknown = set(value) - allowed
    if unknown:
        raise ScenarioError(f"unknown key {sorted(unknown)[0]!r} in {where}")
    missing = required - set(value)
    if missing:
        raise ScenarioError(f"{where} needs {sorted(missing)[0]!r}")
    return value
