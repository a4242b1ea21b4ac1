"""CSV for a spreadsheet: a cell that a stranger wrote (a name, a reason, a comment) stays text
and never becomes a formula (CSV injection: `=HYPERLINK(...)`, `+cmd|...`, `@SUM(...)`)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import TextIO

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """One cell as text that no spreadsheet reads as a formula (quoted with an apostrophe)."""
    text = str(value)
    return f"'{text}" if text[:1] in _FORMULA_STARTS else text


def write_rows(out: TextIO, header: Iterable[str], rows: Iterable[Iterable[object]]) -> int:
    """A header, then each row with every cell made safe; how many rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([cell(value) for value in row])
        count += 1
    return count
