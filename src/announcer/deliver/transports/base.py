"""What every transport provides: open, send one message, close; a context manager on top."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from types import TracebackType
from typing import Self

from announcer.compose.message import Outgoing


class Transport(ABC):
    """Delivers messages one at a time. Subclasses provide `open`, `send` and `close`.

    Used as a context manager: a run that ends with an exception calls `abort` instead of
    `close`, so a transport can withdraw what it has not yet made final. A transport that
    keeps several `connections` takes `send` from as many threads at once; one that can be
    `split` gives a transport to each of several processes.
    """

    connections: int = 1

    def split(self, count: int) -> list[Transport]:
        """Once open: `count` transports, one for each of as many processes, the `n`th sending the
        run's messages n, n + count, n + 2 count, ...; this one keeps only what ends the run
        (`close` or `abort`). An empty list where the transport cannot be split."""
        return []

    @abstractmethod
    def open(self) -> None:
        """Get ready to send (connect, create folders)."""

    @abstractmethod
    def send(self, message: Outgoing, committing: Callable[[], None] = lambda: None) -> str:
        """Deliver one message and say how it went (the server's reply), or raise `DeliveryError`.

        `committing` is called at the last instant before the message becomes the recipient's
        (SMTP: before the final dot of DATA); a failure before it means nothing was delivered.
        If `committing` raises (the journal cannot record the send), the message must never
        become final (SMTP: the connection is dropped before the dot), and the error propagates.
        """

    @abstractmethod
    def close(self) -> None:
        """Finish: everything sent so far is final."""

    def abort(self) -> None:
        """The run failed part-way; by default the same as `close`."""
        self.close()

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()
