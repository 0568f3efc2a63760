"""A consistent copy of the SQLite database while MemberSync runs, through SQLite's online backup API (the web
server and the worker keep writing; the copy is the database at one moment). PostgreSQL: pg_dump (README)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from django.db import connection

from membersync.errors import ServiceError


def sqlite_backup(*, path: Path) -> Path:
    """Copy the configured SQLite database to `path` (a new file; an existing one is refused)."""
    if connection.vendor != "sqlite":
        raise ServiceError(
            "invalid_value",
            f"the database is {connection.vendor}, not SQLite: back it up with pg_dump (README, Backups)",
            field="database",
        )
    path = Path(path)
    if path.exists():
        raise ServiceError("duplicate_id", f"{path} exists already: choose a new file", field="path")
    if not path.parent.is_dir():
        raise ServiceError("not_found", f"the folder {path.parent} does not exist", field="path")
    source = sqlite3.connect(connection.settings_dict["NAME"], timeout=20)
    partial = path.with_name(path.name + ".partial")
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target, pages=1024)
            ok = target.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            target.close()
    finally:
        source.close()
    if ok != "ok":
        partial.unlink(missing_ok=True)
        raise ServiceError("invalid_value", f"the copy failed its integrity check: {ok}", field="path")
    partial.rename(path)
    return path
