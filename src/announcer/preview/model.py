"""What the preview shows: the emails recipient #1 would get, rebuilt on every save."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import watchfiles
from icalendar import Calendar

from announcer.compose.message import Composer
from announcer.errors import AnnouncerError, InputError, TemplateError
from announcer.history import history
from announcer.jobs import render_current, render_window
from announcer.load.events import load_events, load_named
from announcer.load.recipients import open_recipients
from announcer.load.secrets import unsubscribe_secret
from announcer.load.settings import load_settings
from announcer.model.recipient import Recipient
from announcer.model.settings import Letterhead, Settings
from announcer.model.window import Window, in_window
from announcer.reader import reader_language
from announcer.render.content import RenderedContent, Renderer
from announcer.render.theme import theme_folder

_INPUT_SUFFIXES = {".yaml", ".yml", ".toml", ".csv", ".j2"}
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
    renderer = Renderer(Letterhead.of(settings))
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
            own = Renderer(Letterhead.of(own_settings)) if own_settings is not settings else renderer
            content = render_current(own, named, sequences, reader_language(reader, named.event.language))
            items[named.slug] = _item(
                named.slug,
                named.event.title,
                Composer(content, own_settings.sender, own_settings.list_, secret),
                reader,
            )
        if not target.single:
            window = Window(target.first_day or settings.today(), target.days)
            label = (
                f"Digest, {window.first:%d %b} + {window.days} days ({len(in_window(events, window))} events)"
            )
            language = reader_language(reader, settings.defaults.language)
            content = render_window(renderer, window, events, sequences, language)
            items["digest"] = _item(
                "digest", label, Composer(content, settings.sender, settings.list_, secret), reader
            )
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
