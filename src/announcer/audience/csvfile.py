"""The audience ledger as CSV: exported for a spreadsheet or another tool, imported from one
(a suppression list brought from Mailman, listmonk or an older workspace)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from announcer.audience.ledger import AudienceLedger, How, Standing, State
from announcer.errors import Problem, RecipientsError
from announcer.load.files import open_file
from announcer.model.text import check_address, excerpt, shown_safely
from announcer.paths import display_path
from announcer.spreadsheet import write_rows

COLUMNS = ("email", "state", "how", "reason", "since", "bounce_score")
MAX_ROWS = 1_000_000
MAX_FIELD = 1_000  # characters of one cell: a reason, never a file


def export(standings: Iterable[Standing], out: TextIO) -> int:
    """Write the standings as CSV (a header, a row each); how many rows."""
    rows = (
        (standing.address, standing.state.value, standing.how, standing.reason, standing.at, standing.score)
        for standing in standings
    )
    return write_rows(out, COLUMNS, rows)


@dataclass(frozen=True)
class Imported:
    """What an import changed: how many rows set each state."""

    rows: int
    changed: dict[State, int]


def import_csv(path: Path, ledger: AudienceLedger) -> Imported:
    """Read a CSV with `email` and `state` columns (others as `export` writes them, or none),
    check every row first, then apply them: a bad file changes nothing."""
    source = display_path(path)
    wanted = list(_rows(path, source))
    changed: dict[State, int] = {}
    for address, state, reason in wanted:
        if state is State.SUBSCRIBED:
            standing = ledger.restore(address, How.IMPORT, reason)
        else:
            standing = ledger.mark(address, state, How.IMPORT, reason)
        changed[standing.state] = changed.get(standing.state, 0) + 1
    return Imported(len(wanted), changed)


def _rows(path: Path, source: str) -> Iterator[tuple[str, State, str]]:
    """Every row checked, or every problem at once."""
    problems: list[Problem] = []
    rows: list[tuple[str, State, str]] = []
    with open_file(path, RecipientsError) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="strict", newline="")
        try:
            reader = csv.DictReader(text)
            header = [name.strip().lower() for name in reader.fieldnames or []]
            if "email" not in header:
                raise RecipientsError([Problem(f"{source}:1", "needs an `email` column (and `state`)")])
            reader.fieldnames = header
            for number, row in enumerate(reader, start=2):
                if number > MAX_ROWS:
                    problems.append(Problem(source, f"holds more than {MAX_ROWS:,} rows"))
                    break
                item = _row(row, f"{source}:{number}")
                if isinstance(item, Problem):
                    problems.append(item)
                else:
                    rows.append(item)
                if len(problems) >= 50:
                    break
        except UnicodeDecodeError:
            problems.append(Problem(source, "is not UTF-8 text (save it from the spreadsheet as CSV UTF-8)"))
        except csv.Error as exc:
            problems.append(Problem(source, f"is not CSV as written: {exc}"))
    if problems:
        raise RecipientsError(problems)
    yield from rows


def _row(row: dict[str | None, str | list[str] | None], where: str) -> tuple[str, State, str] | Problem:
    cells = {key: value for key, value in row.items() if isinstance(key, str) and isinstance(value, str)}
    if any(len(value) > MAX_FIELD for value in cells.values()):
        return Problem(where, f"a cell longer than {MAX_FIELD} characters")
    try:
        address = check_address(cells.get("email", "").strip().lstrip("'"))
    except ValueError as exc:
        return Problem(where, str(exc))
    written = cells.get("state", "").strip().lower() or State.UNSUBSCRIBED.value
    try:
        state = State(written)
    except ValueError:
        known = ", ".join(state.value for state in State)
        return Problem(where, f"state {excerpt(written)} is none of {known}")
    return address, state, shown_safely(cells.get("reason", "").lstrip("'"), 300)
