"""Reading scenario files: YAML with the line of every value kept, and the file's date and duration forms.

A file is untrusted input: it is refused, with the line, when it is too large, not UTF-8, not YAML, repeats a key
(a repeated key silently replaced the first one, and with it a check), or uses aliases that refer to themselves or
expand to more values than any scenario needs (an "alias bomb").
"""

from __future__ import annotations

from datetime import datetime, tzinfo

import yaml

from membersync.timeparse import MomentError
from membersync.timeparse import parse_moment as _parse_moment

MAX_FILE_BYTES = 1_000_000  # the largest shared scenario is a few kilobytes
MAX_VALUES = 100_000  # values in a file once its aliases are expanded


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


def decode(data: bytes) -> str:
    """The file's text; refused if it is too large or not UTF-8 (the message names the line of the bad byte)."""
    if len(data) > MAX_FILE_BYTES:
        raise ScenarioError(f"the file is {len(data):,} bytes, over the limit of {MAX_FILE_BYTES:,}")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise ScenarioError(f"not UTF-8 (byte 0x{data[error.start]:02x}): save the file as UTF-8", line) from None


class _Alias:
    """Where an alias (`*name`) was used, and the node it refers to."""

    __slots__ = ("node", "line")

    def __init__(self, node: yaml.Node, line: int):
        self.node = node
        self.line = line


class _Loader(yaml.SafeLoader):
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            line = self.peek_event().start_mark.line + 1
            return _Alias(super().compose_node(parent, index), line)
        return super().compose_node(parent, index)


def load(text: str) -> Node:
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.reader.ReaderError as error:
        raise ScenarioError(f"not valid YAML: {error.reason}", text.count("\n", 0, error.position) + 1) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise ScenarioError(
            f"not valid YAML: {getattr(error, 'problem', error)}", mark.line + 1 if mark else None
        ) from None
    except RecursionError:
        raise ScenarioError("nested too deeply to be a scenario") from None
    if root is None:
        raise ScenarioError("the file is empty")
    try:
        return _Converter().convert(root)
    except RecursionError:
        raise ScenarioError("nested too deeply to be a scenario") from None


class _Converter:
    def __init__(self):
        self.values = 0
        self.expanding: list[int] = []  # ids of the aliased nodes being expanded: a repeat is a recursive alias

    def convert(self, node, alias_line: int | None = None) -> Node:
        if isinstance(node, _Alias):
            if id(node.node) in self.expanding:
                raise ScenarioError("recursive alias: it contains itself", node.line)
            self.expanding.append(id(node.node))
            try:
                return self.convert(node.node, alias_line or node.line)
            finally:
                self.expanding.pop()
        self.values += 1
        if self.values > MAX_VALUES:
            raise ScenarioError(
                f"more than {MAX_VALUES:,} values once aliases are expanded (an alias bomb?)",
                alias_line or node.start_mark.line + 1,
            )
        line = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            mapping: dict = {}
            for key_node, value_node in node.value:
                if isinstance(key_node, _Alias) or not isinstance(key_node, yaml.ScalarNode):
                    raise ScenarioError("a key must be a plain word", _line(key_node))
                key = key_node.value
                if key in mapping:
                    raise ScenarioError(
                        f"duplicate key {key!r} (first on line {mapping[key].line}): a repeated key would hide the "
                        "first one",
                        key_node.start_mark.line + 1,
                    )
                mapping[key] = self.convert(value_node, alias_line)
            return Node(mapping, alias_line or line)
        if isinstance(node, yaml.SequenceNode):
            return Node([self.convert(v, alias_line) for v in node.value], alias_line or line)
        if node.tag == "tag:yaml.org,2002:str":
            return Node(node.value, alias_line or line)
        try:
            value = yaml.safe_load(yaml.serialize(node))
        except (ValueError, OverflowError):
            # Looks like a date or number but is not one (2026-13-01): keep the text, so the field that reads it
            # says what is wrong, and where.
            value = node.value
        return Node(value, alias_line or line)


def _line(node) -> int:
    return node.line if isinstance(node, _Alias) else node.start_mark.line + 1


def plain(node: Node):
    """The value without line numbers."""
    if isinstance(node.value, dict):
        return {k: plain(v) for k, v in node.value.items()}
    if isinstance(node.value, list):
        return [plain(v) for v in node.value]
    return node.value


def parse_moment(value, tz: tzinfo | None = None) -> datetime:
    """An ISO 8601 date (00:00 in the site's time zone) or date-time (`Z` or an offset; none means site time), in
    the years MemberSync computes with (see membersync.timeparse)."""
    return _parse_moment(value, tz)


def ident(value, what: str) -> str:
    """An id written in a file: a word or a number, never a list, a mapping or nothing."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        shown = "nothing" if value is None else repr(value)
        raise ScenarioError(f"{what} must be an id (a word or a number), not {shown}")
    return str(value)


def mapping_fields(value, allowed: set[str], required: set[str], where: str) -> dict:
    """An event's nested mapping (`order: {...}`), refused with a clear message if a key is unknown or missing."""
    if not isinstance(value, dict):
        raise ScenarioError(f"{where} must be a mapping, not {_kind(value)}")
    unknown = set(value) - allowed
    if unknown:
        raise ScenarioError(f"unknown key {sorted(unknown)[0]!r} in {where}")
    missing = required - set(value)
    if missing:
        raise ScenarioError(f"{where} needs {sorted(missing)[0]!r}")
    return value


def _kind(value) -> str:
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value)


__all__ = ["MomentError", "Node", "ScenarioError", "decode", "ident", "load", "mapping_fields", "parse_moment", "plain"]
