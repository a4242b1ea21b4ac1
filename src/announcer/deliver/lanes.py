"""Sending threads fed from one bounded queue: one hand-off a message, and the first error raised."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
_END = object()  # tells a thread that nothing more comes


class Lanes(Generic[T]):
    """`count` threads, each doing `work` with the items it is handed, at most `ahead` waiting.

    The first exception a thread meets is raised to whoever hands out work next (`put`) or waits
    for it (`finish`); from then on, what is handed out or waiting is dropped, never worked on.
    """

    def __init__(self, count: int, work: Callable[[T], None], ahead: int) -> None:
        self._work = work
        self._waiting: queue.Queue[object] = queue.Queue(max(ahead, count))
        self._error: BaseException | None = None
        self._ended = False
        self._threads = [
            threading.Thread(target=self._run, name=f"send-{number}", daemon=True) for number in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def put(self, item: T) -> None:
        """Hand out one item, waiting while `ahead` already wait."""
        self._raise()
        self._waiting.put(item)

    def finish(self) -> None:
        """Wait until everything handed out is done; raise the first error a thread met."""
        self._end()
        self.join()
        self._raise()

    def drop(self) -> None:
        """What waits is never started; each thread ends after the item in hand."""
        while True:
            try:
                self._waiting.get_nowait()
            except queue.Empty:
                break
        self._end()

    def join(self) -> None:
        for thread in self._threads:
            thread.join()

    def _end(self) -> None:
        if not self._ended:
            self._ended = True
            for _ in self._threads:
                self._waiting.put(_END)

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        while (item := self._waiting.get()) is not _END:
            if self._error is not None:
                continue  # a lane failed: the rest is dropped
            try:
                self._work(item)  # type: ignore[arg-type]
            except BaseException as error:  # raised to the thread that hands out work
                self._error = self._error or error
