"""What a client may take of the server, in one place: the defaults serve the public web, tests
and the benchmark shrink or widen them."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Sizes, times and rates a request must keep within."""

    body_bytes: int = 4 * 1024  # a one-click POST is 26 bytes, the page's form a few more
    drain_bytes: int = 64 * 1024  # read and dropped before a refusal, so that closing resets nothing
    head_bytes: int = 16 * 1024  # the request line and headers together (h11's bound)
    arrive_seconds: float = 10.0  # for a request to arrive whole, from the connect or the last answer
    answer_seconds: float = 10.0  # for the app to answer, the client's reading included
    keep_alive_seconds: int = 5  # an idle connection between requests
    connections: int = 1000  # open at once; beyond it each request gets 503 at once
    waiting: int = 500  # waiting for a request at once; a new one closes the one that waited longest
    per_client_per_second: float = 20.0  # requests a client (an IP address) may make, sustained
    per_client_burst: int = 60  # ... and at once
    clients_tracked: int = 10_000  # the rate table's size: the least recent client makes room


DEFAULT_LIMITS = Limits()


class RateLimiter:
    """A token bucket per client, in a table of bounded size (the least recent one goes first)."""

    def __init__(
        self, per_second: float, burst: int, tracked: int, now: Callable[[], float] = time.monotonic
    ):
        self._per_second = per_second
        self._burst = float(burst)
        self._tracked = tracked
        self._now = now
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # client → (tokens, when)

    def allow(self, client: str) -> bool:
        """Whether this request of `client` is within its rate (and count it if so)."""
        now = self._now()
        tokens, since = self._buckets.pop(client, (self._burst, now))
        tokens = min(self._burst, tokens + (now - since) * self._per_second)
        allowed = tokens >= 1.0
        self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
        if len(self._buckets) > self._tracked:
            self._buckets.popitem(last=False)
        return allowed
