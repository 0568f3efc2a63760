"""What MemberSync's own management commands share: their version, checked argument types, and `membersync help`.

A command's `help` is its one-line purpose: `membersync help` lists it beside the command's usage, and the README's
Commands table is the same list.
"""

from __future__ import annotations

import argparse
import math
import textwrap
from importlib import metadata

from django.core.management.base import BaseCommand

# MemberSync's commands first, in this order (any other MemberSync command follows, by name).
COMMAND_ORDER = ("demo", "serve", "worker", "connect", "deliveries", "explain", "resync", "scenario", "bench")
# Options every Django command has: `membersync help COMMAND` shows them, the listing leaves them out.
_BASE_OPTIONS = {"help", "version", "verbosity", "settings", "pythonpath", "traceback", "no_color", "force_color"}
_BASE_OPTIONS |= {"skip_checks"}


def version() -> str:
    try:
        return metadata.version("membersync")
    except metadata.PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


class MemberSyncCommand(BaseCommand):
    """A MemberSync command: `--version` prints MemberSync's version, not Django's."""

    def get_version(self) -> str:
        return f"MemberSync {version()}"


def whole_number(minimum: int, maximum: int | None = None):
    """An argparse type: a whole number in [minimum, maximum], refused with a message saying the range."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum or (maximum is not None and value > maximum):
            allowed = f"from {minimum} to {maximum}" if maximum is not None else f"{minimum} or more"
            raise argparse.ArgumentTypeError(f"{value} is out of range: give a whole number {allowed}")
        return value

    parse.__name__ = "whole number"
    return parse


def seconds(minimum: float, maximum: float):
    """An argparse type: a number of seconds in [minimum, maximum] (never negative, never NaN or infinite)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not math.isfinite(value) or not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"{text} is out of range: give seconds from {minimum:g} to {maximum:g}")
        return value

    parse.__name__ = "seconds"
    return parse


def port(text: str) -> int:
    return whole_number(1, 65535)(text)


def command_synopsis(name: str, parser: argparse.ArgumentParser) -> str:
    """`worker [--poll S] [--once]`: the command's own arguments, as its usage line would show them. A command
    with one subcommand shows that subcommand's arguments (`connect woocommerce NAME --url URL ...`); one with
    several shows their names (`deliveries {list,replay} ...`)."""
    parts = [name]
    actions = sorted(parser._actions, key=lambda action: bool(action.option_strings))  # positionals first
    for action in actions:
        own_flag = action.dest == "verbosity" and action.nargs == 0  # `scenario run -v`
        if (action.dest in _BASE_OPTIONS and not own_flag) or action.help == argparse.SUPPRESS:
            continue
        if isinstance(action, argparse._SubParsersAction):
            if len(action.choices) == 1:
                ((sub_name, sub_parser),) = action.choices.items()
                parts.append(command_synopsis(sub_name, sub_parser))
            else:
                parts.append("{" + ",".join(action.choices) + "} ...")
            continue
        if not action.option_strings:
            if action.choices and len(action.choices) == 1:
                word = next(iter(action.choices))
            else:
                word = action.metavar or action.dest.upper()
            parts.append(f"{word}..." if action.nargs in ("+", "*") else f"[{word}]" if action.nargs == "?" else word)
            continue
        flag = min(action.option_strings, key=len) if own_flag else max(action.option_strings, key=len)
        if action.nargs == 0:
            parts.append(f"[{flag}]")
        elif action.required:
            parts.append(f"{flag} {action.metavar or action.dest.upper()}")
        else:
            parts.append(f"[{flag} {action.metavar or action.dest.upper()}]")
    return " ".join(parts)


def command_rows() -> list[tuple[str, str]]:
    """(usage, one-line purpose) of each of MemberSync's own commands, in the order `membersync help` lists them."""
    from django.core.management import get_commands, load_command_class

    commands = get_commands()
    ours = [name for name, app in commands.items() if app.startswith("membersync")]
    ours.sort(key=lambda n: (COMMAND_ORDER.index(n) if n in COMMAND_ORDER else len(COMMAND_ORDER), n))
    rows = []
    for name in ours:
        command = load_command_class(commands[name], name)
        parser = command.create_parser("membersync", name)
        rows.append((command_synopsis(name, parser), (command.help or "").strip().splitlines()[0]))
    return rows


def commands_help() -> str:
    """`membersync help`: MemberSync's commands, each with its usage and its one-line purpose, then Django's."""
    from django.core.management import get_commands

    commands = get_commands()
    lines = [f"MemberSync {version()}: course access derived from what people bought.", "", "MemberSync's commands:"]
    for usage, purpose in command_rows():
        lines += [f"  membersync {usage}", f"      {purpose}"]
    django_commands = sorted(name for name, app in commands.items() if not app.startswith("membersync"))
    lines += ["", "Django's commands (the database, users, static files):"]
    lines += textwrap.wrap(", ".join(django_commands), width=100, initial_indent="  ", subsequent_indent="  ")
    lines += ["", "`membersync help COMMAND` (or `membersync COMMAND --help`) shows a command's options."]
    return "\n".join(lines)
