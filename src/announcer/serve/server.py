"""The server under `serve` and `preview`: uvicorn with h11, bounded.

uvicorn bounds a request's head in bytes and the connections open at once, but not in time: a
client that connects and then sends nothing, or a byte a minute, would hold its connection for
ever. `_DeadlineH11` gives each request a deadline to arrive whole, can cap the connections
waiting for one (the one that waited longest makes room: a browser sends its request at once),
and refuses a head too large with 431, as h11 hints, not uvicorn's 400.
"""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from types import FrameType
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol

from announcer.serve.limits import Limits

ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]
_WAITING = (h11.IDLE, h11.SEND_BODY)  # the client's side of a request still to come in whole
_HEAD_END = re.compile(rb"\n\r?\n")  # as h11 finds it
_TOO_LARGE = "the request's head is larger than this server reads\n"
_DRAIN_SECONDS = 2.0  # after a refusal, for the client to read it before the close resets it


class _Connection(h11.Connection):
    """h11's connection, remembering the status its last refusal of the client hinted (431 for a
    head too large), which uvicorn drops."""

    refused_with = 400

    def next_event(self) -> Any:
        try:
            return super().next_event()
        except h11.RemoteProtocolError as exc:
            self.refused_with = exc.error_status_hint
            raise


class _DeadlineH11(H11Protocol):
    """uvicorn's h11 protocol, with a deadline for each request to arrive whole (head and body),
    counted from the connect or from the last answer; past it the connection is closed. With
    `waiting_cap`, at most that many connections wait for a request: a new one closes the one
    that has waited longest."""

    arrive_seconds = 10.0
    waiting_cap: int | None = None

    _deadline: asyncio.TimerHandle | None = None
    _since = 0.0  # when it began waiting for a request
    _refused = False  # answered for the last time: what the client sends on is dropped

    def __init__(self, config: uvicorn.Config, *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self._head_bytes = config.h11_max_incomplete_event_size or 16 * 1024
        self.conn = _Connection(h11.SERVER, self._head_bytes)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._since = self.loop.time()
        self._arm()
        if self.waiting_cap is not None:
            self._make_room(self.waiting_cap)

    def waiting(self) -> bool:
        """Whether it waits for the client's next request (none is being answered)."""
        answering = self.cycle is not None and not self.cycle.response_complete
        closing = self._refused or self.transport.is_closing()
        return self.conn.their_state in _WAITING and not answering and not closing

    def _make_room(self, cap: int) -> None:
        others = [
            c for c in self.connections if c is not self and isinstance(c, _DeadlineH11) and c.waiting()
        ]
        if len(others) >= cap:
            min(others, key=lambda connection: connection._since).transport.close()

    def send_400_response(self, msg: str) -> None:
        """The refusal of a request h11 cannot take, with the status h11 hinted."""
        self._refuse(self.conn.refused_with if isinstance(self.conn, _Connection) else 400)

    def _refuse(self, status: int) -> None:
        """A short plain answer, and the connection closed (whatever else the client sent)."""
        body = (_TOO_LARGE if status == 431 else "bad request\n").encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, STATUS_PHRASES[status], len(body), body)
        )
        # Closed with the client's bytes unread, the connection would be reset, and the answer
        # with it: end our side, drop what comes, close when the client does or in a moment.
        self._refused = True
        self._disarm()
        self.transport.write_eof()
        self.loop.call_later(_DRAIN_SECONDS, self.transport.close)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self.conn.their_state is h11.IDLE and self._head_too_large(data):
            self._refuse(431)
            return
        super().data_received(data)
        self._arm()

    def _head_too_large(self, data: bytes) -> bool:
        """Whether the head coming in is past `head_bytes`: h11 bounds only a head still
        incomplete, so a large one that came whole in one read would pass."""
        pending = self.conn.trailing_data[0] + data
        end = _HEAD_END.search(pending.lstrip(b"\r\n"), 0, self._head_bytes + 3)
        return (end.end() if end else len(pending)) > self._head_bytes

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._since = self.loop.time()
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


def protocol_for(arrive_seconds: float, waiting_cap: int | None = None) -> type[H11Protocol]:
    """The h11 protocol with this deadline (and cap of connections waiting for a request)."""
    return type(
        "DeadlineH11", (_DeadlineH11,), {"arrive_seconds": arrive_seconds, "waiting_cap": waiting_cap}
    )


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
    even where SIGINT was ignored when the process started (nohup, a job in the background).
    `before_shutdown` ends what would hold the shutdown open (the preview's reload streams)."""

    def __init__(self, config: uvicorn.Config, before_shutdown: Callable[[], None] | None = None) -> None:
        super().__init__(config)
        self.before_shutdown = before_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.before_shutdown is not None:
            self.before_shutdown()
        await super().shutdown(sockets)

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


@contextmanager
def stopped_by_signals(stop: Callable[[], None]) -> Iterator[None]:
    """Ctrl-C and SIGTERM call `stop` (it must only set a flag) from before the server runs: a
    signal that comes between the address printed and the server started (its own handlers
    taking over) stops it as soon as it starts, never kills the process."""

    def handle(number: int, frame: FrameType | None) -> None:
        stop()

    previous = {number: signal.signal(number, handle) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def server(app: ASGIApp, limits: Limits) -> uvicorn.Server:
    """`serve`'s uvicorn server of the app, bounded by `limits`; quiet but for warnings and errors
    (no access log: the unsubscribe URL's token names a reader)."""
    return bounded_server(
        app,
        protocol_for(limits.arrive_seconds, limits.waiting),
        head_bytes=limits.head_bytes,
        connections=limits.connections,
        keep_alive_seconds=limits.keep_alive_seconds,
    )


def bounded_server(
    app: ASGIApp,
    protocol: type[H11Protocol],
    *,
    head_bytes: int,
    connections: int,
    keep_alive_seconds: int,
    log_level: str = "warning",
    before_shutdown: Callable[[], None] | None = None,
) -> uvicorn.Server:
    """A uvicorn server of the app on h11 with `protocol`: heads of at most `head_bytes`, at most
    `connections` open (beyond, each request gets 503 at once), no access log. Ctrl-C and
    SIGTERM stop it, its requests in progress answered first."""
    config = uvicorn.Config(
        app,
        http=protocol,
        lifespan="off",
        access_log=False,
        log_level=log_level,
        server_header=False,
        limit_concurrency=connections,
        timeout_keep_alive=keep_alive_seconds,
        timeout_graceful_shutdown=5,
        h11_max_incomplete_event_size=head_bytes,
    )
    return _Server(config, before_shutdown)
