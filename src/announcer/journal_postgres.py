"""A PostgreSQL connection that takes the journal's SQL as SQLite writes it (`?`, `:name`).

The password comes from the environment alone: ANNOUNCER_DATABASE_PASSWORD, else what libpq
reads itself (PGPASSWORD, ~/.pgpass); the URL in the settings never holds one.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import socket
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from functools import lru_cache
from typing import Any

import psycopg

from announcer.errors import JournalError, PostgresError
from announcer.journal_schema import SESSION_IDS
from announcer.model.settings import database_is_local
from announcer.watchdog import WATCHDOG

DATABASE_PASSWORD_VARIABLE = "ANNOUNCER_DATABASE_PASSWORD"  # noqa: S105 (a name, not a secret)
_CONNECT_SECONDS = 10
# A session that answers but can no longer serve: a standby after a failover (read-only), or
# one the server is shutting down. Reconnecting finds the new primary.
_STALE_STATES = frozenset({"25006", "57P01", "57P02", "57P03"})


@lru_cache(maxsize=256)
def translated(sql: str) -> str:
    """SQLite's placeholders as psycopg's: `?` as %s, `:name` as %(name)s (not `::` casts)."""
    sql = sql.replace("%", "%%")
    sql = re.sub(r"(?<![:\w]):([A-Za-z_]\w*)", r"%(\1)s", sql)
    return sql.replace("?", "%s")


def tls_of(url: str) -> dict[str, Any]:
    """What libpq is told of TLS beyond the URL: for a database elsewhere, a certificate checked
    against the system's CAs as HTTPS does (libpq's own default, prefer, checks none and falls
    back to the clear); the settings refuse a weaker sslmode written in the URL."""
    if database_is_local(url) or "sslmode=" in url:
        return {}
    return {"sslmode": "verify-full", "sslrootcert": "system"}


class Postgres:
    """One connection, in autocommit: each statement commits unless a `transaction` holds it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._stale = False  # the server said this session can no longer serve (_STALE_STATES)
        self.deadline_seconds: float | None = None  # see `bound`
        self._socket: socket.socket | None = None  # the session's own, to cut it (see `bound`)
        self._connection = self._connect()

    def bound(self, seconds: float) -> None:
        """Every statement of this session, and every connect, ends within about `seconds`, on
        a server that is gone without a word too (a hard failover, a lost machine, a dropped
        NAT entry): the server's statement and lock timeouts, TCP keepalives and a timeout on
        unanswered data, and beyond them a watchdog that cuts the session. A cut session is
        `lost`, and the next request reconnects. Only for `serve`, as `reopen`: a send's session
        holds the lock that keeps its reservations live, and must never be dropped silently."""
        self.deadline_seconds = seconds
        self.reopen()

    def _bounds(self) -> dict[str, Any]:
        """What libpq is told of the deadline (nothing for a session without one)."""
        if (seconds := self._deadline()) is None:
            return {}
        return {
            "connect_timeout": seconds,
            "keepalives": 1,
            "keepalives_idle": seconds,
            "keepalives_interval": 1,
            "keepalives_count": 3,
            "tcp_user_timeout": seconds * 1000,
        }

    def _deadline(self) -> int | None:
        """The deadline in whole seconds, as libpq and the server take it."""
        return None if self.deadline_seconds is None else max(1, math.ceil(self.deadline_seconds))

    def _watched(self, own: socket.socket | None = None) -> AbstractContextManager[None]:
        """A statement's watch: past the deadline (and a second for the server's own timeouts
        to speak first), the session's socket (`own`, or this session's) is shut, which ends the
        wait for its answer."""
        own = own or self._socket  # this session's, should another thread reconnect meanwhile
        if self.deadline_seconds is None or own is None:
            return nullcontext()
        return WATCHDOG.watching(self.deadline_seconds + 1, lambda: own.shutdown(socket.SHUT_RDWR))

    def _connect(self) -> psycopg.Connection[Any]:
        """A new session: committing lazily outside a transaction, holding its session's lock."""
        password = os.environ.get(DATABASE_PASSWORD_VARIABLE) or None
        try:
            connection = psycopg.connect(
                self.url,
                password=password,
                **tls_of(self.url),
                autocommit=True,
                application_name=f"announcer {socket.gethostname()}"[:63],
                **({"connect_timeout": _CONNECT_SECONDS} | self._bounds()),
            )
        except psycopg.Error as exc:
            raise JournalError(f"{self.url}: cannot reach the database: {_said(exc)}") from None
        # A peer that let us in and then fell silent (a pooler waiting for a server, a frozen
        # relay) is watched from the first statement on, as every later one is.
        own = socket.socket(fileno=os.dup(connection.fileno())) if self.deadline_seconds is not None else None
        try:
            with self._watched(own):
                # A statement outside a transaction (a delivery's line) commits to the server's
                # memory, as SQLite's reach the disk's cache; every `transaction` waits for the disk.
                connection.execute("SET synchronous_commit = off")
                if (seconds := self._deadline()) is not None:  # not at the connect: a pooler may refuse it
                    connection.execute(f"SET statement_timeout = {seconds * 1000}")
                    connection.execute(f"SET lock_timeout = {seconds * 1000}")
                    # a session cut mid-transaction leaves its backend holding its locks (the
                    # audience's) until the server's own TCP keepalive, two hours: ended here
                    connection.execute(f"SET idle_in_transaction_session_timeout = {seconds * 1000}")
                session = secrets.randbelow(SESSION_IDS[1] - SESSION_IDS[0]) + SESSION_IDS[0]
                connection.execute("SELECT pg_advisory_lock(%s)", (session,))  # held while the session lives
                row = connection.execute(
                    "SELECT extract(epoch FROM backend_start)::text FROM pg_stat_activity "
                    "WHERE pid = pg_backend_pid()"
                ).fetchone()
        except psycopg.Error as exc:
            connection.close()
            if own is not None:
                own.close()
            raise JournalError(f"{self.url}: cannot reach the database: {_said(exc)}") from None
        assert row is not None  # its own session is always there
        self.holder = f"{session}@{row[0]}"  # this session, as reservations name it
        self._socket = own
        return connection

    @property
    def lost(self) -> bool:
        """Whether the server dropped the session (it restarted, failed over, ended it)."""
        return self._stale or self._connection.broken or self._connection.closed

    def reopen(self) -> None:
        """A new session in place of a lost one, with a new `holder`. Only for a process that
        reserves nothing (`serve`): a send's reservations belong to the session that made them,
        and a new session would not hold them (see journal_schema.LIVE_HOLDERS)."""
        self.close()
        self._connection = self._connect()
        self._stale = False

    def execute(self, sql: str, parameters: Any = (), /) -> Any:
        try:
            with self._watched():
                return self._connection.execute(translated(sql), parameters or None)
        except psycopg.Error as exc:
            raise self._refused(exc) from None

    def executemany(self, sql: str, rows: Any, /) -> None:
        rows = list(rows)
        if not rows:
            return
        try:
            with self._watched(), self._connection.cursor() as cursor:
                cursor.executemany(translated(sql), rows)
        except psycopg.Error as exc:
            raise self._refused(exc) from None

    @contextmanager
    def transaction(self, exclusive: int | None = None) -> Iterator[None]:
        """One transaction, on the server's disk when it returns (and so is every commit before
        it); with `exclusive`, holding that advisory lock until it ends. Each statement is
        watched on its own (the body's by `execute`), never the whole: a batch of many quick
        statements over a slow link is no statement that hangs."""
        try:
            transaction = self._connection.transaction()
            with self._watched():
                transaction.__enter__()
            try:
                with self._watched():
                    self._connection.execute("SET LOCAL synchronous_commit = on")
                    if exclusive is not None:
                        self._connection.execute("SELECT pg_advisory_xact_lock(%s)", (exclusive,))
                yield
            except BaseException as error:
                with self._watched():
                    transaction.__exit__(type(error), error, error.__traceback__)  # rolled back
                raise
            with self._watched():
                transaction.__exit__(None, None, None)  # committed
        except psycopg.Error as exc:
            raise self._refused(exc) from None

    def _refused(self, error: psycopg.Error) -> PostgresError:
        """The error as the journal says it; a session the server will not serve again is lost."""
        if error.sqlstate in _STALE_STATES:
            self._stale = True
        return PostgresError(_said(error))

    def close(self) -> None:
        self._connection.close()
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _said(error: psycopg.Error) -> str:
    """psycopg's message on one line (it never carries the password)."""
    return " ".join(str(error).split()) or type(error).__name__
