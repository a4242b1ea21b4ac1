"""The delivery ledger: who has which message, so that each goes to each reader exactly once.

Its lines (a delivery in flight, delivered or failed, with the reader's name, language and
zone), the reservations of the batch about to go out, and the workspace's send lock; kept in
the journal file (`journal_file`) beside the calendar history.
"""

from __future__ import annotations

import fcntl
import json
import socket
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from zoneinfo import ZoneInfo

from announcer import clock
from announcer.errors import JournalError
from announcer.journal_file import (
    DATABASE_ERRORS,
    JOURNAL_PATH,
    Database,
    JournalFile,
    database_of,
    has_journal,
)
from announcer.journal_schema import HELD_BEFORE_THE_SERVER_STARTED, HOLDER_ID, LIVE_HOLDERS, Dialect
from announcer.kinds import has_event
from announcer.model.recipient import Recipient

# Deliveries as they stand, except those reserved in a batch when the machine itself went down
# (another boot) and not delivered since: the message may have gone after the last line that
# reached the disk, so they are in doubt. PostgreSQL: the server tells a crash by its own start,
# and such reservations are made lines in doubt before a run reads or claims (`_SETTLE_LOST`).
_LOST = {
    Dialect.SQLITE: (
        "SELECT reservations.key, reservations.recipient, reservations.at FROM reservations "
        "LEFT JOIN deliveries USING (key, recipient) WHERE boot != :boot AND NOT "
        "(coalesce(outcome, '') = 'delivered' AND deliveries.at >= reservations.at)"
    ),
    Dialect.POSTGRESQL: "SELECT key, recipient, at FROM reservations WHERE false",
}
_COLUMNS = "key, recipient, message_id, outcome, reply, at, name, language, timezone, sender"
_SETTLE_LOST = (
    f"INSERT INTO deliveries ({_COLUMNS}) "  # noqa: S608 (constants)
    "SELECT r.key, r.recipient, coalesce(d.message_id, ''), 'in-flight', :lost_reply, r.at, "
    "coalesce(d.name, ''), coalesce(d.language, ''), coalesce(d.timezone, ''), coalesce(d.sender, '') "
    "FROM reservations AS r LEFT JOIN deliveries AS d ON d.key = r.key AND d.recipient = r.recipient "
    f"WHERE {HELD_BEFORE_THE_SERVER_STARTED} "
    "AND NOT (coalesce(d.outcome, '') = 'delivered' AND d.at >= r.at) "
    "ON CONFLICT (key, recipient) DO UPDATE SET outcome = excluded.outcome, reply = excluded.reply, "
    "at = excluded.at"
)
_FORGET_LOST = f"DELETE FROM reservations WHERE {HELD_BEFORE_THE_SERVER_STARTED}"  # noqa: S608 (constants)
_SELECT = (
    "WITH lost AS ({lost}), "  # noqa: S608 (constants)
    f"standing AS (SELECT {_COLUMNS} "
    "FROM deliveries WHERE (key, recipient) NOT IN (SELECT key, recipient FROM lost) "
    "UNION ALL SELECT lost.key, lost.recipient, coalesce(deliveries.message_id, ''), 'in-flight', "
    ":lost_reply, lost.at, coalesce(deliveries.name, ''), coalesce(deliveries.language, ''), "
    "coalesce(deliveries.timezone, ''), coalesce(deliveries.sender, '') "
    "FROM lost LEFT JOIN deliveries USING (key, recipient)) "
    f"SELECT {_COLUMNS} FROM standing "
)
_SELECT_SOME = _SELECT + "WHERE key = :key AND recipient IN (SELECT value FROM {recipients})"  # noqa: S608
_SELECT_KEY_PREFIX = _SELECT + "WHERE substr(key, 1, :length) = :key ORDER BY key, at, recipient"
# A batch claimed for this run: free recipients, and those a run that is over left held (SQLite:
# the send lock makes every other run over; PostgreSQL: its session is gone).
_CLAIM = (
    "INSERT INTO reservations (key, recipient, boot, at) "
    "SELECT DISTINCT :key, value, :boot, :at FROM {recipients} WHERE true "
    "ON CONFLICT (key, recipient) DO UPDATE SET boot = excluded.boot, at = excluded.at "
)
_CLAIM_SHARED = (
    _CLAIM + "WHERE reservations.boot = excluded.boot "
    f"OR {HOLDER_ID.format(boot='reservations.boot')} NOT IN ({LIVE_HOLDERS}) "
    "RETURNING recipient"
)
_SELECT_TOLD = "SELECT key, value FROM meta WHERE key IN (SELECT value FROM {keys})"
_LOST_REPLY = (
    "reserved for sending when the machine stopped (a crash or power cut): whether it went is unknown"
)
_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_ON_CONFLICT = (
    " ON CONFLICT (key, recipient) DO UPDATE SET message_id = excluded.message_id, "
    "outcome = excluded.outcome, reply = excluded.reply, at = excluded.at, name = excluded.name, "
    "language = excluded.language, timezone = excluded.timezone, sender = excluded.sender"
)
_UPSERT_DELIVERY = f"INSERT INTO deliveries ({_COLUMNS}) VALUES {_ROW}{_ON_CONFLICT}"  # noqa: S608 (constants)
_ROWS_A_STATEMENT = 50  # within SQLite's oldest limit of 999 parameters


def _upsert(count: int) -> str:
    """One statement writing `count` lines: one round trip to a database server, not one each."""
    return f"INSERT INTO deliveries ({_COLUMNS}) VALUES {', '.join([_ROW] * count)}{_ON_CONFLICT}"  # noqa: S608


def _latest(rows: list[_Row]) -> list[_Row]:
    """Each recipient's last line only: what writing them all in turn would leave (one statement
    must not write a row twice)."""
    return list({(row[0], row[1]): row for row in rows}.values())


def _queries(dialect: Dialect) -> tuple[str, str, str, str]:
    """This dialect's reads of one batch and of a key prefix, its claim of a batch, and its read
    of the doubts told of a batch."""
    recipients = dialect.elements("recipients")
    lost = _LOST[dialect]
    claim = _CLAIM_SHARED if dialect is Dialect.POSTGRESQL else _CLAIM
    return (
        _SELECT_SOME.format(lost=lost, recipients=recipients),
        _SELECT_KEY_PREFIX.format(lost=lost),
        claim.format(recipients=recipients),
        _SELECT_TOLD.format(keys=dialect.elements("keys")),
    )


_Row = tuple[str, str, str, str, str, str, str, str, str, str]


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
    sender: str = ""  # the machine and workspace that sent it ("" in a journal before schema 5)

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
        # A shared journal needs no lock: runs of one send share its recipients (see `reserve`).
        self._lock_file = _send_lock(self.path.parent) if lock and database_of(workspace) is None else None
        try:
            self.file = JournalFile(workspace)
        except JournalError:
            if self._lock_file is not None:
                self._lock_file.close()
            raise
        self._db = self.file.db
        self._lock = self.file.lock
        self._waiting: list[_Row] = []  # lines for the next commit
        self._boot = self.file.holder or _boot_id()  # whose reservations: a session, or this boot
        self._select_some, self._select_prefix, self._claim, self._select_told = _queries(self.file.dialect)
        self.sender = sender_name(workspace)
        if self.shared:
            try:
                with self._lock, self._durably() as db:
                    self._settle_lost(db)
            except JournalError:
                self.file.close()
                raise

    def of_its_own(self) -> Ledger:
        """The same ledger through a connection of its own, for a forked process while this one
        holds the send lock (SQLite connections must not cross a fork)."""
        return Ledger(self.workspace, lock=False)

    @property
    def shared(self) -> bool:
        """Whether other machines send from this journal too (see `reserve`)."""
        return self.file.shared

    def close(self) -> None:
        """Close, writing what waits; if that fails, its recipient stays in flight: in doubt.
        A shared journal's reservations of this session go too (a killed one's are known dead)."""
        with suppress(JournalError):
            self.flush()
            if self.shared:
                with self._lock, self._durably() as db:
                    db.execute("DELETE FROM reservations WHERE boot = ?", (self._boot,))
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
        rows = self._standing(self._select_some, key=key, recipients=addresses)
        return {entry.recipient: entry for entry in map(_entry, rows)}

    def entries(self, key_prefix: str) -> Iterator[Entry]:
        """Every line whose key starts with `key_prefix`, in key and then time order."""
        yield from map(_entry, self._standing(self._select_prefix, length=len(key_prefix), key=key_prefix))

    def standing(self, db: Database) -> Iterator[tuple[object, ...]]:
        """Every line as it stands, in key order, read through `db` (a transaction the caller
        holds, with `file.lock`): a reservation a crash left is a line in doubt, as every read
        shows it, so that a copy of the ledger never forgets a doubt (`state export`)."""
        parameters = {"boot": self._boot, "lost_reply": _LOST_REPLY, "length": 0, "key": ""}
        yield from db.execute(self._select_prefix, parameters)

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
            try:
                rows = self._db.execute(query + " ORDER BY at", parameters).fetchall()
            except DATABASE_ERRORS as exc:
                raise JournalError(f"{self.file.name}: cannot read: {exc}") from None
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
            try:
                return self._db.execute(
                    query, {"boot": self._boot, "lost_reply": _LOST_REPLY, **parameters}
                ).fetchall()
            except DATABASE_ERRORS as exc:
                raise JournalError(f"{self.file.name}: cannot read: {exc}") from None

    def told(self, key: str, recipients: list[str]) -> set[tuple[str, str]]:
        """Of these recipients, the doubts a run has told already, as (address in lower case, the
        time of the line it told): each doubt is told once (see `mark_told`)."""
        keys = json.dumps([_told_key(key, recipient.lower()) for recipient in recipients])
        with self._lock:
            try:
                rows = self._db.execute(self._select_told, {"keys": keys}).fetchall()
            except DATABASE_ERRORS as exc:
                raise JournalError(f"{self.file.name}: cannot read: {exc}") from None
        return {(str(told).rsplit(" ", 1)[1], str(at)) for told, at in rows}

    def mark_told(self, key: str, doubts: Mapping[str, str]) -> None:
        """These doubts (address → the time of the line told) have been told to the user: later
        runs count them without telling them again, so a cron job that runs every few minutes
        says each once; a later doubt of the same reader, a line of another time, is told anew.

        Kept in `meta`, which every version of the journal has: a journal with these marks is
        read by an older announcer as before (it tells each doubt on every run, as it did)."""
        rows = [(_told_key(key, address), at) for address, at in doubts.items()]
        with self._lock:
            try:
                with self.file.transaction() as db:
                    db.executemany(
                        "INSERT INTO meta (key, value) VALUES (?, ?) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        rows,
                    )
            except DATABASE_ERRORS as exc:
                raise JournalError(f"{self.file.name}: cannot write: {exc}") from None

    def reserve(self, key: str, recipients: list[str]) -> list[str]:
        """Hold these recipients for the batch about to go out, on the disk itself (one fsync for
        the batch): if the machine goes down before their outcomes are synced, they are in doubt.

        Returns those this run holds (lower case): all of them, unless the journal is shared and
        a live run elsewhere holds some (they are its share); read their lines after this, as
        another run may have settled them before letting them go."""
        at = clock.utc_now().isoformat()
        addresses = json.dumps([recipient.lower() for recipient in recipients])
        parameters = {"key": key, "boot": self._boot, "at": at, "recipients": addresses}
        with self._lock, self._durably() as db:
            if self.shared:
                self._settle_lost(db)
            cursor = db.execute(self._claim, parameters)
            held = {str(row[0]) for row in cursor.fetchall()} if self.shared else None
        asked = dict.fromkeys(recipient.lower() for recipient in recipients)
        return [address for address in asked if held is None or address in held]

    @staticmethod
    def _settle_lost(db: Database) -> None:
        """PostgreSQL: a line commits to the server's memory, as SQLite's to the disk's cache, and
        a batch's reservation to its disk; the server down since a reservation was made, its
        recipient is in doubt unless delivered since (as after a machine's crash with SQLite)."""
        db.execute(_SETTLE_LOST, {"lost_reply": _LOST_REPLY})
        db.execute(_FORGET_LOST)

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
    ) -> str:
        """Record how this recipient's delivery stands (in flight, delivered, failed), and who
        they are; returns the line's time. A `Recipient`'s name, language and zone are kept, so
        that a later message to those who have the event greets them as this one did (an
        address alone keeps none).

        With `later`, the line waits for the ledger's next write (or `flush`, or `close`), and
        goes in the same commit: one commit a message instead of two, since the next message's
        "in flight" carries the last one's "delivered". A kill in between leaves the recipient
        in flight, in doubt, as a kill just before an immediate line would have: still at most
        one in doubt for each sending connection."""
        reader = recipient if isinstance(recipient, Recipient) else Recipient(recipient)
        at = clock.utc_now().isoformat()
        row = (
            key,
            reader.email.lower(),
            message_id,
            outcome.value,
            reply,
            at,
            reader.name or "",
            reader.language or "",
            reader.timezone.key if reader.timezone else "",
            self.sender,
        )
        with self._lock:
            if later:
                self._waiting.append(row)
            else:
                self._commit([*self._waiting, row])
        return at

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
            rows = _latest(rows)
            if 0 < len(rows) <= _ROWS_A_STATEMENT:  # one statement: a transaction of its own
                self._db.execute(_upsert(len(rows)), [value for row in rows for value in row])
            elif rows:
                with self.file.transaction() as db:
                    db.executemany(_UPSERT_DELIVERY, rows)
        except DATABASE_ERRORS as exc:
            raise JournalError(f"{self.file.name}: cannot write: {exc}") from None
        self._waiting.clear()

    @contextmanager
    def _durably(self) -> Iterator[Database]:
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


def _told_key(key: str, address: str) -> str:
    """The name in `meta` of the mark that a reader's doubt in a send was told (see `Ledger.told`)."""
    return f"told {key} {address}"


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
    key, recipient, message_id, outcome, reply, at, name, language, timezone, sender = row
    return Entry(key, recipient, message_id, Outcome(outcome), reply, at, name, language, timezone, sender)


def sender_name(workspace: Path) -> str:
    """Who sends, as each delivery records it: this machine and the workspace's folder, so that
    `status` shows each machine's part of a send shared by several."""
    return f"{socket.gethostname()}:{workspace.resolve()}"


def journal_entries(workspace: Path, uid: str) -> list[Entry]:
    """Every ledger line of one event, over all its sends, read without the send lock."""
    if not has_journal(workspace):
        return []
    with Ledger(workspace, lock=False) as ledger:
        return [entry for entry in ledger.entries("") if entry.uid == uid]


def sent_to(workspace: Path) -> dict[str, set[str]]:
    """Every address (lower case) a real send handed a message to, or may have, with the
    Message-IDs it was given: what a bounce or a complaint that names an address must quote.
    Read once, without the send lock."""
    if not has_journal(workspace):
        return {}
    found: dict[str, set[str]] = {}
    with Ledger(workspace, lock=False) as ledger, ledger._lock:
        rows = ledger._db.execute("SELECT recipient, message_id FROM deliveries WHERE outcome != 'failed'")
        for recipient, message_id in rows:
            found.setdefault(str(recipient), set()).add(str(message_id))
    return found


def mark_told(workspace: Path, key: str, doubts: Mapping[str, str]) -> None:
    """Mark these doubts of a send told (see `Ledger.mark_told`), once the user has read them."""
    with Ledger(workspace, lock=False) as ledger:
        ledger.mark_told(key, doubts)


def received(workspace: Path, uid: str) -> list[Recipient]:
    """Everyone the ledger says has (or may have) the event (see `Ledger.received`), read
    without the send lock; nobody if nothing was ever sent for real."""
    if not has_journal(workspace):
        return []
    with Ledger(workspace, lock=False) as ledger:
        return ledger.received(uid)
