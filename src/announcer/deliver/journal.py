"""What was sent to whom: a SQLite journal that a kill at any instant leaves consistent."""

from __future__ import annotations

import fcntl
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Self

from announcer import clock
from announcer.errors import JournalError
from announcer.kinds import has_event

JOURNAL_PATH = Path(".announcer") / "journal.sqlite"

# Deliveries as they stand, except those reserved in a batch when the machine itself went down
# (another boot) and not delivered since: the message may have gone after the last line that
# reached the disk, so they are in doubt.
_SELECT = (
    "WITH lost AS (SELECT reservations.key, reservations.recipient, reservations.at FROM reservations "
    "LEFT JOIN deliveries USING (key, recipient) WHERE boot != :boot AND NOT "
    "(coalesce(outcome, '') = 'delivered' AND deliveries.at >= reservations.at)), "
    "standing AS (SELECT key, recipient, message_id, outcome, reply, at FROM deliveries "
    "WHERE (key, recipient) NOT IN (SELECT key, recipient FROM lost) "
    "UNION ALL SELECT lost.key, lost.recipient, coalesce(deliveries.message_id, ''), 'in-flight', "
    ":lost_reply, lost.at FROM lost LEFT JOIN deliveries USING (key, recipient)) "
    "SELECT key, recipient, message_id, outcome, reply, at FROM standing "
)
_SELECT_SOME = _SELECT + "WHERE key = :key AND recipient IN (SELECT value FROM json_each(:recipients))"  # noqa: S608 (constants)
_SELECT_KEY_PREFIX = _SELECT + "WHERE substr(key, 1, :length) = :key ORDER BY key, at, recipient"
_LOST_REPLY = (
    "reserved for sending when the machine stopped (a crash or power cut): whether it went is unknown"
)
_UPSERT_DELIVERY = (
    "INSERT INTO deliveries (key, recipient, message_id, outcome, reply, at) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (key, recipient) DO UPDATE SET message_id = excluded.message_id, "
    "outcome = excluded.outcome, reply = excluded.reply, at = excluded.at"
)
_UPSERT_SEQUENCE = (
    "INSERT INTO sequences (uid, sequence, fingerprint, snapshot) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (uid) DO UPDATE SET sequence = excluded.sequence, fingerprint = excluded.fingerprint, "
    "snapshot = excluded.snapshot"
)
SCHEMA_VERSION = 2  # 1 had no reservations: the same tables otherwise, upgraded in place
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    key TEXT NOT NULL,
    recipient TEXT NOT NULL,
    message_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reply TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (key, recipient)
);
CREATE TABLE IF NOT EXISTS sequences (
    uid TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    snapshot TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS reservations (
    key TEXT NOT NULL,
    recipient TEXT NOT NULL,
    boot TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (key, recipient)
);
"""


class Outcome(StrEnum):
    IN_FLIGHT = "in-flight"  # marked before the message goes out; after a crash: in doubt
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Entry:
    """One recipient's line in the journal."""

    key: str
    recipient: str
    message_id: str
    outcome: Outcome
    reply: str
    at: str

    @property
    def kind(self) -> str:
        return self.key.split(":", 1)[0]

    @property
    def uid(self) -> str:
        return self.key.split(":", 1)[1].rsplit(":", 1)[0]

    @property
    def sequence(self) -> int:
        return int(self.key.rsplit(":", 1)[1])


class Journal:
    """The journal of one workspace; every change is committed before it returns (but a line
    `record`ed for later, which goes with the next).

    Commits reach the disk's cache at once, so a process killed at any instant loses none
    (SQLite's WAL with synchronous=NORMAL); only a batch's reservation, and the settling of a
    send, wait for the disk itself (one fsync), so that a crash of the machine leaves at most
    that batch in doubt and never sends anything twice. Safe to share between sending threads.
    Opened for a send it also holds the workspace's send lock, so two sends cannot overlap.
    """

    def __init__(self, workspace: Path, *, lock: bool = True) -> None:
        self.workspace = workspace
        self.path = workspace / JOURNAL_PATH
        self._lock_file = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if lock:
                self._lock_file = (self.path.parent / "send.lock").open("w")
                try:
                    fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    self._lock_file.close()
                    raise JournalError(
                        f"{self.path.parent}: another send is running in this workspace"
                    ) from None
            if self.path.exists() and self.path.stat().st_size == 0:
                raise JournalError(
                    f"{self.path}: the journal is empty, so it cannot say who already has which message "
                    "(was it truncated?); restore it from a backup, or move it away to start afresh "
                    "(then everyone receives the next send)"
                )
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._lock = threading.Lock()
            self._waiting: list[tuple[str, str, str, str, str, str]] = []  # lines for the next commit
            self._boot = _boot_id()
            self._check_schema()
        except (sqlite3.Error, OSError, JournalError) as exc:
            if self._lock_file is not None:
                self._lock_file.close()
            if isinstance(exc, JournalError):
                raise
            raise JournalError(f"{self.path}: cannot open the journal: {exc}") from None

    def _check_schema(self) -> None:
        """Create the tables of a new journal; refuse one written in a form this version cannot read."""
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        known = {"meta", "deliveries", "sequences", "reservations"}
        if tables - known:
            raise JournalError(
                f"{self.path}: not an announcer journal (it holds {', '.join(sorted(tables - known))})"
            )
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(sequences)")}
        if "snapshot" not in columns:  # a journal of 0.1: what was sent is not known, only when
            self._db.execute("ALTER TABLE sequences ADD COLUMN snapshot TEXT NOT NULL DEFAULT '{}'")
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        version = int(row[0]) if row else None
        if version in (None, 1):  # new, or from before reservations (created above): ours from now on
            self._db.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
            )
        elif version != SCHEMA_VERSION:
            raise JournalError(
                f"{self.path}: written by another version of announcer (journal schema {version}, "
                f"this one reads {SCHEMA_VERSION}); use that version, or move the journal away"
            )

    def of_its_own(self) -> Journal:
        """The same journal through a connection of its own, for a forked process while this one
        holds the send lock (SQLite connections must not cross a fork)."""
        return Journal(self.workspace, lock=False)

    def close(self) -> None:
        """Close, writing what waits; if that fails, its recipient stays in flight: in doubt."""
        with suppress(JournalError):
            self.flush()
        self._db.close()
        if self._lock_file is not None:
            self._lock_file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def entry(self, key: str, recipient: str) -> Entry | None:
        return self.entries_of(key, [recipient]).get(recipient.lower())

    def entries_of(self, key: str, recipients: list[str]) -> dict[str, Entry]:
        """The lines of these recipients (a batch of them, in one query), by address in lower case."""
        addresses = json.dumps([recipient.lower() for recipient in recipients])
        rows = self._standing(_SELECT_SOME, key=key, recipients=addresses)
        return {entry.recipient: entry for entry in map(_entry, rows)}

    def entries(self, key_prefix: str) -> Iterator[Entry]:
        """Every line whose key starts with `key_prefix`, in key and then time order."""
        yield from map(_entry, self._standing(_SELECT_KEY_PREFIX, length=len(key_prefix), key=key_prefix))

    def _standing(self, query: str, **parameters: object) -> list[tuple[str, str, str, str, str, str]]:
        """The rows of a query over the deliveries as they stand (see `_SELECT`), lines that
        wait included."""
        with self._lock:
            self._commit(self._waiting)
            return self._db.execute(
                query, {"boot": self._boot, "lost_reply": _LOST_REPLY, **parameters}
            ).fetchall()

    def reserve(self, key: str, recipients: list[str]) -> None:
        """Hold these recipients for the batch about to go out, on the disk itself (one fsync for
        the batch): if the machine goes down before their outcomes are synced, they are in doubt."""
        at = clock.utc_now().isoformat()
        rows = [(key, recipient.lower(), self._boot, at) for recipient in recipients]
        with self._lock, self._durably():
            self._db.executemany(
                "INSERT INTO reservations (key, recipient, boot, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key, recipient) DO UPDATE SET boot = excluded.boot, at = excluded.at",
                rows,
            )

    def release(self, key: str) -> None:
        """The run is over: its reservations go (durably, so every outcome before them is synced too)."""
        with self._lock, self._durably():
            self._db.execute("DELETE FROM reservations WHERE key = ? AND boot = ?", (key, self._boot))

    def record(
        self, key: str, recipient: str, message_id: str, outcome: Outcome, reply: str, *, later: bool = False
    ) -> None:
        """Record how this recipient's delivery stands (in flight, delivered, failed).

        With `later`, the line waits for the journal's next write (or `flush`, or `close`), and
        goes in the same commit: one commit a message instead of two, since the next message's
        "in flight" carries the last one's "delivered". A kill in between leaves the recipient
        in flight, in doubt, as a kill just before an immediate line would have: still at most
        one in doubt for each sending connection."""
        row = (key, recipient.lower(), message_id, outcome.value, reply, clock.utc_now().isoformat())
        with self._lock:
            if later:
                self._waiting.append(row)
            else:
                self._commit([*self._waiting, row])

    def unwritten(self) -> list[Entry]:
        """The lines recorded and not yet written: all of them, after a write failed (they stay,
        and go with the next write that works)."""
        with self._lock:
            return [_entry(row) for row in self._waiting]

    def flush(self) -> None:
        """Write the lines that wait (see `record`)."""
        with self._lock:
            self._commit(self._waiting)

    def _commit(self, rows: list[tuple[str, str, str, str, str, str]]) -> None:
        """These lines in one transaction, then none waits (the caller holds the lock)."""
        try:
            if len(rows) == 1:
                self._db.execute(_UPSERT_DELIVERY, rows[0])  # one statement: a transaction of its own
            elif rows:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.executemany(_UPSERT_DELIVERY, rows)
                except BaseException:
                    self._roll_back()
                    raise
                self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path}: cannot write: {exc}") from None
        self._waiting.clear()

    def _roll_back(self) -> None:
        """End the transaction a statement failed in, unless SQLite already has: on a full disk
        (SQLITE_FULL) or an I/O error it rolls back itself, and a ROLLBACK then would fail in
        place of the error that says why."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    @contextmanager
    def _durably(self) -> Iterator[None]:
        """One transaction, synced to the disk itself before it returns (other writes reach its cache)."""
        try:
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany(_UPSERT_DELIVERY, self._waiting)
                yield
            except BaseException:
                self._roll_back()
                raise
            self._db.execute("COMMIT")
            self._waiting.clear()
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path}: cannot write: {exc}") from None
        finally:
            with suppress(sqlite3.Error):
                self._db.execute("PRAGMA synchronous=NORMAL")

    def sequence(self, uid: str, fingerprint: str) -> int:
        """The SEQUENCE a send of this event carries: one more than last time if it changed since."""
        row = self._db.execute("SELECT sequence, fingerprint FROM sequences WHERE uid = ?", (uid,)).fetchone()
        if row is None:
            return 0
        last, last_fingerprint = int(row[0]), str(row[1])
        return last if last_fingerprint == fingerprint else last + 1

    def fingerprint(self, uid: str) -> str | None:
        """What the last real send of this UID settled, if any."""
        row = self._db.execute("SELECT fingerprint FROM sequences WHERE uid = ?", (uid,)).fetchone()
        return str(row[0]) if row else None

    def settle_sequence(
        self,
        uid: str,
        sequence: int,
        fingerprint: str,
        said: dict[str, str],
        before: dict[str, str],
        *,
        rsvp: bool = False,
    ) -> None:
        """Remember a real send (dry runs never call this): its SEQUENCE and fingerprint, what it
        said of the event, for an update what its readers had been told before, and whether it
        asked them to reply."""
        told = json.dumps({"said": said, "before": before, "rsvp": rsvp})
        with self._lock, self._durably():
            self._db.execute(_UPSERT_SEQUENCE, (uid, sequence, fingerprint, told))

    def _snapshot(self, uid: str) -> dict[str, object]:
        row = self._db.execute("SELECT snapshot FROM sequences WHERE uid = ?", (uid,)).fetchone()
        told = json.loads(row[0]) if row else {}
        return told if isinstance(told, dict) else {}

    def told(self, uid: str) -> tuple[dict[str, str], dict[str, str]]:
        """What the last real send of this UID said, and what an update's readers had before."""
        told = self._snapshot(uid)
        said, before = told.get("said"), told.get("before")
        return _words(said), _words(before)

    def asks_replies(self, uid: str) -> bool:
        """Whether a real send of this UID asked its readers to reply (`send --rsvp`)."""
        return self._snapshot(uid).get("rsvp") is True


def _boot_id() -> str:
    """This boot of the machine (Linux); elsewhere a value of this process alone, so that every
    reservation an earlier process left counts as in doubt."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return f"process-{uuid.uuid4()}"


def _words(told: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in told.items()} if isinstance(told, dict) else {}


def _entry(row: tuple[str, str, str, str, str, str]) -> Entry:
    key, recipient, message_id, outcome, reply, at = row
    return Entry(key, recipient, message_id, Outcome(outcome), reply, at)


def journal_entries(workspace: Path, uid: str) -> list[Entry]:
    """Every journal line of one event, over all its sends, read without the send lock."""
    if not (workspace / JOURNAL_PATH).exists():
        return []
    with Journal(workspace, lock=False) as journal:
        return [entry for entry in journal.entries("") if entry.uid == uid]


class _NoHistory:
    """A workspace that has never sent for real: every event is at SEQUENCE 0."""

    def sequence(self, uid: str, fingerprint: str) -> int:
        return 0

    def fingerprint(self, uid: str) -> str | None:
        return None

    def told(self, uid: str) -> tuple[dict[str, str], dict[str, str]]:
        return {}, {}

    def asks_replies(self, uid: str) -> bool:
        return False


@contextmanager
def history(workspace: Path) -> Iterator[Journal | _NoHistory]:
    """The journal read without the send lock (render, preview, dry runs); empty if there is none."""
    if not (workspace / JOURNAL_PATH).exists():
        yield _NoHistory()
        return
    with Journal(workspace, lock=False) as journal:
        yield journal


def received(workspace: Path, uid: str) -> list[str]:
    """Everyone the journal says has (or may have) a message of this event, in the order first sent."""
    seen: dict[str, None] = {}
    for entry in journal_entries(workspace, uid):
        if entry.outcome is not Outcome.FAILED and has_event(entry.kind):
            seen.setdefault(entry.recipient, None)
    return list(seen)
