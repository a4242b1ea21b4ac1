"""The preview server: what recipients will get, in a browser, refreshed on every save."""

from __future__ import annotations

import io
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jinja2
import watchfiles
from icalendar import Calendar

from announcer.compose.message import Composer
from announcer.errors import AnnouncerError, InputError, TemplateError
from announcer.history import history
from announcer.hosts import is_loopback
from announcer.jobs import render_current, render_window
from announcer.load.events import load_events, load_named
from announcer.load.recipients import open_recipients
from announcer.load.secrets import unsubscribe_secret
from announcer.load.settings import load_settings
from announcer.model.recipient import Recipient
from announcer.model.settings import Settings
from announcer.model.window import Window, in_window
from announcer.preview.connections import DEFAULT_LIMITS, Answer, EventServer, Limits, Stream
from announcer.reader import reader_language
from announcer.render.clients import GMAIL_CLIP
from announcer.render.content import RenderedContent, Renderer
from announcer.render.theme import theme_folder

_INPUT_SUFFIXES = {".yaml", ".yml", ".toml", ".csv", ".j2"}
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
_DARK_QUERY = re.compile(r"\(\s*prefers-color-scheme\s*:\s*dark\s*\)")


@dataclass(frozen=True)
class Item:
    """One email as the preview shows it: the exact parts recipient #1 would get."""

    id: str
    label: str
    content: RenderedContent
    message: EmailMessage
    html: str
    text: str

    @property
    def headers(self) -> list[tuple[str, str]]:
        return [(name, str(value)) for name, value in self.message.items()]

    @property
    def html_bytes(self) -> int:
        return len(self.html.encode())


@dataclass(frozen=True)
class Snapshot:
    """What the preview shows now: the items, or the error that stopped them rendering."""

    version: int
    items: dict[str, Item] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Target:
    """What to preview: one event file, or a folder of them with their digest."""

    path: Path
    config: Path
    to: str | None = None
    first_day: date | None = None
    days: int = 7

    @property
    def single(self) -> bool:
        return self.path.is_file()


def build_items(target: Target) -> dict[str, Item]:
    """Render every email of the target as the next real send would, composed for recipient #1."""
    settings = load_settings(target.config)
    secret = unsubscribe_secret(settings)
    renderer = Renderer(settings)
    reader = _first_recipient(target, settings) or Recipient("recipient@example.org")
    events = (
        [load_named(target.path, settings.defaults)]
        if target.single
        else load_events(target.path, settings.defaults)
    )
    items: dict[str, Item] = {}
    with history(settings.workspace) as sequences:
        for named in events:
            own_settings = named.branded(settings)
            own = Renderer(own_settings) if own_settings is not settings else renderer
            content = render_current(own, named, sequences, reader_language(reader, named.event.language))
            items[named.slug] = _item(
                named.slug, named.event.title, Composer(content, own_settings, secret), reader
            )
        if not target.single:
            window = Window(target.first_day or settings.today(), target.days)
            label = (
                f"Digest, {window.first:%d %b} + {window.days} days ({len(in_window(events, window))} events)"
            )
            language = reader_language(reader, settings.defaults.language)
            content = render_window(renderer, window, events, sequences, language)
            items["digest"] = _item("digest", label, Composer(content, settings, secret), reader)
    return items


def _first_recipient(target: Target, settings: Settings) -> Recipient | None:
    """Recipient #1 of `--to`, else of the workspace's first recipients CSV, else nobody."""
    lists = sorted((settings.workspace / "recipients").glob("*.csv"))
    source = target.to or (str(lists[0]) if lists else None)
    if source is None:
        return None
    return next(iter(open_recipients(source)), None)


def _item(id: str, label: str, composer: Composer, reader: Recipient) -> Item:
    message = composer.compose(reader).message
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    if html_part is None or text_part is None:
        raise TemplateError(f"{label}: the message has no {'HTML' if html_part is None else 'text'} part")
    html, text = str(html_part.get_content()), str(text_part.get_content())
    return Item(id, label, composer.content, message, html, text)


def _is_input(change: watchfiles.Change, path: str) -> bool:
    """Event files, settings, recipient lists and templates; not the outbox, journal or caches."""
    where = Path(path)
    if {"outbox", ".announcer", "node_modules", ".git", ".venv", "__pycache__"}.intersection(where.parts):
        return False
    # A new folder (templates/email/, say) counts too: a file saved into it at once may come
    # before the watcher watches the folder.
    return where.suffix in _INPUT_SUFFIXES or (change == watchfiles.Change.added and where.is_dir())


def with_scheme(email_html: str, scheme: str) -> str:
    """The HTML as a client in `scheme` (light or dark) renders it, whatever the viewer's own setting."""
    return _DARK_QUERY.sub("all" if scheme == "dark" else "not all", email_html)


def readable_calendar(data: bytes) -> list[dict[str, str]]:
    """Each event of a calendar as label → value, times in the event's own zone."""
    events = []
    for entry in Calendar.from_ical(data).walk("VEVENT"):
        start, end = entry.decoded("DTSTART"), entry.decoded("DTEND")
        zone = str(entry["DTSTART"].params.get("TZID", "UTC"))
        events.append(
            {
                "Summary": str(entry.get("SUMMARY", "")),
                "Starts": f"{start:%A %d %B %Y, %H:%M} ({zone})",
                "Ends": f"{end:%A %d %B %Y, %H:%M} ({zone})",
                "Location": str(entry.get("LOCATION", "")),
                "Organizer": str(entry.get("ORGANIZER", "")).removeprefix("mailto:"),
                "UID": str(entry.get("UID", "")),
                "Sequence": str(entry.get("SEQUENCE", 0)),
            }
        )
    return events


class Preview:
    """Keeps the snapshot current: rebuilds it when a watched file changes, tells listeners."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.listeners: list[Callable[[], None]] = []  # called from the watching thread after a rebuild
        self.snapshot = Snapshot(0)
        self.stopping = threading.Event()
        self.rebuild()

    def rebuild(self) -> None:
        version = self.snapshot.version + 1
        try:
            snapshot = Snapshot(version, build_items(self.target))
        except InputError as exc:
            snapshot = Snapshot(version, error="\n".join(str(problem) for problem in exc.problems))
        except AnnouncerError as exc:
            snapshot = Snapshot(version, error=str(exc))
        self.snapshot = snapshot
        for listener in self.listeners:
            listener()

    def watched(self) -> list[Path]:
        """The workspace (events, settings, recipients, templates, even ones made later) and the theme."""
        workspace = self.target.config.resolve().parent
        folders = {workspace, theme_folder(), self.target.path.resolve().parent}
        return sorted(folder for folder in folders if folder.is_dir())

    def watch(self) -> None:
        """Rebuild on every save of an input until stopped (runs in its own thread)."""
        for _changes in watchfiles.watch(
            *self.watched(),
            watch_filter=_is_input,
            debounce=50,
            step=20,
            stop_event=self.stopping,
            raise_interrupt=False,
        ):
            self.rebuild()

    def stop(self) -> None:
        """Stop watching."""
        self.stopping.set()


class PreviewServer(EventServer):
    """Serves the preview; answers only requests addressed to the host it was bound to.

    The connections, however many and however slow, are the loop's (see `connections`); this
    class says what each request gets.
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
        self.any_host = any_host
        self.pages = _page_templates()
        super().__init__(host, port, limits)
        preview.listeners.append(self.wake)

    def respond(self, head: bytes, address: Any) -> Answer | Stream:
        handler = _Handler(self, head, address)
        handler.handle_one_request()
        answer = handler.answer.getvalue()
        if handler.stream_from is not None:
            return Stream(answer, handler.stream_from)
        return Answer(answer, close=handler.close_connection)

    def version(self) -> int:
        return self.preview.snapshot.version

    @property
    def url(self) -> str:
        host, port = self.server_address
        return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def _page_templates() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(files("announcer.preview") / "pages")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["kilobytes"] = lambda size: f"{size / 1000:.1f}"
    return env


class _Handler(BaseHTTPRequestHandler):
    """One request, parsed and answered by `http.server` from a head already read, into a buffer.

    The socket stays with the loop: nothing here waits for a client.
    """

    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"  # not 0.9: a request too broken to name one gets a status line

    def __init__(self, site: PreviewServer, head: bytes, address: Any) -> None:
        # Not BaseRequestHandler's __init__: that one would serve a socket.
        self.site = site
        self.client_address = address
        self.rfile = io.BytesIO(head)
        self.wfile = self.answer = io.BytesIO()
        self.close_connection = True
        self.stream_from: int | None = None  # set when the answer is a reload stream

    def log_message(self, format: str, *args: object) -> None:  # the terminal stays quiet
        return

    def do_GET(self) -> None:
        if "Content-Length" in self.headers or "Transfer-Encoding" in self.headers:
            self.close_connection = True  # a body is never read: it must not be taken for the next request
        if not self._host_allowed():
            self._send(HTTPStatus.FORBIDDEN, "text/plain", b"this preview answers only to localhost\n")
            return
        url = urlsplit(self.path)
        scheme = parse_qs(url.query).get("scheme", [""])[0]
        snapshot = self.site.preview.snapshot
        route = url.path
        if route == "/reload":
            shown = parse_qs(url.query).get("shown", [""])[0]
            self._stream_reloads(int(shown) if _VERSION.fullmatch(shown) else snapshot.version)
            return
        if route == "/state":
            body = json.dumps({"version": snapshot.version, "error": snapshot.error}).encode()
            self._send(HTTPStatus.OK, "application/json", body)
            return
        if self.site.preview.target.single:
            item = next(iter(snapshot.items.values()), None)
            name = _SINGLE_ROUTES.get(route)
            if name is not None:
                self._answer(snapshot, item, name, scheme)
                return
        elif route == "/":
            self._page("index.html.j2", snapshot=snapshot, item=None)
            return
        elif (match := _ITEM_ROUTE.fullmatch(route)) and match[1] in snapshot.items:
            self._answer(snapshot, snapshot.items[match[1]], match[2] or "page", scheme)
            return
        self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")

    def _answer(self, snapshot: Snapshot, item: Item | None, name: str, scheme: str) -> None:
        if name == "page":
            self._page("item.html.j2", snapshot=snapshot, item=item)
        elif item is None:
            self._send(
                HTTPStatus.SERVICE_UNAVAILABLE, "text/plain; charset=utf-8", (snapshot.error or "").encode()
            )
        elif name == "email.html":
            body = with_scheme(item.html, scheme) if scheme in ("light", "dark") else item.html
            self._send(HTTPStatus.OK, "text/html; charset=utf-8", body.encode())
        elif name == "email.txt":
            self._send(HTTPStatus.OK, "text/plain; charset=utf-8", item.text.encode())
        else:
            calendars = {calendar.filename: calendar.data for calendar in item.content.calendars}
            data = item.content.ics if name == "event.ics" else calendars.get(name)
            if data is None:
                self._send(HTTPStatus.NOT_FOUND, "text/plain", b"not found\n")
            else:
                self._send(HTTPStatus.OK, "text/calendar; charset=utf-8", data)

    def _page(self, template: str, **context: object) -> None:
        page = self.site.pages.get_template(template).render(
            **context,
            single=self.site.preview.target.single,
            clip=GMAIL_CLIP,
            calendars=readable_calendar,
        )
        self._send(HTTPStatus.OK, "text/html; charset=utf-8", page.encode())

    def _host_allowed(self) -> bool:
        """Refuse requests for other host names: a web page cannot reach the preview by DNS rebinding."""
        if self.site.any_host:
            return True
        hosts = self.headers.get_all("Host", [])
        # The whole value is a name and an optional port, nothing else: `localhost:80@attacker.example`
        # or `localhost.attacker.example` names another host.
        parsed = _HOST.fullmatch(hosts[0].strip(" \t")) if len(hosts) == 1 else None
        if parsed is None:
            return False
        name = parsed["name"]
        return is_loopback(name)

    def _stream_reloads(self, version: int) -> None:
        """Server-sent events: the new version whenever it differs from the one the page shows.

        The stream is delimited by its end (no length): the loop keeps it open, capped in number.
        """
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.stream_from = version  # the loop sends the events, and holds no worker for it

    def _send(self, status: HTTPStatus, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
