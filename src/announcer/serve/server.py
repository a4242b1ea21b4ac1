"""The server under `serve` (and the preview): uvicorn with h11, bounded as `Limits` says.

uvicorn bounds a request's head in bytes and the connections open at once, but not in time: a
client that connects and then sends nothing, or a byte a minute, would hold its connection for
ever. `_DeadlineH11` gives each request a deadline to arrive whole.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from announcer.serve.limits import Limits

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]
_WAITING = (h11.IDLE, h11.SEND_BODY)  # the client's side of a request still to come in whole


class _DeadlineH11(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for each request to arrive whole (head and body),
    counted from the connect or from the last answer; past it the connection is closed."""

    arrive_seconds = 10.0

    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        """A deadline while the client owes us a request; none while we owe it an answer."""
        waiting = self.conn.their_state in _WAITING and not self.transport.is_closing()
        if waiting and self._deadline is None:
            self._deadline = self.loop.call_later(self.arrive_seconds, self._expired)
        elif not waiting:
            self._disarm()

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def protocol_for(limits: Limits) -> type[H11Protocol]:
    """The h11 protocol with this deadline."""
    return type("DeadlineH11", (_DeadlineH11,), {"arrive_seconds": limits.arrive_seconds})


def listen(host: str, port: int) -> socket.socket:
    """The listening socket (port 0: one the system picks), bound before the app starts, so
    that whoever waits for the server can connect as soon as its address is printed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, backlog=2048)


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


class _Server(uvicorn.Server):
    """uvicorn's server, stopped by Ctrl-C or SIGTERM as a verb is: it answers the requests in
    progress, then returns (uvicorn's own raises the signal again once stopped, so the process
    would end by it, skipping what the verb does after). Handled explicitly, so that it works
    even where SIGINT was ignored when the process started (nohup, a job in the background)."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():  # signals go to the main thread
            yield
            return
        previous = {
            number: signal.signal(number, self.handle_exit) for number in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)


def server(app: ASGIApp, limits: Limits) -> uvicorn.Server:
    """A uvicorn server of the app, bounded by `limits`; quiet but for warnings and errors (no
    access log: the unsubscribe URL's token names a reader). Ctrl-C and SIGTERM stop it, its
    requests in progress answered first."""
    config = uvicorn.Config(
        app,
        http=protocol_for(limits),
        lifespan="off",
        access_log=False,
        log_level="warning",
        server_header=False,
        limit_concurrency=limits.connections,
        timeout_keep_alive=limits.keep_alive_seconds,
        timeout_graceful_shutdown=5,
        h11_max_incomplete_event_size=limits.head_bytes,
    )
    return _Server(config)
