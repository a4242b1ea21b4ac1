"""The guard in front of the app: a client's rate, a request's size and time, and the security
headers of every answer. It reads each request's body whole (bounded) before the app sees it,
so the app never waits on a client and never holds more than `Limits.body_bytes`."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import Headers

from announcer.serve.limits import Limits, RateLimiter

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Every answer: nothing of it runs or loads unless its route says so (`content-security-policy`
# of its own), no page of ours in a frame, no address of ours in a Referer.
_DEFAULT_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_POLICY_NAME = b"content-security-policy"


_TOO_LARGE = "the request is larger than this server reads\n"


class _TooLarge(Exception):
    """The body is larger than the limit."""


class Guard:
    """ASGI middleware: refuses what is out of bounds with a short plain answer, never a trace."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        self.app = app
        self.limits = limits
        self.rate = RateLimiter(limits.per_client_per_second, limits.per_client_burst, limits.clients_tracked)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_guarded(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = _secured(message.get("headers", []))
            await send(message)

        client = scope.get("client")
        allowed = self.rate.allow(client[0] if client else "")
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and not (declared.isdigit() and declared.isascii() and len(declared) < 12):
            await _plain(send_guarded, 400, "bad request\n")
            return
        if declared is not None and int(declared) > self.limits.drain_bytes:
            await _plain(send_guarded, 413, _TOO_LARGE)
            return
        try:
            async with asyncio.timeout(self.limits.arrive_seconds):
                read = await self._body(receive)
        except _TooLarge:
            await _plain(send_guarded, 413, _TOO_LARGE)
            return
        except TimeoutError:
            await _plain(send_guarded, 408, "the request took too long to arrive\n")
            return
        if read is None:  # the client went away
            return
        body, over = read
        if not allowed:
            wait = math.ceil(1 / self.limits.per_client_per_second)
            await _plain(send_guarded, 429, "too many requests: try again in a moment\n", str(wait))
            return
        if over:
            await _plain(send_guarded, 413, _TOO_LARGE)
            return
        try:
            async with asyncio.timeout(self.limits.answer_seconds):
                await self.app(scope, _replay(body, receive), send_guarded)
        except TimeoutError:
            if not started:
                await _plain(send_guarded, 503, "the server is busy: try again in a moment\n", "5")

    async def _body(self, receive: Receive) -> tuple[bytes, bool] | None:
        """The request's body and whether it is over the limit; None if the client went away
        first. A body over the limit is read on (and dropped) up to `drain_bytes`, so that the
        refusal reaches its client: closing a connection with bytes unread resets it, answer and all."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limits.drain_bytes:
                raise _TooLarge
            if size <= self.limits.body_bytes:
                chunks.append(chunk)
            if not message.get("more_body", False):
                over = size > self.limits.body_bytes
                return (b"" if over else b"".join(chunks)), over


def _secured(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The answer's headers with the security headers it does not set itself (its route may set
    a policy of its own). Raw pairs, appended: this runs on every answer."""
    named = {name.lower() for name, _ in headers}
    added = [(name, value) for name, value in _SECURITY_HEADERS if name not in named]
    if _POLICY_NAME not in named:
        added.append((_POLICY_NAME, _DEFAULT_POLICY.encode()))
    return [*headers, *added]


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the body read already, then waits as the server's own does."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _plain(send: Send, status: int, text: str, retry_after: str | None = None) -> None:
    """A short plain-text answer that ends the connection (its client is out of bounds)."""
    body = text.encode()
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"connection", b"close"),
    ]
    if retry_after is not None:
        headers.append((b"retry-after", retry_after.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
