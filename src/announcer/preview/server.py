"""The preview server: the preview's app (`web`) on the server `serve` runs too (uvicorn on h11,
`announcer.serve.server`), with limits of its own, made for a browser on this machine.

A connection costs no thread while it waits or while its client is slow to read: uvicorn's loop
holds them all, each request has a deadline to arrive whole, and at most `connections` wait
for one (the one that waited longest makes room). Reload streams are capped apart.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from announcer.preview.model import Item, Preview, Snapshot, Target
from announcer.preview.web import PreviewApp, Reloads
from announcer.serve.server import bounded_server, listen, protocol_for, url_of

__all__ = ["DEFAULT_LIMITS", "Item", "Limits", "Preview", "PreviewServer", "Snapshot", "Target"]


@dataclass(frozen=True)
class Limits:
    """What clients may hold, all in one place: the defaults serve a browser, tests shrink them."""

    head_seconds: float = 10.0  # for a request to arrive whole, from the connect or the last answer
    head_bytes: int = 32 * 1024  # a browser's head, cookies and all, is a few KB
    connections: int = 128  # waiting for a request at once; the one that waited longest makes room
    streams: int = 16  # reload streams at once; a new one ends the oldest
    alive_seconds: float = 15.0  # between keep-alive comments on an idle reload stream


DEFAULT_LIMITS = Limits()


class PreviewServer:
    """Serves the preview; answers only requests addressed to the host it was bound to.

    Listens from the start (`server_address`); `serve_forever`, `shutdown` and `server_close`
    work as `socketserver`'s do.
    """

    def __init__(
        self,
        preview: Preview,
        host: str,
        port: int,
        *,
        any_host: bool = False,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.preview = preview
        self.reloads = Reloads(preview, limits.streams, limits.alive_seconds)
        self._socket = listen(host, port)
        self.server_address: tuple[str, int] = self._socket.getsockname()[:2]
        self.url = url_of(self._socket)
        self._server = bounded_server(
            PreviewApp(preview, self.reloads, any_host),
            protocol_for(limits.head_seconds, waiting_cap=limits.connections),
            head_bytes=limits.head_bytes,
            # A backstop: beyond those waiting and the streams, connections are being answered.
            connections=2 * (limits.connections + limits.streams),
            keep_alive_seconds=max(1, math.ceil(limits.head_seconds)),
            log_level="error",  # the terminal stays quiet: a client that goes away is normal
            before_shutdown=self.reloads.end_all,
        )
        self._stopped = threading.Event()

    def serve_forever(self) -> None:
        """Serve until `shutdown`, Ctrl-C or SIGTERM (the last two in the main thread only)."""
        self._stopped.clear()
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._stopped.set()

    def stop_soon(self) -> None:
        """Make `serve_forever` stop, or return at once if it has yet to start (signal-safe)."""
        self._server.should_exit = True

    def shutdown(self) -> None:
        """Stop `serve_forever` (from another thread) and wait until it has stopped."""
        self.stop_soon()
        self._stopped.wait()

    def server_close(self) -> None:
        self._socket.close()

    def version(self) -> int:
        return self.preview.snapshot.version
