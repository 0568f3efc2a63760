"""The layers stay strict, so each can be read and changed alone (membersync/wiring.py draws them).

From the bottom: the rules (access), people, the catalog, the engine (sync), the sources (members, orgs), and the
entry points on top. A layer never imports one above it; the engine reaches the sources only through the wiring;
entry points read the engine through its selectors, never its tables.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "membersync"
SOURCES = ("membersync.members", "membersync.orgs")
ENTRY_POINTS = (
    "membersync.portal",
    "membersync.connectors",
    "membersync.web",
    "membersync.scenarios",
    "membersync.demo",
    "membersync.bench",
)


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in names if name.startswith("membersync")}


def _modules(folder: str):
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        if "migrations" not in path.parts:
            yield path


def _offending(folder: str, forbidden: tuple[str, ...], *, allowed: tuple[str, ...] = ()) -> list[str]:
    found = []
    for path in _modules(folder):
        for name in sorted(_imports(path)):
            if name.startswith(forbidden) and not name.startswith(allowed):
                found.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return found


def test_the_rules_import_nothing_of_the_apps():
    found = [f for f in _offending("access", ("membersync",), allowed=("membersync.access",))]
    assert found == []


def test_outbound_clients_speak_http_and_know_no_app():
    assert _offending("clients", ("membersync",), allowed=("membersync.clients",)) == []


def test_people_sit_below_every_app():
    above = ("membersync.catalog", "membersync.sync", *SOURCES, *ENTRY_POINTS)
    assert _offending("people", above) == []


def test_the_engine_never_imports_the_sources_or_the_entry_points():
    assert _offending("sync", (*SOURCES, *ENTRY_POINTS)) == []


def test_the_catalog_knows_no_member_and_no_engine():
    assert _offending("catalog", ("membersync.people", "membersync.sync", *SOURCES, *ENTRY_POINTS)) == []


def test_memberships_never_import_organizations():
    assert _offending("members", ("membersync.orgs", *ENTRY_POINTS)) == []


# bench/ is left out on purpose: its floor measurement writes raw rows to the enrollment table itself.
@pytest.mark.parametrize("folder", ["portal", "connectors", "scenarios", "demo"])
def test_entry_points_read_the_engine_through_its_selectors_not_its_tables(folder):
    assert _offending(folder, ("membersync.sync.models",)) == []


def test_admin_pages_and_commands_read_the_engine_through_its_selectors():
    found = []
    for path in PACKAGE.rglob("*.py"):
        is_admin = path.name == "admin.py" and path.parent.name != "sync"
        is_command = "commands" in path.parts and "sync" not in path.parts
        if is_admin or is_command:
            found += [f"{path.name} imports {n}" for n in _imports(path) if n.startswith("membersync.sync.models")]
    assert found == []
