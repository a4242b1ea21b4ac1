"""Group commit: the changes asked while the ledger is busy (a burst of one-click POSTs arrives
together) are made in one transaction of the audience ledger, and each request is answered
once that transaction is committed. One commit for many: the commit is most of a POST's cost,
and under a burst the requests share it; alone, a request waits for nothing (its batch is
itself).

The transactions run in one worker thread, one at a time and in order, never in the event
loop: a slow database, or a SQLite file a send holds locked, keeps the POSTs waiting for their
commit, and nothing else (the page, the site, other clients). A change whose request was
answered meanwhile (the guard's 503 once its time ran out) is left out of its batch: that
reader was told it failed. And at most `waiting` changes wait: beyond, the 503 comes at once,
so a database that hangs can never make the queue grow without bound."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, TypeVar

from announcer.audience.ledger import AudienceLedger
from announcer.errors import JournalError
from announcer.serve.reconnect import Reconnecting

T = TypeVar("T")
_Batch = list[tuple[Callable[[AudienceLedger], T], asyncio.Future[T]]]


class Batches(Generic[T]):
    """Runs changes on the ledger in batches, one transaction each, in a thread of their own.
    The ledger's connection is that thread's alone (SQLite's may cross threads, one at a time)."""

    def __init__(
        self, ledger: AudienceLedger, largest: int = 256, reconnecting: Reconnecting | None = None
    ) -> None:
        self.ledger = ledger
        self.largest = largest  # changes in one transaction at most: each waits for fewer
        self.waiting = 4 * largest  # changes waiting for a batch at most: the others are refused
        self.reconnecting = reconnecting or Reconnecting([ledger.file])
        self._pending: _Batch[T] = []
        self._busy = False  # a batch is committing, or about to start
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="serve-ledger")

    async def run(self, change: Callable[[AudienceLedger], T]) -> T:
        """`change`'s result once its transaction is committed (its error if none was)."""
        if len(self._pending) >= self.waiting:
            raise JournalError("the database is slow to answer: too many changes wait already")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((change, future))
        if not self._busy:  # after the requests of this turn have asked theirs
            self._busy = True
            loop.call_soon(self._next)
        return await future

    def _next(self) -> None:
        """Hand the worker the next batch: what came while the last one committed, but for the
        changes already answered (timed out: their readers were told they failed)."""
        self._pending = [waiting for waiting in self._pending if not waiting[1].done()]
        if not self._pending:
            self._busy = False
            return
        batch, self._pending = self._pending[: self.largest], self._pending[self.largest :]
        committed = asyncio.get_running_loop().run_in_executor(self._worker, self._commit, batch)
        committed.add_done_callback(lambda done: self._answer(batch, done))

    def _commit(self, batch: _Batch[T]) -> list[T]:
        """In the worker: the batch's changes in one transaction (once more on a new connection
        if the database had dropped it before they were all made: not at or after the COMMIT,
        which may have been done), their results once committed."""
        results: list[T] = []
        made = False  # every change made: what fails now is the COMMIT

        def apply(ledger: AudienceLedger) -> None:
            nonlocal made
            made = False
            results[:] = [change(ledger) for change, _ in batch]
            made = True

        def again() -> bool:  # not if it may be committed, nor once a request was answered 503
            return not made and not any(future.done() for _, future in batch)

        self.reconnecting.attempt(lambda: self.ledger.together(apply), again)
        return results

    def _answer(self, batch: _Batch[T], done: asyncio.Future[list[T]]) -> None:
        """Each request of the batch answered (a busy journal: each its 503), then the next,
        whatever happened answering (else no batch would ever start again)."""
        try:
            error = None if done.cancelled() else done.exception()  # taken, even if nobody waits
            for index, (_, future) in enumerate(batch):
                if future.done():  # its client went away meanwhile: the change stands all the same
                    continue
                if done.cancelled():  # the loop is closing
                    future.cancel()
                elif error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(done.result()[index])
        finally:
            self._next()

    def close(self) -> None:
        """Wait for the batch committing (its changes stand), then end the worker."""
        self._worker.shutdown(wait=True)
