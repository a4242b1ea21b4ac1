"""Recipient lists: a streaming, validating, de-duplicating CSV reader, or one address."""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from announcer.errors import Problem, RecipientsError
from announcer.languages import language_tag
from announcer.load.files import open_file, read_text
from announcer.model.event import zone_named
from announcer.model.recipient import Recipient
from announcer.model.text import check_address, did_you_mean, excerpt, line_problem
from announcer.paths import display_path

MOST_PROBLEMS_SHOWN = 50
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True)
class Duplicate(Problem):
    """A row whose address an earlier row already holds: dropped, with a warning."""


@dataclass(frozen=True)
class Checked:
    """What a full pass over a recipient list found: how many, and what was dropped."""

    count: int
    warnings: tuple[Problem, ...]


class RecipientList:
    """A recipients CSV (a header row with `email`; optional `name`, `given_name`, `greeting`,
    `language`, `timezone`; any other columns)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.source = display_path(path)

    def check(self) -> Checked:
        """Read the whole list once and raise with every problem: nothing goes to a bad list."""
        problems: list[Problem] = []
        hashes = array("Q")  # 8 bytes an address: a list of 200,000 costs 1.6 MB to de-duplicate
        for _, item in self._rows():
            if isinstance(item, Recipient):
                hashes.append(_hashed(item.email))
            else:
                problems.append(item)
        if not problems and not hashes:
            problems.append(Problem(self.source, "holds no recipients"))
        if problems:
            if len(problems) > MOST_PROBLEMS_SHOWN:
                more = len(problems) - MOST_PROBLEMS_SHOWN
                problems = [
                    *problems[:MOST_PROBLEMS_SHOWN],
                    Problem(self.source, f"... and {more} more problems"),
                ]
            raise RecipientsError(problems)
        self._suspects = _repeated(hashes)
        warnings = (
            tuple(item for item in self._unique() if isinstance(item, Duplicate)) if self._suspects else ()
        )
        return Checked(len(hashes) - len(warnings), warnings)

    def __iter__(self) -> Iterator[Recipient]:
        """The recipients in file order, duplicates dropped; streamed, never all in memory."""
        for item in self._unique():
            if isinstance(item, Recipient):
                yield item
            elif not isinstance(item, Duplicate):
                raise RecipientsError([item])

    @cached_property
    def delimiter(self) -> str:
        """What separates the columns: a comma, or the semicolon (Excel in much of Europe) or a tab."""
        try:
            with self._open() as stream:
                header = stream.readline()
        except (OSError, UnicodeDecodeError, RecipientsError):
            return ","  # reading the rows says what is wrong
        for delimiter in DELIMITERS:
            if "email" in (name.strip().strip('"').lower() for name in header.split(delimiter)):
                return delimiter
        return ","

    @cached_property
    def _suspects(self) -> frozenset[int]:
        """The hashes of addresses that occur more than once (and, rarely, of two that collide)."""
        return _repeated(
            array("Q", (_hashed(item.email) for _, item in self._rows() if isinstance(item, Recipient)))
        )

    def _unique(self) -> Iterator[Recipient | Problem]:
        """The rows, each later row of an address already seen made a `Duplicate`; only suspects'
        addresses are remembered, so a list of any length de-duplicates in little memory."""
        first: dict[str, int] = {}
        suspects = self._suspects
        for line, item in self._rows():
            if isinstance(item, Recipient) and suspects and _hashed(item.email) in suspects:
                key = item.email.lower()
                if key in first:
                    yield Duplicate(
                        self.source, f"duplicate of line {first[key]} ({item.email}): dropped", line=line
                    )
                    continue
                first[key] = line
            yield item

    def _rows(self) -> Iterator[tuple[int, Recipient | Problem]]:
        """Each row with its line, as a recipient or the problem that keeps it from being one."""
        line = 1  # where the reader is, for a CSV error: the start of the row it was reading
        try:
            with self._open() as stream:
                reader = csv.reader(stream, delimiter=self.delimiter, strict=True)
                header = next(reader, None)
                columns = self._columns(header)
                line = reader.line_num + 1
                for row in reader:
                    line = reader.line_num + 1
                    if not any(cell.strip() for cell in row):
                        continue
                    yield reader.line_num, self._recipient(row, columns, reader.line_num)
        except UnicodeDecodeError:
            read_text(self.path, RecipientsError, limit=None)  # raises, naming the line with the bad byte
            raise
        except csv.Error as exc:
            raise RecipientsError([Problem(self.source, f"not valid CSV: {exc}", line=line)]) from None
        except OSError as exc:
            raise RecipientsError([Problem(self.source, f"cannot read: {exc.strerror or exc}")]) from None

    def _open(self) -> io.TextIOWrapper:
        """The list as text, if it is a file: a pipe named like a list would wait forever."""
        return io.TextIOWrapper(open_file(self.path, RecipientsError), encoding="utf-8-sig", newline="")

    def _columns(self, header: list[str] | None) -> list[str]:
        if header is None:
            raise RecipientsError(
                [Problem(self.source, "is empty: it needs a header row with an `email` column")]
            )
        columns = [name.strip().lower() for name in header]
        if "email" not in columns:
            near = [name.strip() for name in header if did_you_mean(name.strip(), ["email"])]
            how = (
                f": rename {excerpt(near[0])} to email"
                if near
                else " (columns are separated by , or ; or a tab)"
            )
            message = f"the header row has no `email` column{how}"
            raise RecipientsError([Problem(self.source, message, line=1)])
        repeated = sorted({name for name in columns if columns.count(name) > 1})
        if repeated:
            raise RecipientsError(
                [Problem(self.source, f"the header row repeats {', '.join(repeated)}", line=1)]
            )
        return columns

    def _recipient(self, row: list[str], columns: list[str], line: int) -> Recipient | Problem:
        if len(row) != len(columns):
            return Problem(self.source, f"has {len(row)} fields, the header has {len(columns)}", line=line)
        values = {column: cell.strip() for column, cell in zip(columns, row, strict=True)}
        if problem := line_problem(values["email"]):  # before the address is quoted in an error
            return Problem(self.source, problem, line=line, field="email")
        if "<" in values["email"]:  # "Åsa Lindqvist <asa@example.org>", as a mail program copies it
            message = "write the address alone here, and the name in a `name` column"
            return Problem(self.source, message, line=line, field="email")
        try:
            email = check_address(values.pop("email"))
        except ValueError as exc:
            return Problem(self.source, str(exc), line=line, field="email")
        name = values.pop("name", "") or None
        for column, value in (("name", name or ""), *values.items()):
            if problem := line_problem(value):
                return Problem(self.source, problem, line=line, field=column)
        timezone: ZoneInfo | None = None
        if zone := values.get("timezone"):
            try:
                timezone = zone_named(zone)  # a place, as in the event: CET or EST is refused with its places
            except ValueError as exc:
                return Problem(self.source, str(exc), line=line, field="timezone")
        language: str | None = None
        if written := values.get("language"):
            try:
                language = language_tag(written)
            except ValueError as exc:
                return Problem(self.source, str(exc), line=line, field="language")
        return Recipient(
            email=email,
            name=name,
            fields=values,
            language=language,
            timezone=timezone,
            given_name=values.get("given_name") or None,
            greeting=values.get("greeting") or None,
        )


class SingleAddress:
    """`--to someone@example.org`: one message, for a person or a mailing list's own address."""

    def __init__(self, address: str) -> None:
        self.source = address
        self.address = address

    def check(self) -> Checked:
        self._recipient()
        return Checked(1, ())

    def __iter__(self) -> Iterator[Recipient]:
        yield self._recipient()

    def _recipient(self) -> Recipient:
        try:
            return Recipient(email=check_address(self.address))
        except ValueError as exc:
            raise RecipientsError([Problem("--to", str(exc))]) from None


def _hashed(address: str) -> int:
    """An address as 64 bits, the same for any case of its letters."""
    return int.from_bytes(hashlib.blake2b(address.lower().encode(), digest_size=8).digest(), "little")


def _repeated(hashes: Iterable[int]) -> frozenset[int]:
    """The values that occur more than once: sorted in 256 buckets, so that no more than a
    bucket's worth is ever a list of Python integers."""
    buckets = [array("Q") for _ in range(256)]
    for value in hashes:
        buckets[value >> 56].append(value)
    repeated: set[int] = set()
    for bucket in buckets:
        repeated.update(a for a, b in itertools.pairwise(sorted(bucket)) if a == b)
    return frozenset(repeated)


def open_recipients(to: str) -> RecipientList | SingleAddress:
    """A CSV file when `to` names one (or ends in .csv), else a single address."""
    path = Path(to)
    if path.suffix.lower() == ".csv" or path.exists() or "@" not in to:
        if not path.exists():
            raise RecipientsError([Problem(display_path(path), "not found")])
        open_file(path, RecipientsError).close()  # a folder or a pipe is refused now, by its name
        return RecipientList(path)
    return SingleAddress(to)
