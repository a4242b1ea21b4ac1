"""The delivery ledger: who has which message, so that each goes to each reader exactly once.

Its lines (a delivery in flight, delivered or failed, with the reader's name, language and
zone), the reservations of the batch about to go out, and the workspace's send lock; kept in
the journal file (`journal_file`) beside the calendar history.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from zoneinfo import ZoneInfo

from announcer import clock
from announcer.errors import JournalError
from announcer.journal_file import JOURNAL_PATH, JournalFile
from announcer.kinds import has_event
from announcer.model.recipient import Recipient

# Deliveries as they stand, except those reserved in a batch when the machine itself went down
# (another boot) and not delivered since: the message may have gone after the last line that
# reached the disk, so they are in doubt.
_SELECT = (
    "WITH lost AS (SELECT reservations.key, reservations.recipient, reservations.at FROM reservations "
    "LEFT JOIN deliveries USING (key, recipient) WHERE boot != :boot AND NOT "
    "(coalesce(outcome, '') = 'delivered' AND deliveries.at >= reservations.at)), "
    "standing AS (SELECT key, recipient, message_id, outcome, reply, at, name, language, timezone "
    "FROM deliveries WHERE (key, recipient) NOT IN (SELECT key, recipient FROM lost) "
    "UNION ALL SELECT lost.key, lost.recipient, coalesce(deliveries.message_id, ''), 'in-flight', "
    ":lost_reply, lost.at, coalesce(deliveries.name, ''), coalesce(deliveries.language, ''), "
    "coalesce(deliveries.timezone, '') FROM lost LEFT JOIN deliveries USING (key, recipient)) "
    "SELECT key, recipient, message_id, outcome, reply, at, name, language, timezone FROM standing "
)
_SELECT_SOME = _SELECT + "WHERE key = :key AND recipient IN (SELECT value FROM json_each(:recipients))"  # noqa: S608 (constants)
_SELECT_KEY_PREFIX = _SELECT + "WHERE substr(key, 1, :length) = :key ORDER BY key, at, recipient"
_LOST_REPLY = (
    "reserved for sending when the machine stopped (a crash or power cut): whether it went is unknown"
)
_UPSERT_DELIVERY = (
    "INSERT INTO deliveries (key, recipient, message_id, outcome, reply, at, name, language, timezone) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (key, recipient) DO UPDATE SET message_id = excluded.message_id, "
    "outcome = excluded.outcome, reply = excluded.reply, at = excluded.at, name = excluded.name, "
    "language = excluded.language, timezone = excluded.timezone"
)
_Row = tuple[str, str, str, str, str, str, str, str, str]


class Outcome(StrEnum):
    IN_FLIGHT = "in-flight"  # marked before the message goes out; after a crash: in doubt
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True)
class Entry:
    """One recipient's line in the ledger: how their delivery stands, and who they are."""

    key: str
    recipient: str  # the address, in lower case
    message_id: str
    outcome: Outcome
    reply: str
    at: str
    name: str = ""  # as the list wrote it when the message went ("" if it had none, or a journal of 2)
    language: str = ""  # the reader's own language tag ("" if they had none)
    timezone: str = ""  # the reader's own zone's key ("" if they had none)

    @property
    def kind(self) -> str:
        return self.key.split(":", 1)[0]

    @property
    def uid(self) -> str:
        return self.key.split(":", 1)[1].rsplit(":", 1)[0]

    @property
    def sequence(self) -> int:
        return int(self.key.rsplit(":", 1)[1])

    @property
    def reader(self) -> Recipient:
        """The reader as the message found them, to be written to again as they were then."""
        return Recipient(
            self.recipient, self.name or None, language=self.language or None, timezone=_zone(self.timezone)
        )


class Ledger:
    """The delivery ledger of one workspace; every change is committed before it returns (but a
    line `record`ed for later, which goes with the next).

    Only a batch's reservation, and the settling of a send, wait for the disk itself (one
    fsync), so that a crash of the machine leaves at most that batch in doubt and never sends
    anything twice. Safe to share between sending threads. Opened for a send it also holds the
    workspace's send lock, so two sends cannot overlap; the calendar history may share its file
    (`file`).
    """

    def __init__(self, workspace: Path, *, lock: bool = True) -> None:
        self.workspace = workspace
        self.path = workspace / JOURNAL_PATH
        self._lock_file = _send_lock(self.path.parent) if lock else None
        try:
            self.file = JournalFile(workspace)
        except JournalError:
            if self._lock_file is not None:
                self._lock_file.close()
            raise
        self._db = self.file.db
        self._lock = self.file.lock
        self._waiting: list[_Row] = []  # lines for the next commit
        self._boot = _boot_id()

    def of_its_own(self) -> Ledger:
        """The same ledger through a connection of its own, for a forked process while this one
        holds the send lock (SQLite connections must not cross a fork)."""
        return Ledger(self.workspace, lock=False)

    def close(self) -> None:
        """Close, writing what waits; if that fails, its recipient stays in flight: in doubt."""
        with suppress(JournalError):
            self.flush()
        self.file.close()
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

    def received(self, uid: str) -> list[Recipient]:
        """Everyone the ledger says has (or may have) a message of this event, in the order
        first sent, each as their latest such message found them (name, language, zone)."""
        seen: dict[str, Recipient] = {}
        for entry in self.entries(""):
            if entry.uid == uid and entry.outcome is not Outcome.FAILED and has_event(entry.kind):
                known = seen.get(entry.recipient)
                if known is None or entry.name or entry.language or entry.timezone:
                    seen[entry.recipient] = entry.reader  # a line of schema 2 never hides one that knows
        return list(seen.values())

    def readers(self, address: str | None = None) -> dict[str, Recipient]:
        """Everyone the ledger has a line of (or the one `address`), by address in lower case,
        each as their latest line found them (name, language, zone): who a token names, in the
        language their messages were written in."""
        query = "SELECT recipient, name, language, timezone FROM deliveries"
        parameters: tuple[str, ...] = ()
        if address is not None:
            query += " WHERE recipient = ?"
            parameters = (address.lower(),)
        with self._lock:
            self._commit(self._waiting)
            rows = self._db.execute(query + " ORDER BY at", parameters).fetchall()
        found: dict[str, Recipient] = {}
        for recipient, name, language, timezone in rows:
            if (
                recipient not in found or name or language or timezone
            ):  # a line of schema 2 never hides one that knows
                found[recipient] = Entry(
                    "", recipient, "", Outcome.DELIVERED, "", "", name, language, timezone
                ).reader
        return found

    def _standing(self, query: str, **parameters: object) -> list[_Row]:
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
        with self._lock, self._durably() as db:
            db.executemany(
                "INSERT INTO reservations (key, recipient, boot, at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (key, recipient) DO UPDATE SET boot = excluded.boot, at = excluded.at",
                rows,
            )

    def release(self, key: str) -> None:
        """The run is over: its reservations go (durably, so every outcome before them is synced too)."""
        with self._lock, self._durably() as db:
            db.execute("DELETE FROM reservations WHERE key = ? AND boot = ?", (key, self._boot))

    def record(
        self,
        key: str,
        recipient: Recipient | str,
        message_id: str,
        outcome: Outcome,
        reply: str,
        *,
        later: bool = False,
    ) -> None:
        """Record how this recipient's delivery stands (in flight, delivered, failed), and who
        they are: a `Recipient`'s name, language and zone are kept, so that a later message to
        those who have the event greets them as this one did (an address alone keeps none).

        With `later`, the line waits for the ledger's next write (or `flush`, or `close`), and
        goes in the same commit: one commit a message instead of two, since the next message's
        "in flight" carries the last one's "delivered". A kill in between leaves the recipient
        in flight, in doubt, as a kill just before an immediate line would have: still at most
        one in doubt for each sending connection."""
        reader = recipient if isinstance(recipient, Recipient) else Recipient(recipient)
        row = (
            key,
            reader.email.lower(),
            message_id,
            outcome.value,
            reply,
            clock.utc_now().isoformat(),
            reader.name or "",
            reader.language or "",
            reader.timezone.key if reader.timezone else "",
        )
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

    def _commit(self, rows: list[_Row]) -> None:
        """These lines in one transaction, then none waits (the caller holds the lock)."""
        try:
            if len(rows) == 1:
                self._db.execute(_UPSERT_DELIVERY, rows[0])  # one statement: a transaction of its own
            elif rows:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    self._db.executemany(_UPSERT_DELIVERY, rows)
                except BaseException:
                    self.file.roll_back()
                    raise
                self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            raise JournalError(f"{self.path}: cannot write: {exc}") from None
        self._waiting.clear()

    @contextmanager
    def _durably(self) -> Iterator[sqlite3.Connection]:
        """One transaction synced to the disk itself, carrying the lines that wait (the caller
        holds the lock): they are done waiting once it commits."""
        with self.file.durably() as db:
            db.executemany(_UPSERT_DELIVERY, self._waiting)
            yield db
        self._waiting.clear()


def _send_lock(folder: Path) -> IO[str]:
    """The workspace's send lock, held until the file closes: a second send is refused at once."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        held = (folder / "send.lock").open("w")
    except OSError as exc:
        raise JournalError(f"{folder / JOURNAL_PATH.name}: cannot open the journal: {exc}") from None
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        held.close()
        raise JournalError(f"{folder}: another send is running in this workspace") from None
    return held


def _boot_id() -> str:
    """This boot of the machine (Linux); elsewhere a value of this process alone, so that every
    reservation an earlier process left counts as in doubt."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text(encoding="ascii").strip()
    except OSError:
        return f"process-{uuid.uuid4()}"


def _zone(key: str) -> ZoneInfo | None:
    """A zone kept by its key; one this machine no longer knows is none (the event's alone shows)."""
    if not key:
        return None
    try:
        return ZoneInfo(key)
    except (ValueError, LookupError):
        return None


def _entry(row: _Row) -> Entry:
    key, recipient, message_id, outcome, reply, at, name, language, timezone = row
    return Entry(key, recipient, message_id, Outcome(outcome), reply, at, name, language, timezone)


def journal_entries(workspace: Path, uid: str) -> list[Entry]:
    """Every ledger line of one event, over all its sends, read without the send lock."""
    if not (workspace / JOURNAL_PATH).exists():
        return []
    with Ledger(workspace, lock=False) as ledger:
        return [entry for entry in ledger.entries("") if entry.uid == uid]


def sent_to(workspace: Path) -> set[str]:
    """Every address (lower case) a real send handed a message to, or may have: what a bounce
    or a complaint that names an address is checked against. Read once, without the send lock."""
    if not (workspace / JOURNAL_PATH).exists():
        return set()
    with Ledger(workspace, lock=False) as ledger, ledger._lock:
        rows = ledger._db.execute("SELECT DISTINCT recipient FROM deliveries WHERE outcome != 'failed'")
        return {str(row[0]) for row in rows}


def received(workspace: Path, uid: str) -> list[Recipient]:
    """Everyone the ledger says has (or may have) the event (see `Ledger.received`), read
    without the send lock; nobody if nothing was ever sent for real."""
    if not (workspace / JOURNAL_PATH).exists():
        return []
    with Ledger(workspace, lock=False) as ledger:
        return ledger.received(uid)
