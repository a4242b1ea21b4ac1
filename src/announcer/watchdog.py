"""A deadline for work that waits on a peer which may never answer: a database whose machine
froze or vanished keeps a blocked read waiting for as long as the kernel keeps the connection
(a quarter of an hour), and no timeout of the server's own can fire on a server that is gone.
One thread, shared, cuts what overran its time; the work then fails as if the peer had gone.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress


class Watchdog:
    """Calls each overrun work's `cut` once its time is over, from a thread of its own, started
    with the first work watched. Cheap to watch with: the thread is woken only for a deadline
    earlier than the one it waits for."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._due: dict[int, tuple[float, Callable[[], None]]] = {}
        self._keys = itertools.count()
        self._wakes_at = math.inf  # when the thread looks next (inf: it waits to be woken)
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self, seconds: float, cut: Callable[[], None]) -> Iterator[None]:
        """Within this block for `seconds` at most: beyond, `cut` is called (once) to end it."""
        key = next(self._keys)
        due = time.monotonic() + seconds
        with self._changed:
            self._due[key] = (due, cut)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="watchdog", daemon=True)
                self._thread.start()
            if due < self._wakes_at:
                self._changed.notify()
        try:
            yield
        finally:
            with self._changed:
                self._due.pop(key, None)

    def _watch(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                for key in [key for key, (due, _) in self._due.items() if due <= now]:
                    _, cut = self._due.pop(key)
                    with suppress(Exception):  # a cut that failed must not end the watching
                        cut()
                self._wakes_at = min((due for due, _ in self._due.values()), default=math.inf)
                self._changed.wait(None if self._wakes_at == math.inf else self._wakes_at - now)


WATCHDOG = Watchdog()  # one thread for the process
