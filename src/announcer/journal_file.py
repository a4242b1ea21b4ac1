"""The workspace's journal file: one SQLite file holding three stores, opened, checked and upgraded.

The delivery ledger (`deliver.ledger`: who has which message, exactly once), the calendar
history (`history`: what each event's last real send carried) and the audience ledger
(`audience.ledger`: who left the list, who bounces) keep their tables here and share one
connection when a send opens them; a kill at any instant leaves the file consistent.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from announcer.errors import JournalError

JOURNAL_PATH = Path(".announcer") / "journal.sqlite"

# 1 had no reservations, 2 no reader's name, language and zone on a delivery, 3 no audience
# ledger: each upgraded in place.
SCHEMA_VERSION = 4
_TABLES = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS deliveries (
    key TEXT NOT NULL,
    recipient TEXT NOT NULL,
    message_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reply TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    language TEXT NOT NULL DEFAULT '',
    timezone TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (key, recipient)
)""",
    """CREATE TABLE IF NOT EXISTS sequences (
    uid TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    snapshot TEXT NOT NULL DEFAULT '{}'
)""",
    """CREATE TABLE IF NOT EXISTS reservations (
    key TEXT NOT NULL,
    recipient TEXT NOT NULL,
    boot TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (key, recipient)
)""",
    # the audience ledger's (`audience.ledger`), since schema 4
    """CREATE TABLE IF NOT EXISTS standings (
    list TEXT NOT NULL,
    address TEXT NOT NULL,
    state TEXT NOT NULL,
    how TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL,
    score REAL NOT NULL DEFAULT 0,
    scored_at TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (list, address)
)""",
    """CREATE TABLE IF NOT EXISTS audience_log (
    id INTEGER PRIMARY KEY,
    list TEXT NOT NULL,
    address TEXT NOT NULL,
    state TEXT NOT NULL,
    how TEXT NOT NULL,
    detail TEXT NOT NULL,
    at TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS tokens (
    token TEXT PRIMARY KEY,
    address TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS handled (
    message TEXT PRIMARY KEY,
    outcome TEXT NOT NULL,
    at TEXT NOT NULL
)""",
)
# Columns later versions added to a table an earlier one created: (table, column, its definition).
_ADDED = (
    ("sequences", "snapshot", "TEXT NOT NULL DEFAULT '{}'"),  # 0.1: what was sent is not known, only when
    ("deliveries", "name", "TEXT NOT NULL DEFAULT ''"),  # schema 2: the reader known by address alone
    ("deliveries", "language", "TEXT NOT NULL DEFAULT ''"),
    ("deliveries", "timezone", "TEXT NOT NULL DEFAULT ''"),
)
_KNOWN_TABLES = {
    *("meta", "deliveries", "sequences", "reservations"),
    *("standings", "audience_log", "tokens", "handled"),  # the audience ledger's
}


class JournalFile:
    """The journal of one workspace, open: its connection, and the lock its users share.

    Commits reach the disk's cache at once (SQLite's WAL with synchronous=NORMAL), so a process
    killed at any instant loses none; a write made `durably` waits for the disk itself (one fsync).
    """

    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.path = workspace / JOURNAL_PATH
        self.lock = threading.Lock()  # the connection is shared by sending threads
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists() and self.path.stat().st_size == 0:
                raise JournalError(
                    f"{self.path}: the journal is empty, so it cannot say who already has which message "
                    "(was it truncated?); restore it from a backup, or move it away to start afresh "
                    "(then everyone receives the next send)"
                )
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except (sqlite3.Error, OSError) as exc:
            raise JournalError(f"{self.path}: cannot open the journal: {exc}") from None
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self._check_schema()
        except sqlite3.Error as exc:
            self.db.close()
            raise JournalError(f"{self.path}: cannot open the journal: {exc}") from None
        except JournalError:
            self.db.close()
            raise

    def _check_schema(self) -> None:
        """Create the tables of a new journal, upgrade one of an earlier schema in place (in one
        transaction); refuse one written in a form this version cannot read."""
        tables = {row[0] for row in self.db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if foreign := sorted(tables - _KNOWN_TABLES):
            raise JournalError(f"{self.path}: not an announcer journal (it holds {', '.join(foreign)})")
        version = self._version() if "meta" in tables else None
        if version not in (None, 1, 2, 3, SCHEMA_VERSION):
            raise JournalError(
                f"{self.path}: written by another version of announcer (journal schema {version}, "
                f"this one reads {SCHEMA_VERSION}); use that version, or move the journal away"
            )
        if version == SCHEMA_VERSION and tables == _KNOWN_TABLES:
            return  # as this version writes it: read without a write (a read-only workspace renders)
        self.db.execute("BEGIN IMMEDIATE")  # of two processes opening an old journal, one upgrades it
        try:
            for statement in _TABLES:
                self.db.execute(statement)
            for table, column, definition in _ADDED:
                if column not in {row[1] for row in self.db.execute(f"PRAGMA table_info({table})")}:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            self.db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )
        except BaseException:
            self.roll_back()
            raise
        self.db.execute("COMMIT")

    def _version(self) -> int | str | None:
        """The schema the journal says it is written in (as written, if that is not a number)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None:
            return None
        written = str(row[0])
        return int(written) if written.isascii() and written.isdigit() else written

    def close(self) -> None:
        self.db.close()

    def roll_back(self) -> None:
        """End the transaction a statement failed in, unless SQLite already has: on a full disk
        (SQLITE_FULL) or an I/O error it rolls back itself, and a ROLLBACK then would fail in
        place of the error that says why."""
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")

    @contextmanager
    def durably(self) -> Iterator[sqlite3.Connection]:
        """One transaction, synced to the disk itself before it returns (other writes reach its
        cache); the caller holds `lock`."""
        try:
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
            except BaseException:
                self.roll_back()
                raise
            self.db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path}: cannot write: {exc}") from None
        finally:
            with suppress(sqlite3.Error):
                self.db.execute("PRAGMA synchronous=NORMAL")
