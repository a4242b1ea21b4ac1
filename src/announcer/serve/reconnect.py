"""serve heals on its own when its database goes away: a PostgreSQL server that restarts (an
upgrade, a failover, a crash) drops serve's sessions, and the request that finds one dropped
reconnects and is answered as if nothing had happened. A failed reconnect is that request's
503 (Retry-After), and the next try waits `PAUSE_SECONDS`: never a crash, never a busy loop.

Only serve's own sessions: they reserve no reader. A send's session holds an advisory lock that
keeps its reservations live (journal_schema.LIVE_HOLDERS), so a send never reconnects silently.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from announcer.errors import JournalError
from announcer.journal_file import JournalFile

T = TypeVar("T")
PAUSE_SECONDS = 5.0  # between failed reconnects; the 503's Retry-After says as much


class Reconnecting:
    """The journal connections of one serve, each reopened once the server dropped it. Shared
    by serve's threads: one of them reconnects, the others use what it opened."""

    def __init__(self, files: Sequence[JournalFile], pause_seconds: float = PAUSE_SECONDS) -> None:
        self.files = tuple(files)
        self.pause_seconds = pause_seconds
        self._lock = threading.Lock()
        self._reopened = 0  # how many times connections were reopened: another thread's counts too
        self._next_try = 0.0  # no reconnect before this (time.monotonic) after one failed
        self._failing = False  # said already that reconnecting fails

    def attempt(self, work: Callable[[], T], again: Callable[[], bool] = lambda: True) -> T:
        """`work`'s result; if it failed on a dropped connection, once more on a new one, if
        `again` says that is safe. A transaction that failed at its COMMIT may have been
        committed all the same (the lost connection took only the answer): made twice, an
        unsubscribe and its undo, or an organiser's restore in between, would be undone, so
        such a failure is the request's 503 (the connection is new for the next)."""
        seen = self._reopened
        try:
            return work()
        except JournalError as exc:
            if not self._healed(seen, exc) or not again():
                raise
        return work()

    def _healed(self, seen: int, error: JournalError) -> bool:
        """Whether the connections are new since `seen` (reopened here, or by another thread
        meanwhile); raises the reconnect's own error if it failed."""
        with self._lock:
            if self._reopened != seen:
                return True
            if not any(file.lost for file in self.files):
                return False  # not a lost connection (a locked file, a refused statement)
            if time.monotonic() < self._next_try:
                raise JournalError(f"{error} (reconnecting again in a moment)")
            try:
                for file in self.files:  # the server that dropped one dropped the others too
                    file.reopen()
            except JournalError as exc:
                self._next_try = time.monotonic() + self.pause_seconds
                if not self._failing:
                    self._failing = True
                    _say(f"the database dropped the connection ({error}), and reconnecting failed: {exc}")
                raise
            self._reopened += 1
            self._failing = False
            _say(f"the database dropped the connection ({error}); reconnected")
            return True


def _say(line: str) -> None:
    print(f"serve: {line}", file=sys.stderr, flush=True)
