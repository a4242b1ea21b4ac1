"""The preview's connections: one selector loop holds them all, a few workers answer complete requests.

A connection costs no thread while it waits: the loop reads request heads as their bytes come,
within a deadline and a size, and only a complete head reaches a worker. Answers are written by
the loop too, so a client that stops reading holds no worker either. Reload streams (server-sent
events) live in the loop, capped; a new one closes the oldest. A client that goes away, at any
point, is normal: its connection is closed without a word.
"""

from __future__ import annotations

import queue
import re
import selectors
import socket
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from dataclasses import dataclass
from enum import Enum, auto
from http import HTTPStatus
from typing import Any

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_READ_BYTES = 64 * 1024
_ACCEPT_BURST = 64  # then the connections already open get their turn
_DRAIN_SECONDS = 2.0  # after a last answer, for the client to read it before the close resets it
_PAUSE_SECONDS = 0.5  # out of file descriptors: accept again after this
_STREAM_BACKLOG = 64 * 1024  # unsent events a page may leave unread before its stream is closed


@dataclass(frozen=True)
class Limits:
    """What clients may hold, all in one place: the defaults serve a browser, tests shrink them."""

    head_seconds: float = 10.0  # for a request's head to arrive, from the connect or the last answer
    head_bytes: int = 32 * 1024  # a browser's head, cookies and all, is a few KB
    connections: int = 128  # open at once (reload streams apart); the oldest waiting one makes room
    streams: int = 16  # reload streams at once; a new one closes the oldest
    send_seconds: float = 30.0  # for an answer to be read by the client
    alive_seconds: float = 15.0  # between keep-alive comments on an idle reload stream
    workers: int = 4  # threads answering complete requests


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Answer:
    """A whole response, and whether the connection ends after it."""

    data: bytes
    close: bool


@dataclass(frozen=True)
class Stream:
    """A reload stream's response head, and the version the page shows."""

    head: bytes
    shown: int


class _State(Enum):
    HEAD = auto()  # reading a request's head
    WORK = auto()  # with a worker
    SEND = auto()  # writing an answer
    STREAM = auto()  # a reload stream
    DRAIN = auto()  # answered for the last time: reading what is left until the client closes
    CLOSED = auto()


class _Connection:
    """One client's socket and where it stands; touched by the loop only."""

    def __init__(self, sock: socket.socket, address: Any, now: float) -> None:
        self.sock = sock
        self.address = address
        self.state = _State.HEAD
        self.inbox = bytearray()
        self.outbox = bytearray()
        self.close_after = False
        self.since = now  # when it began waiting for a head: the oldest makes room first
        self.deadline = now
        self.shown = 0
        self.next_alive = 0.0
        self.events = 0  # what the selector watches for


class EventServer(ABC):
    """Serves HTTP/1.1 from one loop; a subclass says how a request is answered.

    `serve_forever`, `shutdown` and `server_close` work as `socketserver`'s do.
    """

    def __init__(self, host: str, port: int, limits: Limits) -> None:
        self.limits = limits
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._listener = socket.create_server((host, port), family=family, backlog=128)
        self._listener.setblocking(False)
        self.server_address: tuple[str, int] = self._listener.getsockname()[:2]
        self._wake_in, self._wake_out = socket.socketpair()
        self._wake_in.setblocking(False)
        self._wake_out.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_in, selectors.EVENT_READ, "wake")
        self._accepting = True
        self._selector.register(self._listener, selectors.EVENT_READ, "listen")
        self._accept_again = 0.0
        self._connections: set[_Connection] = set()
        self._streams: dict[_Connection, None] = {}  # oldest first
        self._jobs: queue.SimpleQueue[tuple[_Connection, bytes] | None] = queue.SimpleQueue()
        self._done: queue.SimpleQueue[tuple[_Connection, Answer | Stream]] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self._announced = -1

    @abstractmethod
    def respond(self, head: bytes, address: Any) -> Answer | Stream:
        """The answer to one request head (called in a worker thread, so it may take its time)."""

    @abstractmethod
    def version(self) -> int:
        """What reload streams announce: a new value reloads the pages that show another."""

    def wake(self) -> None:
        """Make the loop look again (the version changed, an answer is ready, or it should stop)."""
        try:
            self._wake_out.send(b"\0")
        except OSError:  # already woken (the buffer is full), or the server is closed: nothing to do
            return

    def serve_forever(self) -> None:
        workers = [
            threading.Thread(target=self._work, name=f"preview-worker-{number}", daemon=True)
            for number in range(self.limits.workers)
        ]
        for worker in workers:
            worker.start()
        try:
            while not self._stop.is_set():
                for key, mask in self._selector.select(self._timeout(time.monotonic())):
                    self._ready(key.data, mask)
                self._collect()
                self._announce()
                self._expire(time.monotonic())
        finally:
            for _ in workers:
                self._jobs.put(None)
            for worker in workers:
                worker.join()
            for connection in list(self._connections):
                self._close(connection)
            self._stop.clear()
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop `serve_forever` (from another thread) and wait until it has stopped."""
        self._stop.set()
        self.wake()
        self._stopped.wait()

    def server_close(self) -> None:
        for connection in list(self._connections):
            self._close(connection)
        self._selector.close()
        self._listener.close()
        self._wake_in.close()
        self._wake_out.close()

    def _timeout(self, now: float) -> float | None:
        """Until the next deadline, or None (wait for an event) when nothing has one."""
        times = [self._accept_again] if not self._accepting else []
        for connection in self._connections:
            if connection.state is _State.STREAM:
                times.append(connection.next_alive)
            elif connection.state is not _State.WORK:
                times.append(connection.deadline)
        return max(0.0, min(times) - now) if times else None

    def _ready(self, data: object, mask: int) -> None:
        if data == "listen":
            self._accept()
        elif data == "wake":
            while True:
                try:
                    if not self._wake_in.recv(4096):
                        return
                except BlockingIOError:
                    return
        elif isinstance(data, _Connection):
            if mask & selectors.EVENT_READ:
                self._read(data)
            if mask & selectors.EVENT_WRITE and data.state is not _State.CLOSED:
                self._write(data)

    def _accept(self) -> None:
        for _ in range(_ACCEPT_BURST):
            try:
                sock, address = self._listener.accept()
            except BlockingIOError:
                return
            except ConnectionAbortedError:  # gone before it was accepted
                continue
            except OSError:  # out of file descriptors: make room, or wait for some to come free
                if not self._make_room():
                    self._pause_accepting()
                    return
                continue
            sock.setblocking(False)
            waiting = len(self._connections) - len(self._streams)
            if waiting >= self.limits.connections and not self._make_room():
                sock.close()  # every connection is being answered: each is done within its deadline
                continue
            now = time.monotonic()
            connection = _Connection(sock, address, now)
            connection.deadline = now + self.limits.head_seconds
            self._connections.add(connection)
            self._watch(connection, selectors.EVENT_READ)

    def _make_room(self) -> bool:
        """Close the connection that has waited longest for a head: a browser sends one at once."""
        idle = [c for c in self._connections if c.state in (_State.HEAD, _State.DRAIN)]
        if not idle:
            return False
        self._close(min(idle, key=lambda connection: connection.since))
        return True

    def _pause_accepting(self) -> None:
        self._selector.unregister(self._listener)
        self._accepting = False
        self._accept_again = time.monotonic() + _PAUSE_SECONDS

    def _read(self, connection: _Connection) -> None:
        try:
            chunk = connection.sock.recv(_READ_BYTES)
        except BlockingIOError:
            return
        except OSError:  # reset by the client
            self._close(connection)
            return
        if not chunk:
            self._close(connection)
        elif connection.state is _State.HEAD:
            scanned = max(0, len(connection.inbox) - 3)
            connection.inbox += chunk
            self._take_head(connection, scanned)
        # Anything else (a page writing into its reload stream, the rest of a refused head) is dropped.

    def _take_head(self, connection: _Connection, scanned: int = 0) -> None:
        """Hand a complete head to a worker; refuse one larger than the limit."""
        if connection.inbox.startswith((b"\r", b"\n")):  # empty lines before a request are allowed
            connection.inbox[:] = connection.inbox.lstrip(b"\r\n")
            scanned = 0
        end = _HEAD_END.search(connection.inbox, scanned)
        size = end.end() if end else len(connection.inbox)
        if size > self.limits.head_bytes:
            connection.inbox.clear()
            self._answer(connection, _TOO_LARGE)
        elif end is not None:
            head = bytes(connection.inbox[:size])
            del connection.inbox[:size]
            connection.state = _State.WORK
            self._watch(connection, 0)
            self._jobs.put((connection, head))

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            connection, head = job
            try:
                result = self.respond(head, connection.address)
            except Exception:  # a bug in the preview: shown in the terminal, the browser gets a 500
                request_line = head.split(b"\n", 1)[0].strip()
                print(f"preview: answering {request_line!r} failed:", file=sys.stderr)
                traceback.print_exc()
                result = _FAILED
            self._done.put((connection, result))
            self.wake()

    def _collect(self) -> None:
        while True:
            try:
                connection, result = self._done.get_nowait()
            except queue.Empty:
                return
            if connection.state is not _State.WORK:  # closed meanwhile
                continue
            if isinstance(result, Stream):
                self._open_stream(connection, result)
            else:
                self._answer(connection, result)

    def _answer(self, connection: _Connection, answer: Answer) -> None:
        connection.state = _State.SEND
        connection.outbox += answer.data
        connection.close_after = answer.close
        connection.deadline = time.monotonic() + self.limits.send_seconds
        self._write(connection)

    def _open_stream(self, connection: _Connection, stream: Stream) -> None:
        while len(self._streams) >= self.limits.streams:
            self._close(next(iter(self._streams)))  # the browser reconnects, and reloads if it must
        connection.state = _State.STREAM
        connection.shown = stream.shown
        connection.next_alive = time.monotonic() + self.limits.alive_seconds
        self._streams[connection] = None
        connection.outbox += stream.head
        self._send_version(connection, self.version())
        self._write(connection)

    def _send_version(self, connection: _Connection, version: int) -> None:
        if connection.shown != version:
            connection.outbox += f"data: {version}\n\n".encode()
            connection.shown = version

    def _announce(self) -> None:
        version = self.version()
        if version == self._announced:
            return
        self._announced = version
        for connection in list(self._streams):
            self._send_version(connection, version)
            self._write(connection)

    def _write(self, connection: _Connection) -> None:
        try:
            sent = connection.sock.send(connection.outbox) if connection.outbox else 0
        except BlockingIOError:
            sent = 0
        except OSError:  # the client went away
            self._close(connection)
            return
        del connection.outbox[:sent]
        if connection.state is _State.STREAM:
            if len(connection.outbox) > _STREAM_BACKLOG:  # the page stopped reading
                self._close(connection)
            else:
                self._watch(
                    connection, selectors.EVENT_READ | (selectors.EVENT_WRITE * bool(connection.outbox))
                )
        elif connection.outbox:
            self._watch(connection, selectors.EVENT_WRITE)  # not reading: a next request waits its turn
        elif connection.close_after:
            self._drain(connection)
        else:
            now = time.monotonic()
            connection.state = _State.HEAD
            connection.since = now
            connection.deadline = now + self.limits.head_seconds
            self._watch(connection, selectors.EVENT_READ)
            self._take_head(connection)  # a request sent before this answer was read

    def _drain(self, connection: _Connection) -> None:
        """End the connection once the client has read the answer: closing now could reset it unread."""
        try:
            connection.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._close(connection)
            return
        connection.state = _State.DRAIN
        connection.deadline = time.monotonic() + _DRAIN_SECONDS
        self._watch(connection, selectors.EVENT_READ)

    def _expire(self, now: float) -> None:
        if not self._accepting and now >= self._accept_again:
            self._selector.register(self._listener, selectors.EVENT_READ, "listen")
            self._accepting = True
        for connection in list(self._connections):
            if connection.state is _State.STREAM:
                if now >= connection.next_alive:
                    connection.next_alive = now + self.limits.alive_seconds
                    connection.outbox += b": alive\n\n"
                    self._write(connection)
            elif connection.state is not _State.WORK and now >= connection.deadline:
                self._close(connection)

    def _watch(self, connection: _Connection, events: int) -> None:
        if events == connection.events:
            return
        if not connection.events:
            self._selector.register(connection.sock, events, connection)
        elif not events:
            self._selector.unregister(connection.sock)
        else:
            self._selector.modify(connection.sock, events, connection)
        connection.events = events

    def _close(self, connection: _Connection) -> None:
        if connection.state is _State.CLOSED:
            return
        self._watch(connection, 0)
        connection.sock.close()
        connection.state = _State.CLOSED
        self._connections.discard(connection)
        self._streams.pop(connection, None)


def _last_answer(status: HTTPStatus, text: str) -> Answer:
    """A plain-text answer that ends the connection."""
    body = text.encode()
    head = (
        f"HTTP/1.1 {status.value} {status.phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return Answer(head.encode() + body, close=True)


_TOO_LARGE = _last_answer(
    HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "the request's head is larger than the preview reads\n"
)
_FAILED = _last_answer(HTTPStatus.INTERNAL_SERVER_ERROR, "the preview failed: its terminal says why\n")
