"""The one source of clock and random values (now, Message-ID tokens), so that tests can pin them."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731
_token: Callable[[], str] = lambda: secrets.token_hex(12)  # noqa: E731


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC."""
    return _now()


def unique_token() -> str:
    """A fresh random token, used for Message-IDs."""
    return _token()


@contextmanager
def pinned(now: datetime, tokens: Iterator[str]) -> Iterator[None]:
    """Pin the clock to `now` and draw tokens from `tokens` (for reproducible output)."""
    global _now, _token
    saved = _now, _token
    lock = threading.Lock()  # senders on several connections draw tokens at once

    def draw() -> str:
        with lock:
            return next(tokens)

    _now, _token = (lambda: now), draw
    try:
        yield
    finally:
        _now, _token = saved


@contextmanager
def as_if(now: datetime) -> Iterator[None]:
    """The clock reads `now` while the tokens stay random: a dry run as if it were another day
    (`--today`), so that the example, whose talks are in March 2026, shows an ordinary day."""
    global _now
    saved = _now
    _now = lambda: now  # noqa: E731
    try:
        yield
    finally:
        _now = saved
