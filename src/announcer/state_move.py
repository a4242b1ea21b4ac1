"""`announcer state export` and `state import`: a workspace's whole state (who has which message,
the calendar history, the audience ledger) in one file, so that it moves from its SQLite file
to a PostgreSQL database and back without losing any of it.

The file is JSON Lines: a first line naming the schema, then one line a row, `{"table": ...,
"row": [...]}`, each table's columns in the order `journal_schema.CARRIED` gives. Reservations
are not carried: they belong to a run, and none runs across a move (one a crash left is carried
as the line in doubt it stands for).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from announcer.audience.ledger import State
from announcer.deliver.ledger import Ledger, Outcome
from announcer.errors import InputError, JournalError, Problem
from announcer.journal_file import DATABASE_ERRORS, Database, JournalFile
from announcer.journal_schema import CARRIED, SCHEMA_VERSION, Dialect

FORMAT = "announcer-state"
LONGEST_LINE = 4 << 20  # bytes: a calendar snapshot is the largest value, tens of kilobytes
_ROWS_AT_ONCE = 1000
_NUMBERS = {("sequences", "sequence"): int, ("standings", "score"): float}
_CHOICES = {
    ("deliveries", "outcome"): {outcome.value for outcome in Outcome},
    ("standings", "state"): {state.value for state in State},
    ("audience_log", "state"): {state.value for state in State},
}
_ORDER = {"audience_log": "id"}  # the log in the order it came; other tables by their key


def _columns(table: str) -> list[str]:
    return [column.strip() for column in CARRIED[table].split(",")]


def export_state(workspace: Path, path: Path) -> Counter[str]:
    """Write the workspace's state to `path` (replaced whole, once complete); rows by table."""
    counts: Counter[str] = Counter()
    fresh = path.with_name(f".{path.name}.part")
    with Ledger(workspace, lock=False) as ledger, ledger.file.lock:
        try:
            with fresh.open("w", encoding="utf-8") as out, ledger.file.transaction() as db:
                if ledger.file.dialect is Dialect.POSTGRESQL:  # every table as of one instant
                    db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                out.write(json.dumps({"format": FORMAT, "schema": SCHEMA_VERSION}) + "\n")
                for table in CARRIED:
                    order = _ORDER.get(table, ", ".join(_columns(table)[:2]))
                    query = f"SELECT {CARRIED[table]} FROM {table} ORDER BY {order}"  # noqa: S608 (constants)
                    rows = ledger.standing(db) if table == "deliveries" else db.execute(query)
                    for row in rows:
                        out.write(json.dumps({"table": table, "row": list(row)}, ensure_ascii=False) + "\n")
                        counts[table] += 1
                out.flush()
                os.fsync(out.fileno())
        except DATABASE_ERRORS as exc:
            fresh.unlink(missing_ok=True)
            raise JournalError(f"{ledger.file.name}: cannot read: {exc}") from None
        except BaseException:
            fresh.unlink(missing_ok=True)
            raise
    os.replace(fresh, path)
    return counts


def import_state(workspace: Path, path: Path) -> Counter[str]:
    """Read a file `export_state` wrote into the workspace's state, which must hold none yet:
    every line is checked first, then all go in one transaction (a kill leaves none)."""
    rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in CARRIED}
    for table, row in _read(path):
        rows[table].append(row)
    with Ledger(workspace) as ledger, ledger.file.lock:
        _refuse_unless_empty(ledger.file)
        try:
            with ledger.file.transaction() as db:
                for table, found in rows.items():
                    _insert(db, table, found)
        except DATABASE_ERRORS as exc:
            raise JournalError(f"{ledger.file.name}: cannot write: {exc}") from None
    return Counter({table: len(found) for table, found in rows.items() if found})


def _insert(db: Database, table: str, rows: list[tuple[Any, ...]]) -> None:
    columns = CARRIED[table]
    marks = ", ".join("?" for _ in _columns(table))
    statement = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608 (constants)
    for start in range(0, len(rows), _ROWS_AT_ONCE):
        db.executemany(statement, rows[start : start + _ROWS_AT_ONCE])


def _refuse_unless_empty(file: JournalFile) -> None:
    """A state already in use is never mixed with another: whose line would win is unknowable."""
    for table in CARRIED:
        if file.db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is not None:  # noqa: S608
            raise JournalError(
                f"{file.name}: already holds a state ({table}); import only into a new one: "
                "an empty database, or a workspace whose .announcer/journal.sqlite was moved away"
            )


def _read(path: Path) -> Iterator[tuple[str, tuple[Any, ...]]]:
    """Each row of the file, checked: a table it carries, its columns, their kinds; else an
    InputError naming the line (and the field)."""
    source = str(path)
    try:
        stream = path.open("rb")
    except OSError as exc:
        raise InputError([Problem(source, f"cannot read: {exc.strerror or exc}")]) from None
    number = 0
    with stream:
        for number, raw in enumerate(_lines(stream, source), start=1):
            try:
                found = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, ValueError, RecursionError):
                raise InputError([Problem(source, "not a line of a state file (JSON)", number)]) from None
            if number == 1:
                _check_header(found, source)
                continue
            yield _checked(found, source, number)
    if number == 0:
        raise InputError([Problem(source, "empty: not a file `announcer state export` wrote")])


def _lines(stream: Any, source: str) -> Iterator[bytes]:
    while line := stream.readline(LONGEST_LINE + 1):
        if len(line) > LONGEST_LINE:
            raise InputError([Problem(source, f"a line longer than {LONGEST_LINE >> 20} MiB")])
        yield line


def _check_header(found: object, source: str) -> None:
    if not isinstance(found, dict) or found.get("format") != FORMAT:
        raise InputError([Problem(source, "not a file `announcer state export` wrote", 1)])
    schema = found.get("schema")
    if not isinstance(schema, int) or isinstance(schema, bool) or not 1 <= schema <= SCHEMA_VERSION:
        raise InputError(
            [Problem(source, f"written by another version of announcer (schema {schema!r:.20})", 1)]
        )


def _checked(found: object, source: str, number: int) -> tuple[str, tuple[Any, ...]]:
    if not isinstance(found, dict) or found.keys() != {"table", "row"}:
        raise InputError([Problem(source, 'not a row: {"table": ..., "row": [...]}', number)])
    table, row = found["table"], found["row"]
    if not isinstance(table, str) or table not in CARRIED:
        raise InputError([Problem(source, f"no such table: {str(table)[:40]!r}", number, "table")])
    columns = _columns(table)
    if not isinstance(row, list) or len(row) != len(columns):
        raise InputError([Problem(source, f"a row of {table} has {len(columns)} values", number, "row")])
    for column, value in zip(columns, row, strict=True):
        _check_value(table, column, value, source, number)
    return table, tuple(row)


def _check_value(table: str, column: str, value: object, source: str, number: int) -> None:
    kind = _NUMBERS.get((table, column), str)
    if kind is str:
        fits = isinstance(value, str) and "\x00" not in value  # PostgreSQL's text holds no NUL
    elif isinstance(value, bool) or not isinstance(value, int | float):
        fits = False
    else:  # within what both databases hold (INTEGER, REAL), and a number (not NaN)
        fits = (kind is float or isinstance(value, int)) and abs(value) < 2**31
    if not fits:
        said = "a text without NUL" if kind is str else f"a number ({kind.__name__})"
        raise InputError([Problem(source, f"{said} expected", number, f"{table}.{column}")])
    choices = _CHOICES.get((table, column))
    if choices is not None and value not in choices:
        raise InputError(
            [Problem(source, f"one of {', '.join(sorted(choices))}", number, f"{table}.{column}")]
        )
