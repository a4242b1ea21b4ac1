"""The audience ledger: per list and address, who left (unsubscribed, complained, removed by
hand), who bounces, and how each came to be; every sending verb leaves those out.

Kept in the journal file (`journal_file`) beside the deliveries, so one file holds the one
truth of a workspace and a kill at any instant leaves it whole. Every change is one committed
transaction, and saying the same thing twice changes nothing (a one-click POST repeated by a
mail client, a DSN read again after a kill), so each is safe to repeat.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from types import TracebackType
from typing import Any

from announcer import clock
from announcer.audience import bounces
from announcer.errors import JournalError
from announcer.journal_file import DATABASE_ERRORS, Database, JournalFile, has_journal
from announcer.journal_schema import AUDIENCE_LOCK
from announcer.model.settings import Settings
from announcer.model.text import shown_safely

MAX_ADDRESS = 320  # RFC 3696's longest address; anything longer is not one
MAX_DETAIL = 300  # characters kept of a reason or a DSN's diagnostic


class State(StrEnum):
    """Where an address stands on a list: subscribed, or left out for one of four reasons."""

    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"  # the reader asked (one-click, the page, the mailto)
    COMPLAINED = "complained"  # marked a message as spam (an ARF report)
    BOUNCING = "bouncing"  # the bounce score reached the threshold (see `bounces`)
    REMOVED = "removed"  # by the organiser, by hand


class How(StrEnum):
    """How a change came: what `audience list` and the log say."""

    ONE_CLICK = "one-click"  # RFC 8058: the mail client's own button, a POST
    WEB_PAGE = "web page"  # the button on the unsubscribe page
    MAILTO = "mailto"  # a message to the list's unsubscribe address
    COMPLAINT = "complaint"  # an ARF report from the reader's provider
    BOUNCE = "bounce"  # a delivery status notification
    BY_HAND = "by hand"  # `announcer audience remove/restore`
    IMPORT = "import"  # `announcer audience import`


# Whose word undoes what: the reader's own (the page's "undo", a new subscription) restores
# what the reader did; only the organiser restores an address that bounces or that they removed.
_READER_MAY_UNDO = frozenset({State.UNSUBSCRIBED, State.COMPLAINED})


@dataclass(frozen=True)
class Standing:
    """One address's standing on one list."""

    list_id: str
    address: str  # in lower case
    state: State
    how: str
    reason: str
    at: str  # ISO 8601, UTC, to the second
    score: float = 0.0  # the bounce score when it was last counted (see `bounces`)
    scored_at: str = ""

    @property
    def left_out(self) -> bool:
        return self.state is not State.SUBSCRIBED

    def described(self) -> str:
        """`asa@example.org  unsubscribed since … (one-click)`: as `audience list` and a send say it."""
        score = f"  bounce score {self.score:g}" if self.score else ""
        why = f": {self.reason}" if self.reason else ""
        return f"{self.address}  {self.state.value} since {self.at} ({self.how}{why}){score}"


@dataclass(frozen=True)
class LogLine:
    """One change as it came, kept for `audience log`."""

    list_id: str
    address: str
    state: State
    how: str
    detail: str
    at: str


_COLUMNS = "list, address, state, how, reason, at, score, scored_at"
_UPSERT = (
    f"INSERT INTO standings ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "  # noqa: S608 (constants)
    "ON CONFLICT (list, address) DO UPDATE SET state = excluded.state, how = excluded.how, "
    "reason = excluded.reason, at = excluded.at, score = excluded.score, scored_at = excluded.scored_at"
)


def _now() -> str:
    return clock.utc_now().isoformat(timespec="seconds")


def _address(address: str) -> str:
    """An address as the ledger keys it; one too long to be an address is refused."""
    key = address.strip().lower()
    if not key or len(key) > MAX_ADDRESS or "@" not in key:
        raise ValueError(f"{shown_safely(address, 60)!r} is not an email address")
    return key


def _detail(text: str) -> str:
    return shown_safely(text, MAX_DETAIL)


class AudienceLedger:
    """The standings of one list of a workspace, and the tokens that name its readers."""

    def __init__(self, file: JournalFile, list_id: str) -> None:
        self.file = file
        self.list_id = list_id
        self._db = file.db
        self._lock = file.lock
        self._within: int | None = None  # the thread inside `claim`'s transaction

    def standing(self, address: str) -> Standing | None:
        """Where one address stands, or None if the ledger never heard of it (subscribed)."""
        rows = self._query(
            f"SELECT {_COLUMNS} FROM standings WHERE list = ? AND address = ?",  # noqa: S608 (constants)
            (self.list_id, _address(address)),
        )
        return _standing(rows[0]) if rows else None

    def left_out(self) -> dict[str, Standing]:
        """Every address the list's sends leave out, by address (lower case): read once a send."""
        rows = self._query(
            f"SELECT {_COLUMNS} FROM standings WHERE list = ? AND state != 'subscribed'",  # noqa: S608
            (self.list_id,),
        )
        return {str(row[1]): _standing(row) for row in rows}

    def standings(self) -> list[Standing]:
        """Every address the ledger knows on this list, left out or not, by address."""
        rows = self._query(
            f"SELECT {_COLUMNS} FROM standings WHERE list = ? ORDER BY address",  # noqa: S608 (constants)
            (self.list_id,),
        )
        return [_standing(row) for row in rows]

    def log(self, address: str | None = None) -> list[LogLine]:
        """The changes as they came, oldest first: of one address, or of the whole list."""
        query = "SELECT list, address, state, how, detail, at FROM audience_log WHERE list = ?"
        parameters: tuple[str, ...] = (self.list_id,)
        if address is not None:
            query += " AND address = ?"
            parameters += (_address(address),)
        rows = self._query(query + " ORDER BY id", parameters)
        return [LogLine(row[0], row[1], State(row[2]), row[3], row[4], row[5]) for row in rows]

    def unsubscribe(self, address: str, how: How, detail: str = "") -> Standing:
        """The reader leaves the list; a repeat changes nothing (an address that bounces or was
        removed is now left out at the reader's own word, which outlives a restore by hand)."""
        return self.mark(address, State.UNSUBSCRIBED, how, detail, unless={State.COMPLAINED})

    def complain(self, address: str, detail: str = "") -> Standing:
        """A spam complaint: left out at once, whatever else stood."""
        return self.mark(address, State.COMPLAINED, How.COMPLAINT, detail)

    def remove(self, address: str, reason: str) -> Standing:
        """The organiser leaves an address out, by hand."""
        return self.mark(address, State.REMOVED, How.BY_HAND, reason)

    def restore(self, address: str, how: How, reason: str = "") -> Standing:
        """The address is on the list again: by the organiser's hand from any state; by the
        reader's own word (the page's undo) only from what the reader did, so a link in an old
        message cannot bring back an address that bounces or that the organiser removed."""
        key = _address(address)
        with self._writing() as db:
            current = self._current(db, key)
            by_reader = how not in (How.BY_HAND, How.IMPORT)
            if (
                current is None
                or not current.left_out
                or (by_reader and current.state not in _READER_MAY_UNDO)
            ):
                return current or Standing(self.list_id, key, State.SUBSCRIBED, "", "", "")
            restored = Standing(self.list_id, key, State.SUBSCRIBED, how, _detail(reason), _now())
            self._write(db, restored, reason)
            return restored

    def bounce(self, address: str, status: str, diagnostic: str = "") -> Standing:
        """A bounce of an RFC 3463 `status` ("" if the report gave none) counted (see `bounces`):
        the address is left out once its score reaches the threshold."""
        key = _address(address)
        with self._writing() as db:
            current = self._current(db, key) or Standing(self.list_id, key, State.SUBSCRIBED, "", "", "")
            now = clock.utc_now()
            since = datetime.fromisoformat(current.scored_at) if current.scored_at else None
            score, counted = bounces.scored(current.score, since, status, now)
            if not counted:
                return current
            detail = _detail(f"{status or 'unknown status'}: {diagnostic}" if diagnostic else status)
            standing = replace(current, score=round(score, 4), scored_at=now.isoformat(timespec="seconds"))
            if current.state is State.SUBSCRIBED and score >= bounces.THRESHOLD:
                standing = replace(
                    standing, state=State.BOUNCING, how=How.BOUNCE.value, reason=detail, at=standing.scored_at
                )
            db.execute(_UPSERT, _row(standing))
            db.execute(
                "INSERT INTO audience_log (list, address, state, how, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
                (self.list_id, key, standing.state.value, How.BOUNCE.value, detail, standing.scored_at),
            )
            return standing

    def learn(self, tokens: Iterable[tuple[str, str]]) -> None:
        """Remember which address each token (of an unsubscribe URL, of a VERP address) names."""
        rows = [(token, _address(address)) for token, address in tokens]
        if rows:
            with self._writing() as db:
                db.executemany(
                    "INSERT INTO tokens (token, address) VALUES (?, ?) ON CONFLICT DO NOTHING", rows
                )

    def address_of(self, token: str) -> str | None:
        """The address a token names, if the workspace ever sent one carrying it."""
        if not (0 < len(token) <= 64):
            return None
        rows = self._query("SELECT address FROM tokens WHERE token = ?", (token,))
        return str(rows[0][0]) if rows else None

    def claim(
        self, message: str, outcome: str, change: Callable[[AudienceLedger], object] | None = None
    ) -> bool:
        """Record that a message (by a key of the caller's: its Message-ID, a digest) was
        handled; False if it already was, so each is handled once however often `inbox` runs.

        `change` (a bounce, a complaint) is made in the same transaction as the record, so a
        kill leaves the message handled with its change, or neither: never counted twice."""
        with self._writing() as db:
            cursor = db.execute(
                "INSERT INTO handled (message, outcome, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (message[:500], _detail(outcome), _now()),
            )
            if cursor.rowcount != 1:
                return False
            if change is not None:
                self._within = threading.get_ident()
                try:
                    change(self)
                finally:
                    self._within = None
            return True

    def together(self, changes: Callable[[AudienceLedger], object]) -> None:
        """Several changes in one transaction, committed once: a burst of them costs one commit
        (serve's one-click POSTs, see `serve.batches`). A failure leaves none of them made."""
        with self._writing():
            self._within = threading.get_ident()
            try:
                changes(self)
            finally:
                self._within = None

    def was_handled(self, message: str) -> bool:
        return self.handled_as(message) is not None

    def handled_as(self, message: str) -> str | None:
        """The outcome a message was handled with (see `claim`), or None if it was not."""
        rows = self._query("SELECT outcome FROM handled WHERE message = ?", (message[:500],))
        return str(rows[0][0]) if rows else None

    def mark(
        self,
        address: str,
        state: State,
        how: How,
        detail: str = "",
        *,
        unless: frozenset[State] | set[State] = frozenset(),
    ) -> Standing:
        """Leave the address out as `state`; already so (or in a state of `unless`), it stays as
        it was, when and how included."""
        key = _address(address)
        with self._writing() as db:
            current = self._current(db, key)
            if current is not None and (current.state is state or current.state in unless):
                return current
            standing = Standing(
                self.list_id,
                key,
                state,
                how.value,
                _detail(detail),
                _now(),
                current.score if current else 0.0,
                current.scored_at if current else "",
            )
            self._write(db, standing, detail)
            return standing

    def _write(self, db: Database, standing: Standing, detail: str) -> None:
        db.execute(_UPSERT, _row(standing))
        db.execute(
            "INSERT INTO audience_log (list, address, state, how, detail, at) VALUES (?, ?, ?, ?, ?, ?)",
            (
                self.list_id,
                standing.address,
                standing.state.value,
                standing.how,
                _detail(detail),
                standing.at,
            ),
        )

    def _current(self, db: Database, key: str) -> Standing | None:
        row = db.execute(
            f"SELECT {_COLUMNS} FROM standings WHERE list = ? AND address = ?",  # noqa: S608 (constants)
            (self.list_id, key),
        ).fetchone()
        return _standing(row) if row else None

    def _query(self, query: str, parameters: tuple[object, ...]) -> list[tuple[Any, ...]]:
        if self._within == threading.get_ident():  # inside `claim`'s transaction, which holds the lock
            return list(self._db.execute(query, parameters))
        with self._lock:
            try:
                return list(self._db.execute(query, parameters))
            except DATABASE_ERRORS as exc:
                raise JournalError(f"{self.file.name}: cannot read the audience: {exc}") from None

    @contextmanager
    def _writing(self) -> Iterator[Database]:
        """One transaction, committed before it returns (a kill after it loses nothing); within
        `claim`'s, a part of that one."""
        if self._within == threading.get_ident():
            yield self._db
            return
        with self._lock:
            try:
                with self.file.transaction(exclusive=AUDIENCE_LOCK) as db:  # machines take turns
                    yield db
            except DATABASE_ERRORS as exc:
                raise JournalError(f"{self.file.name}: cannot write the audience: {exc}") from None


def _row(standing: Standing) -> tuple[object, ...]:
    return (
        standing.list_id,
        standing.address,
        standing.state.value,
        standing.how,
        standing.reason,
        standing.at,
        standing.score,
        standing.scored_at,
    )


def _standing(row: tuple[Any, ...]) -> Standing:
    list_id, address, state, how, reason, at, score, scored_at = row
    return Standing(
        str(list_id),
        str(address),
        State(str(state)),
        str(how),
        str(reason),
        str(at),
        float(score),
        str(scored_at),
    )


class Audience:
    """The audience ledger of a workspace's list, opened on its own (a verb, `serve`, `inbox`)."""

    def __init__(self, workspace: Path, list_id: str) -> None:
        self.file = JournalFile(workspace)
        self.ledger = AudienceLedger(self.file, list_id)

    def __enter__(self) -> AudienceLedger:
        return self.ledger

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.file.close()


def left_out_words(counts: Mapping[State, int]) -> str:
    """`3: 2 unsubscribed, 1 bouncing`: how many a send leaves out, and why."""
    why = ", ".join(f"{counts[state]} {state.value}" for state in State if counts.get(state))
    return f"{sum(counts.values())}: {why}"


def list_id_of(settings: Settings) -> str:
    """The list a workspace's sends go to: `[list] id`, or "" for a workspace without one."""
    return settings.list_.id if settings.list_ else ""


def left_out(workspace: Path, list_id: str) -> dict[str, Standing]:
    """Every address a send to this list leaves out, read without creating a journal."""
    if not has_journal(workspace):
        return {}
    with Audience(workspace, list_id) as ledger:
        return ledger.left_out()
