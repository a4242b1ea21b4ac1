"""The preview's answers, as an ASGI app: the page, the exact parts of each email, its state, and
the reload stream that tells a page of each save. Only requests addressed to this machine are
answered (a web page cannot reach the preview by DNS rebinding)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs

import jinja2
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import Response, StreamingResponse

from announcer.hosts import is_loopback
from announcer.preview.model import Item, Preview, Snapshot, readable_calendar, with_scheme
from announcer.render.clients import GMAIL_CLIP

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_SINGLE_ROUTES = {
    "/": "page",
    "/email.html": "email.html",
    "/email.txt": "email.txt",
    "/event.ics": "event.ics",
}
_ITEM_ROUTE = re.compile(r"/([a-z0-9-]+)/(|email\.html|email\.txt|event\.ics|[a-z0-9-]+\.ics)")
_VERSION = re.compile(r"[0-9]{1,18}")  # ASCII digits only: int() would take "²" or a million digits badly
# A Host header: a name or a bracketed IPv6 address, and an optional port; nothing more.
_HOST = re.compile(r"(?P<name>\[[0-9A-Fa-f:.]+\]|[^\[\]:@/\s]+)(?::[0-9]{1,5})?")


class _Stream:
    """One open reload stream: woken when the version changes, or to end."""

    def __init__(self) -> None:
        self.wake = asyncio.Event()
        self.ended = False


class Reloads:
    """The reload streams open (server-sent events), at most `cap`: a new one ends the oldest (its
    browser reconnects, and reloads if it must). Told of each rebuild by the watching thread."""

    def __init__(self, preview: Preview, cap: int, alive_seconds: float) -> None:
        self.preview = preview
        self.cap = cap
        self.alive_seconds = alive_seconds  # between keep-alive comments on an idle stream
        self._open: dict[_Stream, None] = {}  # oldest first
        self._loop: asyncio.AbstractEventLoop | None = None
        preview.listeners.append(self.changed)

    def changed(self) -> None:
        """A rebuild happened (called from the watching thread): wake every stream."""
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(self._wake_all)
        except RuntimeError:  # the server stopped meanwhile: no stream to tell
            return

    def _wake_all(self) -> None:
        for stream in self._open:
            stream.wake.set()

    def end_all(self) -> None:
        """End every stream (the server stops): each answer ends, its connection closes."""
        for stream in list(self._open):
            self._end(stream)

    def _end(self, stream: _Stream) -> None:
        stream.ended = True
        stream.wake.set()
        self._open.pop(stream, None)

    async def events(self, shown: int) -> AsyncIterator[bytes]:
        """The stream's events: the version whenever it differs from the one the page shows, a
        comment now and then to keep the connection, until ended."""
        self._loop = asyncio.get_running_loop()
        stream = _Stream()
        while len(self._open) >= self.cap:
            self._end(next(iter(self._open)))
        self._open[stream] = None
        try:
            while not stream.ended:
                version = self.preview.snapshot.version
                if version != shown:
                    shown = version
                    yield f"data: {version}\n\n".encode()
                    continue
                try:
                    async with asyncio.timeout(self.alive_seconds):
                        await stream.wake.wait()
                except TimeoutError:
                    yield b": alive\n\n"
                stream.wake.clear()
        finally:
            self._open.pop(stream, None)


def _page_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(files("announcer.preview") / "pages")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["kilobytes"] = lambda size: f"{size / 1000:.1f}"
    return env


def _plain(status: int, kind: str, body: bytes) -> Response:
    return Response(
        body, status, {"content-type": kind, "cache-control": "no-store", "x-content-type-options": "nosniff"}
    )


_NOT_FOUND = (404, "text/plain", b"not found\n")


class PreviewApp:
    """Answers each request from the preview's current snapshot."""

    def __init__(self, preview: Preview, reloads: Reloads, any_host: bool = False) -> None:
        self.preview = preview
        self.reloads = reloads
        self.any_host = any_host
        self.pages = _page_templates()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = Headers(scope=scope)
        response = await self.answer(scope, headers)
        if "content-length" in headers or "transfer-encoding" in headers:
            # Its body is never read: it must not be taken for the next request.
            response.headers["connection"] = "close"
        await response(scope, receive, send)

    async def answer(self, scope: Scope, headers: Headers) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            return Response(b"the preview is only read\n", 405, {"allow": "GET, HEAD", "connection": "close"})
        if not self._host_allowed(headers):
            return _plain(403, "text/plain", b"this preview answers only to localhost\n")
        query = parse_qs(scope["query_string"].decode("ascii", "replace"))
        scheme = query.get("scheme", [""])[0]
        snapshot = self.preview.snapshot
        route = scope["path"]
        if route == "/reload":
            shown = query.get("shown", [""])[0]
            return self._reload(int(shown) if _VERSION.fullmatch(shown) else snapshot.version)
        if route == "/state":
            body = json.dumps({"version": snapshot.version, "error": snapshot.error}).encode()
            return _plain(200, "application/json", body)
        if self.preview.target.single:
            item = next(iter(snapshot.items.values()), None)
            name = _SINGLE_ROUTES.get(route)
            if name is not None:
                return await self._part(snapshot, item, name, scheme)
        elif route == "/":
            return await self._page("index.html.j2", snapshot=snapshot, item=None)
        elif (match := _ITEM_ROUTE.fullmatch(route)) and match[1] in snapshot.items:
            return await self._part(snapshot, snapshot.items[match[1]], match[2] or "page", scheme)
        return _plain(*_NOT_FOUND)

    async def _part(self, snapshot: Snapshot, item: Item | None, name: str, scheme: str) -> Response:
        if name == "page":
            return await self._page("item.html.j2", snapshot=snapshot, item=item)
        if item is None:
            return _plain(503, "text/plain; charset=utf-8", (snapshot.error or "").encode())
        if name == "email.html":
            body = with_scheme(item.html, scheme) if scheme in ("light", "dark") else item.html
            return _plain(200, "text/html; charset=utf-8", body.encode())
        if name == "email.txt":
            return _plain(200, "text/plain; charset=utf-8", item.text.encode())
        calendars = {calendar.filename: calendar.data for calendar in item.content.calendars}
        data = item.content.ics if name == "event.ics" else calendars.get(name)
        if data is None:
            return _plain(*_NOT_FOUND)
        return _plain(200, "text/calendar; charset=utf-8", data)

    async def _page(self, template: str, **context: object) -> Response:
        """A page of the preview, rendered in a thread (an email's page takes milliseconds)."""
        page = await run_in_threadpool(
            self.pages.get_template(template).render,
            **context,
            single=self.preview.target.single,
            clip=GMAIL_CLIP,
            calendars=readable_calendar,
        )
        return _plain(200, "text/html; charset=utf-8", page.encode())

    def _reload(self, shown: int) -> Response:
        """Server-sent events; the stream is the connection's last answer."""
        return StreamingResponse(
            self.reloads.events(shown),
            headers={"content-type": "text/event-stream", "cache-control": "no-store", "connection": "close"},
        )

    def _host_allowed(self, headers: Headers) -> bool:
        """Refuse requests for other host names: a web page cannot reach the preview by DNS rebinding."""
        if self.any_host:
            return True
        hosts = headers.getlist("host")
        # The whole value is a name and an optional port, nothing else: `localhost:80@attacker.example`
        # or `localhost.attacker.example` names another host.
        parsed = _HOST.fullmatch(hosts[0].strip(" \t")) if len(hosts) == 1 else None
        return parsed is not None and is_loopback(parsed["name"])
