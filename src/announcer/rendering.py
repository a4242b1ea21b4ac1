"""Event to content, once per event: Jinja2 → MJML → HTML with CSS inlined, the text, the ICS."""

from __future__ import annotations

import logging
import textwrap
from dataclasses import dataclass, replace
from datetime import date, datetime
from importlib.resources import files
from itertools import groupby
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup
from mjml import mjml2html
from premailer import Premailer

from announcer import factories, prose
from announcer.calendar import Organizer, build_calendar
from announcer.calendar_links import DETAILS_LIMIT, CalendarLink, calendar_links, trim
from announcer.digest import Listed, Window
from announcer.errors import TemplateError
from announcer.loading import display_path
from announcer.model import Event, Speaker
from announcer.palette import palette_for
from announcer.recipients import Recipient
from announcer.settings import Settings
from announcer.slots import RecipientSlots, fill

ICS_FILENAME = "invite.ics"
DIGEST_DETAILS_LIMIT = 120  # a digest carries three links per event: keep each short
HTML_BUDGET = 90_000  # Gmail clips HTML at about 102 KB; leave room for what servers add
TEASER_LIMIT = 180  # two or three lines of the abstract
TEXT_WIDTH = 72


def theme_folder() -> Path:
    """The packaged default theme (in a source checkout, the repository's `templates/email`)."""
    packaged = Path(str(files("announcer") / "theme"))
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "templates" / "email"
    if checkout.is_dir():
        return checkout
    raise TemplateError(f"the default theme is missing: neither {packaged} nor {checkout} exists")


def environment(workspace: Path) -> jinja2.Environment:
    """Templates from the workspace's `templates/email/` first, then the packaged theme."""
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.FileSystemLoader(workspace / "templates" / "email"),
                jinja2.FileSystemLoader(theme_folder()),
            ]
        ),
        autoescape=jinja2.select_autoescape(enabled_extensions=("mjml.j2", "html.j2"), default=False),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["markdown"] = prose.to_html
    env.filters["plain"] = prose.to_text
    env.filters["wrap"] = _wrap
    env.filters["wrap_list"] = _wrap_list
    env.filters["underline"] = lambda text, mark="-": f"{text}\n{mark * len(text)}"
    env.filters["authors"] = authors_html
    env.filters["short_title"] = lambda title: title.split(":", 1)[0].strip()
    return env


def authors_html(authors: list[str], speakers: list[Speaker]) -> Markup:
    """An author list with the speakers' own names in bold ("Mougiakakos D")."""
    names = []
    for author in authors:
        name = Markup('<span class="nowrap">{}</span>').format(author)
        names.append(Markup("<strong>{}</strong>").format(name) if _is_speaker(author, speakers) else name)
    return Markup(", ").join(names)


def _is_speaker(author: str, speakers: list[Speaker]) -> bool:
    """Whether "Surname Initials" names one of the speakers."""
    surname, _, initials = author.rpartition(" ")
    return any(
        surname.casefold() == speaker.name.split()[-1].casefold() and initials[:1] == speaker.name[:1]
        for speaker in speakers
    )


def _wrap(text: str, width: int = TEXT_WIDTH, indent: str = "", hanging: str | None = None) -> str:
    return textwrap.fill(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=indent if hanging is None else hanging,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _wrap_list(items: list[str], width: int = TEXT_WIDTH, indent: str = "") -> str:
    """Items joined by commas and wrapped between items, never inside one ("Mougiakakos D")."""
    lines, line = [], indent
    for number, item in enumerate(items):
        piece = item + ("," if number < len(items) - 1 else "")
        if line.strip() and len(line) + 1 + len(piece) > width:
            lines.append(line)
            line = indent
        line += (" " if line.strip() else "") + piece
    lines.append(line)
    return "\n".join(lines)


@dataclass(frozen=True)
class Schedule:
    """When, in words: "Friday 6 March 2026", "12:00–13:00", "Stockholm time (CET)"."""

    date: str
    times: str
    zone: str
    short: str

    @classmethod
    def of(cls, event: Event) -> Schedule:
        start, end = event.starts_at, event.ends_at
        date = _long_date(start)
        times = f"{start:%H:%M}–{end:%H:%M}"
        if end.date() != start.date():
            times = f"{start:%H:%M} – {_long_date(end)}, {end:%H:%M}"
        city = event.zone.key.rsplit("/", 1)[-1].replace("_", " ")
        abbreviation = start.tzname() or ""
        zone = abbreviation if city in ("UTC", abbreviation) else f"{city} time ({abbreviation})"
        short = f"{start:%a} {start.day} {start:%b}, {start:%H:%M}"
        return cls(date, times, zone, short)


def _long_date(moment: date | datetime) -> str:
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def date_range(first: date, last: date) -> str:
    """ "6 March", "2–6 March", "30 March – 3 April", "28 December 2026 – 3 January 2027"."""
    if first == last:
        return f"{first.day} {first:%B}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {last:%B}"
    if first.year == last.year:
        return f"{first.day} {first:%B} – {last.day} {last:%B}"
    return f"{first.day} {first:%B %Y} – {last.day} {last:%B %Y}"


@dataclass(frozen=True)
class DigestEntry:
    """One event as a digest shows it."""

    slug: str
    event: Event
    schedule: Schedule
    reader_time: str | None  # the start on the reader's clock, when their zone differs
    teaser: str
    read_more: str | None  # the event's page, or an anchor to its abstract further down
    calendar_links: list[CalendarLink]
    calendar_filename: str
    ics: bytes


@dataclass(frozen=True)
class DigestDay:
    label: str
    entries: list[DigestEntry]


@dataclass(frozen=True)
class CalendarFile:
    """A calendar attached to a message."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class EventCalendar:
    """One event's calendar and its "Add to calendar" links."""

    links: list[CalendarLink]
    ics: bytes


@dataclass(frozen=True)
class RenderedContent:
    """Everything a message needs, the same for every recipient (slots aside)."""

    slug: str
    uid: str
    subject: str
    html: str
    text: str
    calendars: tuple[CalendarFile, ...]

    @property
    def ics(self) -> bytes:
        """The (first) calendar: an invitation's only one."""
        return self.calendars[0].data

    def personalised(self, recipient: Recipient | None, unsubscribe_url: str) -> tuple[str, str]:
        """The HTML and text with this recipient's values filled in (None: no one in particular)."""
        return (
            fill(self.html, recipient, unsubscribe_url, as_html=True),
            fill(self.text, recipient, unsubscribe_url, as_html=False),
        )


def organizer_of(event: Event, settings: Settings) -> Organizer:
    """The host if they gave an address, else the sender: calendar replies reach a person."""
    if event.host and event.host.email:
        return Organizer(event.host.name, event.host.email)
    return Organizer(settings.sender.name, settings.sender.email)


def event_uid(slug: str, settings: Settings) -> str:
    """The same event always has the same UID, so a later send updates the calendar entry."""
    return f"{slug}@{settings.sender.domain}"


class Renderer:
    """Renders events with one workspace's templates and settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = environment(settings.workspace)

    def render_event(self, event: Event, slug: str, *, sequence: int = 0) -> RenderedContent:
        """The subject, HTML, text and ICS of one event's invitation."""
        calendar = self.event_calendar(event, slug, sequence)
        context = self._context(event=event, schedule=Schedule.of(event), calendar_links=calendar.links)
        return self._content(
            "invitation",
            context,
            slug,
            event_uid(slug, self.settings),
            (CalendarFile(ICS_FILENAME, calendar.ics),),
        )

    def event_calendar(
        self, event: Event, slug: str, sequence: int = 0, *, details_limit: int = DETAILS_LIMIT
    ) -> EventCalendar:
        """The event's own calendar (its stable UID) and "Add to calendar" links."""
        description = self._render("description.txt.j2", self._context(event=event))
        ics = build_calendar(
            event,
            uid=event_uid(slug, self.settings),
            organizer=organizer_of(event, self.settings),
            description=description,
            stamp=factories.utc_now(),
            sequence=sequence,
        )
        return EventCalendar(calendar_links(event, description, details_limit), ics)

    def render_digest(
        self, window: Window, listed: list[Listed], sequences: dict[str, int] | None = None
    ) -> RenderedContent:
        """One digest of the listed events: each with its own calendar file (the invitation's UID).

        Abstracts of events without a page of their own are appended for "Read the abstract",
        unless that would take the HTML past the budget: then the teasers stand alone.
        """
        entries = [self._digest_entry(item, (sequences or {}).get(item.slug, 0)) for item in listed]
        digest = self._digest(window, entries)
        if len(digest.html.encode()) > HTML_BUDGET:
            without_abstracts = [replace(entry, read_more=entry.event.url) for entry in entries]
            digest = self._digest(window, without_abstracts)
        return digest

    def _digest(self, window: Window, entries: list[DigestEntry]) -> RenderedContent:
        days = [
            DigestDay(_long_date(day).rsplit(" ", 1)[0], list(group))
            for day, group in groupby(entries, key=lambda entry: entry.event.start.date())
        ]
        calendars = tuple(CalendarFile(entry.calendar_filename, entry.ics) for entry in entries)
        first, last = (
            (entries[0].event.start.date(), entries[-1].event.start.date())
            if entries
            else (window.first, window.last)
        )
        context = self._context(
            window=window,
            days=days,
            entries=entries,
            date_range=date_range(first, last),
            window_range=date_range(window.first, window.last),
        )
        slug = f"digest-{window.first:%Y-%m-%d}"
        uid = f"digest-{window.first:%Y%m%d}-{window.days}d@{self.settings.sender.domain}"
        return self._content("digest", context, slug, uid, calendars)

    def _digest_entry(self, item: Listed, sequence: int) -> DigestEntry:
        event = item.event
        calendar = self.event_calendar(event, item.slug, sequence, details_limit=DIGEST_DETAILS_LIMIT)
        reader_zone = ZoneInfo(self.settings.defaults.timezone)
        reader = event.starts_at.astimezone(reader_zone)
        reader_time = None
        if reader.utcoffset() != event.starts_at.utcoffset():
            city = reader_zone.key.rsplit("/", 1)[-1].replace("_", " ")
            day = f"{reader:%a} " if reader.date() != event.start.date() else ""
            reader_time = f"{day}{reader:%H:%M} {city} time"
        source = event.abstract or event.intro or ""
        teaser = trim(" ".join(prose.to_text(source, width=10**6).split("\n\n")[:1]).strip(), TEASER_LIMIT)
        return DigestEntry(
            slug=item.slug,
            event=event,
            schedule=Schedule.of(event),
            reader_time=reader_time,
            teaser=teaser,
            read_more=event.url or (f"#{item.slug}" if event.abstract else None),
            calendar_links=calendar.links,
            calendar_filename=f"{item.slug}.ics",
            ics=calendar.ics,
        )

    def _content(
        self, name: str, context: dict[str, Any], slug: str, uid: str, calendars: tuple[CalendarFile, ...]
    ) -> RenderedContent:
        """Subject, text and HTML from the `name.*` templates, around the given calendars."""
        subject = " ".join(self._render(f"{name}.subject.j2", context).split())
        text = self._render(f"{name}.txt.j2", context)
        html = self.compile_mjml(self._render(f"{name}.mjml.j2", context), f"{name}.mjml.j2")
        return RenderedContent(slug, uid, subject, html, text + "\n", calendars)

    def _context(self, **values: Any) -> dict[str, Any]:
        return {
            **values,
            "settings": self.settings,
            "palette": palette_for(self.settings.brand.accent),
            "language": self.settings.defaults.language,
            "recipient": RecipientSlots(),
            "ics_filename": ICS_FILENAME,
        }

    def _render(self, name: str, context: dict[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(context).strip()
        except jinja2.TemplateSyntaxError as exc:
            where = display_path(Path(exc.filename)) if exc.filename else name
            raise TemplateError(f"{where}:{exc.lineno}: {exc.message}") from None
        except jinja2.TemplateNotFound as exc:
            raise TemplateError(f"template {exc.name} not found in templates/email/ or the theme") from None
        except jinja2.TemplateError as exc:
            raise TemplateError(f"{_template_position(exc, name)}: {exc.message}") from None

    @staticmethod
    def compile_mjml(mjml: str, name: str) -> str:
        """MJML to email HTML, CSS inlined; keeps the doctype, media queries and `!important`."""
        try:
            html = mjml2html(mjml, fonts={})
        except Exception as exc:  # mjml-python raises bare errors
            raise TemplateError(f"{name}: MJML does not compile: {exc}") from None
        html = html.replace("<!doctype html>", "<!DOCTYPE html>", 1)
        inliner = Premailer(
            html,
            keep_style_tags=True,
            strip_important=False,
            allow_network=False,
            disable_validation=True,
            cssutils_logging_level=logging.CRITICAL,
            disable_basic_attributes=["width", "height"],
        )
        return str(inliner.transform(pretty_print=False))


def _template_position(error: Exception, fallback: str) -> str:
    """`file:line` of the template frame an error was raised in (Jinja rewrites tracebacks so)."""
    position = fallback
    trace = error.__traceback__
    while trace is not None:
        filename = trace.tb_frame.f_code.co_filename
        if filename.endswith(".j2"):
            position = f"{display_path(Path(filename))}:{trace.tb_lineno}"
        trace = trace.tb_next
    return position
