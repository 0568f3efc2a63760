"""The people CSV (`email, first_name, last_name, role`, and optionally `seat_type`): reading it, checking every
row before anything is written, and writing it back out.

Rows are numbered as a spreadsheet shows them (the header is row 1), so a person can find the row the report names.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

COLUMNS = ("email", "first_name", "last_name", "role")
# Read when present: the seat type (its id) whose free seat the person is given (an invitation holds it).
OPTIONAL_COLUMNS = ("seat_type",)
TEMPLATE = "email,first_name,last_name,role,seat_type\r\nada@example.com,Ada,Lovelace,member,\r\n"
IMPORTABLE_ROLES = ("member", "manager")
# "owner" is read so that an exported file imports back; the import leaves owners as they are.
ROLES = (*IMPORTABLE_ROLES, "owner")
MAX_ROWS = 50_000
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class PersonRow:
    row: int
    email: str
    first_name: str
    last_name: str
    role: str
    seat_type: str = ""


@dataclass(frozen=True)
class RowRefusal:
    row: int
    email: str
    reason: str


@dataclass
class ParsedPeople:
    """Either `file_error` (nothing in the file can be used) or the rows split into usable and refused."""

    rows: list[PersonRow] = field(default_factory=list)
    refused: list[RowRefusal] = field(default_factory=list)
    file_error: str | None = None


def people_csv_parse(data: bytes | str) -> ParsedPeople:
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return ParsedPeople(file_error="The file is not UTF-8 text. Save it from your spreadsheet as CSV UTF-8.")
    else:
        text = data.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
    except csv.Error as error:
        return ParsedPeople(file_error=f"The file is not readable as CSV: {error}.")
    if header is None or not any(cell.strip() for cell in header):
        return ParsedPeople(file_error="The file is empty: the first row must name the columns " + _columns_text())
    names = [cell.strip().lower() for cell in header]
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        return ParsedPeople(
            file_error=f"Missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}: "
            f"the first row must name the columns {_columns_text()}. Nothing was imported."
        )
    duplicated = sorted({name for name in names if name in COLUMNS and names.count(name) > 1})
    if duplicated:
        return ParsedPeople(file_error=f"Column {', '.join(duplicated)} appears more than once. Nothing was imported.")
    position = {column: names.index(column) for column in (*COLUMNS, *OPTIONAL_COLUMNS) if column in names}
    width = len(names)

    parsed = ParsedPeople()
    first_row_of: dict[str, int] = {}
    try:
        for number, cells in enumerate(reader, start=2):
            if not any(cell.strip() for cell in cells):
                continue
            if len(parsed.rows) + len(parsed.refused) >= MAX_ROWS:
                return ParsedPeople(file_error=f"The file has more than {MAX_ROWS:,} people: split it into parts.")
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            values = {column: _unquote(cells[index].strip()) for column, index in position.items()}
            refusal = _row_refusal(values, first_row_of)
            email = values["email"].lower()
            if refusal:
                parsed.refused.append(RowRefusal(row=number, email=values["email"], reason=refusal))
                continue
            first_row_of[email] = number
            parsed.rows.append(
                PersonRow(
                    row=number,
                    email=email,
                    first_name=values["first_name"],
                    last_name=values["last_name"],
                    role=values["role"].lower() or "member",
                    seat_type=values.get("seat_type", ""),
                )
            )
    except csv.Error as error:
        return ParsedPeople(file_error=f"The file is not readable as CSV near row {reader.line_num}: {error}.")
    return parsed


def _row_refusal(values: dict[str, str], first_row_of: dict[str, int]) -> str | None:
    email = values["email"]
    if not email:
        return "email is empty"
    try:
        validate_email(email)
    except ValidationError:
        return f"email {email!r} is not a valid email address"
    if email.lower() in first_row_of:
        return f"duplicate row: {email.lower()} is already on row {first_row_of[email.lower()]}"
    role = values["role"].lower()
    if role and role not in ROLES:
        return f"unknown role {values['role']!r}: use {' or '.join(IMPORTABLE_ROLES)}"
    for column in ("first_name", "last_name"):
        if len(values[column]) > MAX_NAME_LENGTH:
            return f"{column} is longer than {MAX_NAME_LENGTH} characters"
    return None


EXPORT_EXTRA = ("status", "seat_types", "licenses", "courses")


def people_csv_write(rows: Iterable[tuple[str, ...]], out: io.TextIOBase) -> None:
    """Rows of (email, first_name, last_name, role, status, seat types, licenses, courses): the import's columns
    first, so it reads the file back (it ignores the others; several values in one cell are joined by "; ")."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow((*COLUMNS, *EXPORT_EXTRA))
    for row in rows:
        writer.writerow([_spreadsheet_safe(value) for value in row])


FORMULA_STARTS = ("=", "+", "-", "@")


def _spreadsheet_safe(value: str) -> str:
    # A cell starting with = + - @ is run as a formula by spreadsheets; a leading quote keeps it text.
    return "'" + value if value[:1] in FORMULA_STARTS else value


def _unquote(value: str) -> str:
    """Undo _spreadsheet_safe, so an exported file reads back as it was."""
    return value[1:] if value[:1] == "'" and value[1:2] in FORMULA_STARTS else value


def _columns_text() -> str:
    return ", ".join(COLUMNS)


def report_csv_write(rows: Iterable[list], out: io.TextIOBase) -> None:
    """An import's report: (row, email, result, why) per row of the file."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("row", "email", "result", "why"))
    for row in rows:
        writer.writerow([_spreadsheet_safe(str(value)) for value in row])
