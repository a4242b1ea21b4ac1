"""The workspace's journal: the state of its sends, opened, checked and upgraded, in a SQLite
file in the workspace (the default) or in a PostgreSQL database that several machines share
(`[state] database`).

The delivery ledger (`deliver.ledger`: who has which message, exactly once), the calendar
history (`history`: what each event's last real send carried) and the audience ledger
(`audience.ledger`: who left the list, who bounces) keep their tables here and share one
connection when a send opens them; a kill at any instant leaves the journal consistent. Both
backends hold the same tables (`journal_schema`) and are reached through `Database`, which
takes SQLite's `?` and `:name` placeholders; what differs between the two dialects is said in
`Dialect`, once.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Protocol, cast

from announcer.errors import JournalError, PostgresError
from announcer.journal_schema import ADDED, KNOWN_TABLES, READABLE_VERSIONS, SCHEMA_LOCK, Dialect, tables
from announcer.journal_schema import SCHEMA_VERSION as SCHEMA_VERSION

JOURNAL_PATH = Path(".announcer") / "journal.sqlite"

# The database each workspace's settings name (`[state] database`), set as they are read
# (`load.settings`): every store of a workspace then reaches the same journal, whoever opens it.
_DATABASES: dict[Path, str] = {}


def use_database(workspace: Path, url: str | None) -> None:
    """The workspace's state lives in this PostgreSQL database (None: in its SQLite file)."""
    if url is None:
        _DATABASES.pop(workspace.resolve(), None)
    else:
        _DATABASES[workspace.resolve()] = url


def database_of(workspace: Path) -> str | None:
    return _DATABASES.get(workspace.resolve())


def has_journal(workspace: Path) -> bool:
    """Whether the workspace has state to read (a database always has; a file once written)."""
    return database_of(workspace) is not None or (workspace / JOURNAL_PATH).exists()


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Database(Protocol):
    """What the stores call: a statement, or one for each row (SQLite's placeholders)."""

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, rows: Any, /) -> Any: ...


DATABASE_ERRORS = (sqlite3.Error, PostgresError)  # what a statement of either backend raises


class JournalFile:
    """The journal of one workspace, open: its connection, and the lock its users share.

    SQLite: commits reach the disk's cache at once (WAL with synchronous=NORMAL), so a process
    killed at any instant loses none; a write made `durably` waits for the disk itself (one
    fsync). PostgreSQL: every commit is durable on the server (its own WAL), which several
    machines share.
    """

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.path = workspace / JOURNAL_PATH
        self.lock = threading.Lock()  # the connection is shared by sending threads
        url = database_of(workspace)
        self.dialect = Dialect.POSTGRESQL if url else Dialect.SQLITE
        self.name = url or str(self.path)  # as errors name it (a URL never holds a password)
        self.db: Database
        if url is not None:
            if self.path.exists() and self.path.stat().st_size > 0:  # a send would forget it all
                raise JournalError(
                    f"{self.path}: this workspace's state (who has which message, who left the list) "
                    "is still in this file, while [state] database names another: move it there first "
                    "(announcer state export FILE, move this file away, announcer state import FILE: "
                    "see the README's 'The state in PostgreSQL')"
                )
            try:
                from announcer.journal_postgres import Postgres
            except ImportError as exc:  # psycopg missing, or without a libpq it can load
                raise JournalError(
                    f"[state] database needs psycopg with its libpq ({exc}): pip install 'psycopg[binary]'"
                ) from None

            self._postgres: Postgres | None = Postgres(url)
            self.db = self._postgres
            self.holder = self._postgres.holder
        else:
            self._postgres = None
            self._sqlite = self._open_sqlite()
            self.db = cast("Database", self._sqlite)
            self.holder = ""  # set by the delivery ledger: the boot of the machine
        try:
            self._check_schema()
        except DATABASE_ERRORS as exc:
            self.close()
            raise JournalError(f"{self.name}: cannot open the journal: {exc}") from None
        except JournalError:
            self.close()
            raise

    @property
    def shared(self) -> bool:
        """Whether other machines may write this journal while this process does (PostgreSQL)."""
        return self.dialect is Dialect.POSTGRESQL

    def _open_sqlite(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and self.path.stat().st_size == 0:
                raise JournalError(
                    f"{self.path}: the journal is empty, so it cannot say who already has which message "
                    "(was it truncated?); restore it from a backup, or move it away to start afresh "
                    "(then everyone receives the next send)"
                )
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"{self.path}: cannot open the journal: {exc}") from None
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            db.close()
            raise JournalError(f"{self.path}: cannot open the journal: {exc}") from None
        return db

    def _tables(self) -> set[str]:
        if self.dialect is Dialect.SQLITE:
            query = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            query = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        return {str(row[0]) for row in self.db.execute(query)}

    def _columns(self, table: str) -> set[str]:
        if self.dialect is Dialect.SQLITE:
            return {str(row[1]) for row in self.db.execute(f"PRAGMA table_info({table})")}
        query = (
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = ?"
        )
        return {str(row[0]) for row in self.db.execute(query, (table,))}

    def _check_schema(self) -> None:
        """Create the tables of a new journal, upgrade one of an earlier schema in place (in one
        transaction); refuse one written in a form this version cannot read."""
        found = self._tables()
        version = self._version() if "meta" in found else None
        if version not in (None, *READABLE_VERSIONS, SCHEMA_VERSION):  # before its tables: a later
            raise JournalError(  # version's may be new to this one
                f"{self.name}: written by another version of announcer (journal schema {version}, "
                f"this one reads {SCHEMA_VERSION}); use that version, or move the journal away"
            )
        foreign = sorted(found - KNOWN_TABLES)
        if foreign and self.dialect is Dialect.SQLITE:  # a database may hold others' tables too
            raise JournalError(f"{self.name}: not an announcer journal (it holds {', '.join(foreign)})")
        if version == SCHEMA_VERSION and found >= KNOWN_TABLES:
            return  # as this version writes it: read without a write (a read-only workspace renders)
        with self.transaction(exclusive=SCHEMA_LOCK):  # of two opening an old one, one upgrades it
            for statement in tables(self.dialect):
                self.db.execute(statement)
            for table, column, definition in ADDED:
                if column not in self._columns(table):
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            self.db.execute(
                "INSERT INTO meta (key, value) VALUES ('schema', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(SCHEMA_VERSION),),
            )

    def _version(self) -> int | str | None:
        """The schema the journal says it is written in (as written, if that is not a number)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            return None
        written = str(row[0])
        return int(written) if written.isascii() and written.isdigit() else written

    @property
    def lost(self) -> bool:
        """Whether the database server dropped the connection (a SQLite file's never is)."""
        return self._postgres is not None and self._postgres.lost

    def reopen(self) -> None:
        """Connect anew in place of a lost connection (the caller does not hold `lock`; those
        who do wait): only for `serve`, whose sessions reserve nothing (see `Postgres.reopen`)."""
        if self._postgres is None:
            return
        with self.lock:
            self._postgres.reopen()
            self.holder = self._postgres.holder

    def bound(self, seconds: float) -> None:
        """Every statement ends within about `seconds`, on a database server gone without a word
        too (see `Postgres.bound`: only for `serve`); a SQLite file's wait is bounded already."""
        if self._postgres is None:
            return
        with self.lock:
            self._postgres.bound(seconds)
            self.holder = self._postgres.holder

    def close(self) -> None:
        with suppress(*DATABASE_ERRORS):
            if self._postgres is not None:
                self._postgres.close()
            else:
                self._sqlite.close()

    def roll_back(self) -> None:
        """End the transaction a statement failed in, unless SQLite already has: on a full disk
        (SQLITE_FULL) or an I/O error it rolls back itself, and a ROLLBACK then would fail in
        place of the error that says why."""
        if self._postgres is None and self._sqlite.in_transaction:
            self._sqlite.execute("ROLLBACK")

    @contextmanager
    def transaction(self, *, exclusive: int | None = None) -> Iterator[Database]:
        """One transaction, committed when the block ends (rolled back if it raises); the
        caller holds `lock` where threads share the file. SQLite: writers take turns (BEGIN
        IMMEDIATE). PostgreSQL: with `exclusive`, holders of that advisory lock take turns,
        for a read, decide and write that must not interleave with another machine's."""
        if self._postgres is not None:
            with self._postgres.transaction(exclusive):
                yield self.db
            return
        self._sqlite.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.roll_back()
            raise
        self._sqlite.execute("COMMIT")

    @contextmanager
    def durably(self, *, exclusive: int | None = None) -> Iterator[Database]:
        """One transaction, synced to the disk itself before it returns (other SQLite writes
        reach its cache; every PostgreSQL commit is synced); the caller holds `lock`."""
        try:
            if self._postgres is not None:
                with self.transaction(exclusive=exclusive) as db:
                    yield db
                return
            self._sqlite.execute("PRAGMA synchronous=FULL")
            try:
                with self.transaction() as db:
                    yield db
            finally:
                with suppress(sqlite3.Error):
                    self._sqlite.execute("PRAGMA synchronous=NORMAL")
        except DATABASE_ERRORS as exc:
            raise JournalError(f"{self.name}: cannot write: {exc}") from None
