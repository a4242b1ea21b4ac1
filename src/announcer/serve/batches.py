"""Group commit: the changes asked in one turn of the event loop (a burst of one-click POSTs
arrives together) are made in one transaction of the audience ledger, and each request is
answered once that transaction is committed. One commit for many: the commit is most of a
POST's cost, and under a burst the requests of a turn share it; alone, a request waits for
nothing (its batch is itself)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

from announcer.audience.ledger import AudienceLedger
from announcer.serve.reconnect import Reconnecting

T = TypeVar("T")


class Batches(Generic[T]):
    """Runs changes on the ledger in batches, one transaction each, from the event loop."""

    def __init__(
        self, ledger: AudienceLedger, largest: int = 256, reconnecting: Reconnecting | None = None
    ) -> None:
        self.ledger = ledger
        self.reconnecting = reconnecting or Reconnecting([ledger.file])
        self.largest = largest  # changes in one transaction at most: the loop is not held long
        self._pending: list[tuple[Callable[[AudienceLedger], T], asyncio.Future[T]]] = []
        self._scheduled = False

    async def run(self, change: Callable[[AudienceLedger], T]) -> T:
        """`change`'s result once its transaction is committed (its error if none was)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append((change, future))
        if not self._scheduled:  # after the requests of this turn have asked theirs
            self._scheduled = True
            loop.call_soon(self._commit)
        return await future

    def _commit(self) -> None:
        batch, self._pending = self._pending[: self.largest], self._pending[self.largest :]
        self._scheduled = bool(self._pending)
        if self._pending:
            asyncio.get_running_loop().call_soon(self._commit)
        results: list[T] = []

        def apply(ledger: AudienceLedger) -> None:
            results[:] = [change(ledger) for change, _ in batch]

        try:  # once more on a new connection if the database had dropped it
            self.reconnecting.attempt(lambda: self.ledger.together(apply))
        except Exception as exc:  # each request answers it (a busy journal: 503)
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # its client went away meanwhile: the change stands all the same
                future.set_result(result)
