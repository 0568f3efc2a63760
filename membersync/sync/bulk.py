"""Bulk writes for the hot paths: one prepared statement, executemany, values adapted once per column.

Django's bulk_create and bulk_update build a model instance and compile SQL per row; at a million rows that,
not the database, is the cost. These take plain tuples and work on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from django.db import connection, models

CHUNK = 5000
_ZERO = timedelta(0)


def _adapters(model: type[models.Model], columns: Sequence[str]) -> list[Callable | None]:
    adapters: list[Callable | None] = []
    for column in columns:
        field = model._meta.get_field(column)
        if isinstance(field, models.DateTimeField) and connection.vendor == "sqlite":
            # The same instants recur across rows (now, a membership's opening): convert each once.
            adapters.append(_Converted(_sqlite_datetime).__getitem__)
        elif isinstance(field, models.DateTimeField):
            adapters.append(connection.ops.adapt_datetimefield_value)
        elif isinstance(field, models.JSONField):
            adapters.append(lambda value, field=field: field.get_db_prep_save(value, connection))
        else:
            adapters.append(None)
    return adapters


class _Converted(dict):
    """A cache of converted values: looking one up is a dict lookup; a miss converts and remembers."""

    def __init__(self, convert: Callable):
        super().__init__()
        self.convert = convert

    def __missing__(self, value):
        converted = self[value] = self.convert(value)
        return converted


def _sqlite_datetime(value: datetime) -> str:
    """What Django's SQLite backend stores for an aware datetime: naive UTC, as str(); the common UTC case fast."""
    if value.utcoffset() == _ZERO:
        return value.isoformat(" ")[:-6]
    return str(value.astimezone(UTC).replace(tzinfo=None))


def _adapted(rows: Iterable[Sequence], adapters: list[Callable | None]) -> list[tuple]:
    if not any(adapters):
        return [tuple(row) for row in rows]
    # One function per column set that adapts only the columns that need it, with no per-value dispatch.
    parts = [f"r[{i}]" if a is None else f"(None if r[{i}] is None else a{i}(r[{i}]))" for i, a in enumerate(adapters)]
    scope = {f"a{i}": a for i, a in enumerate(adapters) if a is not None}
    adapt_row = eval(f"lambda r: ({', '.join(parts)},)", scope)  # noqa: S307 (built from column positions only)
    return [adapt_row(row) for row in rows]


def _execute(sql: str, rows: list[tuple]) -> None:
    with connection.cursor() as cursor:
        for start in range(0, len(rows), CHUNK):
            cursor.executemany(sql, rows[start : start + CHUNK])


def rows_insert(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence],
    *,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
) -> None:
    """INSERT the rows; with `conflict` columns, update `update` columns of rows that exist (or skip them)."""
    rows = list(rows)
    if not rows:
        return
    defaults = [
        f
        for f in model._meta.concrete_fields
        if (f.has_default() or (f.empty_strings_allowed and not f.null))
        and not f.primary_key
        and f.attname not in columns
        and f.name not in columns
    ]
    if defaults:  # the ORM fills these in; a raw insert must too
        columns = [*columns, *(f.attname for f in defaults)]
        extra = tuple(f.get_default() for f in defaults)
        rows = [(*row, *extra) for row in rows]
    names = [model._meta.get_field(c).column for c in columns]
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(names)}) "
        f"VALUES ({', '.join(['%s'] * len(names))})"
    )
    if conflict:
        target = ", ".join(model._meta.get_field(c).column for c in conflict)
        if update:
            assignments = ", ".join(
                f"{model._meta.get_field(c).column} = excluded.{model._meta.get_field(c).column}" for c in update
            )
            sql += f" ON CONFLICT ({target}) DO UPDATE SET {assignments}"
        else:
            sql += f" ON CONFLICT ({target}) DO NOTHING"
    _execute(sql, _adapted(rows, _adapters(model, columns)))


def rows_update(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence]) -> None:
    """UPDATE by primary key: each row is the new values of `columns` followed by the pk."""
    rows = list(rows)
    if not rows:
        return
    assignments = ", ".join(f"{model._meta.get_field(c).column} = %s" for c in columns)
    sql = (
        f"UPDATE {connection.ops.quote_name(model._meta.db_table)} SET {assignments} WHERE {model._meta.pk.column} = %s"
    )
    _execute(sql, _adapted(rows, [*_adapters(model, columns), None]))


def rows_delete(model: type[models.Model], pks: Sequence[int]) -> None:
    for start in range(0, len(pks), 500):
        model.objects.filter(pk__in=pks[start : start + 500])._raw_delete(model.objects.db)
