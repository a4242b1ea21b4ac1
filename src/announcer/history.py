"""The calendar history: for each event's UID, what its last real send carried.

Its last SEQUENCE and schedule fingerprint, what it said of the event (and what an update's
readers had before), and whether it asked its readers to reply; only stored and returned here
(`lifecycle` decides the next SEQUENCE from them). Read by render, preview and dry runs, written
by a real send; kept in the journal file (`journal_file`) beside the delivery ledger.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from announcer import clock
from announcer.journal_file import JournalFile, has_journal

_UPSERT = (
    "INSERT INTO sequences (uid, sequence, fingerprint, snapshot) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (uid) DO UPDATE SET sequence = excluded.sequence, fingerprint = excluded.fingerprint, "
    "snapshot = excluded.snapshot"
)


class Sent(NamedTuple):
    """What the last real send of a UID carried: its SEQUENCE, schedule fingerprint and kind
    (the journal's word; "" where a journal of an earlier version did not keep it); read back,
    also what it said of the event, what an update's readers had before, whether it asked for
    replies, and when it was made. One row, read at once: another machine's send that settles
    meanwhile is seen whole or not at all."""

    sequence: int
    fingerprint: str
    kind: str = ""
    said: dict[str, str] = {}  # noqa: RUF012 (never mutated: a NamedTuple's default)
    before: dict[str, str] = {}  # noqa: RUF012
    rsvp: bool = False
    at: datetime | None = None


class CalendarHistory:
    """The calendar history in an open journal file (its own, or a send's, shared with the ledger)."""

    def __init__(self, file: JournalFile) -> None:
        self.file = file

    def last(self, uid: str) -> Sent | None:
        """What the last real send of this UID carried, if there was one."""
        with self.file.lock:
            row = self.file.db.execute(
                "SELECT sequence, fingerprint, snapshot FROM sequences WHERE uid = ?", (uid,)
            ).fetchone()
        if not row:
            return None
        told = json.loads(row[2]) if row[2] else {}
        told = told if isinstance(told, dict) else {}
        kind = told.get("kind")
        return Sent(
            int(row[0]),
            str(row[1]),
            kind if isinstance(kind, str) else "",
            _words(told.get("said")),
            _words(told.get("before")),
            told.get("rsvp") is True,
            _instant(told.get("at")),
        )

    def when(self, uid: str) -> datetime | None:
        """When the last real send of this UID was made (None if a journal of an earlier
        version did not keep it)."""
        last = self.last(uid)
        return last.at if last else None

    def settle(
        self,
        uid: str,
        sent: Sent,
        said: dict[str, str],
        before: dict[str, str],
        *,
        rsvp: bool = False,
    ) -> None:
        """Remember a real send (dry runs never call this): its SEQUENCE and fingerprint, what it
        said of the event, for an update what its readers had been told before, and whether it
        asked them to reply. Synced to the disk itself before the send's first message goes."""
        at = clock.utc_now().isoformat()
        told = json.dumps({"said": said, "before": before, "rsvp": rsvp, "kind": sent.kind, "at": at})
        with self.file.lock, self.file.durably() as db:
            db.execute(_UPSERT, (uid, sent.sequence, sent.fingerprint, told))

    def told(self, uid: str) -> tuple[dict[str, str], dict[str, str]]:
        """What the last real send of this UID said, and what an update's readers had before."""
        last = self.last(uid)
        return (last.said, last.before) if last else ({}, {})

    def asks_replies(self, uid: str) -> bool:
        """Whether a real send of this UID asked its readers to reply (`send --rsvp`)."""
        last = self.last(uid)
        return last is not None and last.rsvp


def _instant(at: object) -> datetime | None:
    try:
        return datetime.fromisoformat(at) if isinstance(at, str) else None
    except ValueError:
        return None


class NoHistory:
    """A workspace that has never sent for real: no event has a last send."""

    def last(self, uid: str) -> Sent | None:
        return None

    def told(self, uid: str) -> tuple[dict[str, str], dict[str, str]]:
        return {}, {}

    def asks_replies(self, uid: str) -> bool:
        return False

    def when(self, uid: str) -> datetime | None:
        return None


@contextmanager
def history(workspace: Path) -> Iterator[CalendarHistory | NoHistory]:
    """The calendar history read on its own (render, preview, dry runs: no send lock), or none
    if the workspace has no journal yet (none is created for reading)."""
    if not has_journal(workspace):
        yield NoHistory()
        return
    file = JournalFile(workspace)
    try:
        yield CalendarHistory(file)
    finally:
        file.close()


def _words(told: object) -> dict[str, str]:
    return {str(k): str(v) for k, v in told.items()} if isinstance(told, dict) else {}
