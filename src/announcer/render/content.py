"""An event to content, once per event: subject, HTML, plain text and its calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from announcer import clock, prose
from announcer.kinds import KINDS, Kind, Method, method_of, slug_of
from announcer.languages import translations
from announcer.lifecycle import Edition, organizer_of
from announcer.model.event import Event
from announcer.model.named import NamedEvent
from announcer.model.settings import Letterhead
from announcer.render.calendar import build_calendar
from announcer.render.calendar_links import CalendarLink, calendar_links
from announcer.render.changes import changes, update_headline
from announcer.render.deprecated import SettingsAlias
from announcer.render.filters import trim
from announcer.render.palette import palette_for
from announcer.render.site_links import page_url, site_key, subscribe_links
from announcer.render.slots import RecipientSlots, new_slot_key
from announcer.render.theme import Theme
from announcer.render.wording import Schedule, reader_time, reminder_when

ICS_FILENAME = "invite.ics"
OPENING_LIMIT = 300  # a calendar's opening of the abstract: a few lines


def opening(markdown: str, limit: int) -> str:
    """The first paragraph of a Markdown text as plain text, cut at a word to at most `limit`."""
    whole = prose.to_text(markdown, width=10**6).strip()
    return trim(whole.split("\n\n")[0].strip(), limit)


@dataclass(frozen=True)
class CalendarFile:
    """A calendar attached to a message, with the iTIP method it carries (RFC 5546): the one its
    kind of message says (see `kinds.method_of`), never a default."""

    filename: str
    data: bytes
    method: Method
    attendee: bool = False  # each reader is named as its ATTENDEE (RSVP sends and their cancellations)
    # False: a file to open (application/ics), not a calendar part the mail program acts on: a
    # message's programs act on one such part only (see `render.digest`)
    acted_on: bool = True


@dataclass(frozen=True)
class EventCalendar:
    """One event's calendar and its "Add to calendar" links."""

    links: list[CalendarLink]
    ics: bytes


@dataclass(frozen=True)
class RenderedContent:
    """Everything a message needs, the same for every recipient but for its placeholders.

    `slot_key` marks this render's placeholders (see `render.slots`).
    """

    slug: str
    uid: str
    subject: str
    html: str
    text: str
    calendars: tuple[CalendarFile, ...]
    slot_key: str
    language: str = "en"  # what its fixed words are written in (Content-Language, RFC 3282)
    kind: Kind = Kind.INVITATION  # what kind of message it makes (Feedback-ID names it)

    @property
    def ics(self) -> bytes:
        """The (first) calendar: an invitation's only one."""
        return self.calendars[0].data


class Renderer:
    """Renders content with one workspace's theme and letterhead, in any of its languages."""

    def __init__(self, letterhead: Letterhead) -> None:
        self.letterhead = letterhead
        self._old_settings = SettingsAlias(letterhead)  # `settings` in templates, deprecated
        self.slot_key = new_slot_key()
        self._themes: dict[str, Theme] = {}

    def theme(self, language: str) -> Theme:
        """The workspace's templates, their words in `language` (made once)."""
        if language not in self._themes:
            self._themes[language] = Theme(self.letterhead.workspace, language)
        return self._themes[language]

    def render_event(
        self, named: NamedEvent, edition: Edition, language: str | None = None
    ) -> RenderedContent:
        """The subject, HTML, text and ICS of one event's invitation, update or cancellation (its
        edition's kind), in `language` (the event's own unless given)."""
        language = language or named.event.language
        kind = edition.kind
        method = method_of(kind, rsvp=edition.rsvp)
        calendar = self.event_calendar(named.event, edition, language, method)
        row = KINDS[kind]
        found = changes(edition, named.event, language) if row.tells_changes else []
        words = translations(language).gettext
        headline = words(row.headline) if row.headline else update_headline(found, language) if found else ""
        context = self.context(
            language,
            event=named.event,
            schedule=Schedule.of(named.event, language),
            calendar_links=calendar.links,
            changes=found,
            headline=headline,
            notice=words(row.notice) if row.notice else "",
            rsvp=edition.rsvp,
            organizer=organizer_of(named.event, self.letterhead.sender),
            **self.on_site(named),
        )
        attached = CalendarFile(ICS_FILENAME, calendar.ics, method, attendee=edition.rsvp)
        return self.content(kind, context, slug_of(kind, named.slug), edition.uid, (attached,))

    def on_site(self, named: NamedEvent) -> dict[str, Any]:
        """With `[site] url`: the event's page ("page") and ways to subscribe to its series."""
        site = self.letterhead.site
        if site is None:
            return {"page": None, "subscribe": []}
        name = named.event.series or self.letterhead.sender.name
        return {
            "page": page_url(site.url, named),
            "subscribe": subscribe_links(site.url, site_key(named), name),
        }

    def render_reminder(
        self, named: NamedEvent, edition: Edition, lead: str, now: datetime, language: str | None = None
    ) -> RenderedContent:
        """A short reminder of the event, sent `lead` before it ("1d"), worded as of `now`; its
        calendar is the event's, as the digest attaches it (PUBLISH, nobody asked to answer)."""
        language = language or named.event.language
        method = method_of(Kind.REMINDER)
        calendar = self.event_calendar(named.event, edition, language, method)
        schedule = Schedule.of(named.event, language)
        day = reminder_when(schedule, named.event.starts_at, now, language)
        context = self.context(
            language,
            event=named.event,
            schedule=schedule,
            day_word=day.word,
            day=day.day,
            when=day.when,
            # the start on the workspace's clock too, as the digest says it
            reader_time=reader_time(named.event, ZoneInfo(self.letterhead.default_zone), language),
        )
        calendars = (CalendarFile(ICS_FILENAME, calendar.ics, method),)
        slug = slug_of(Kind.REMINDER, named.slug, lead=lead)
        return self.content(Kind.REMINDER, context, slug, edition.uid, calendars)

    def render_materials(
        self, named: NamedEvent, edition: Edition, language: str | None = None
    ) -> RenderedContent:
        """What the talk left behind (`materials:`), with the event's calendar carrying them
        (PUBLISH at its current SEQUENCE, as a reminder's)."""
        language = language or named.event.language
        method = method_of(Kind.MATERIALS)
        calendar = self.event_calendar(named.event, edition, language, method)
        context = self.context(language, event=named.event, schedule=Schedule.of(named.event, language))
        calendars = (CalendarFile(ICS_FILENAME, calendar.ics, method),)
        return self.content(
            Kind.MATERIALS, context, slug_of(Kind.MATERIALS, named.slug), edition.uid, calendars
        )

    def event_calendar(
        self, event: Event, edition: Edition, language: str, method: Method, *, whole: bool = False
    ) -> EventCalendar:
        """The event's own calendar (its stable UID and SEQUENCE) and "Add to calendar" links,
        carrying the iTIP `method` of the message (or page) it goes in (see `kinds.method_of`).
        Its DESCRIPTION carries the abstract's opening, the same in every kind of message:
        Thunderbird shows it as a table above the email, and marks in red whatever differs
        from the entry it has, so a reminder or cancellation with less looks like a change.
        Only the site's calendar (`whole`), which no email stands beside, has all of it."""
        source = event.abstract or ""
        abstract = source if whole else opening(source, OPENING_LIMIT)
        context = self.context(language, event=event, abstract=abstract, whole=whole)
        description_text = self.theme(language).render("description.txt.j2", context)
        ics = build_calendar(
            event,
            uid=edition.uid,
            organizer=organizer_of(event, self.letterhead.sender),
            description=description_text,
            stamp=clock.utc_now(),
            sequence=edition.sequence,
            method=method,
        )
        return EventCalendar(calendar_links(event, language), ics)

    def content(
        self, kind: Kind, context: dict[str, Any], slug: str, uid: str, calendars: tuple[CalendarFile, ...]
    ) -> RenderedContent:
        """Subject, text and HTML from the kind's templates, around the given calendars."""
        theme = self.theme(context["language"])
        name = KINDS[kind].template
        subject = " ".join(theme.render(f"{name}.subject.j2", context).split())
        text = theme.render(f"{name}.txt.j2", context)
        html = theme.render_html(f"{name}.mjml.j2", context)
        language = context["language"]
        return RenderedContent(
            slug, uid, subject, html, text + "\n", calendars, self.slot_key, language, kind
        )

    def context(self, language: str, **values: Any) -> dict[str, Any]:
        """What every template sees: the values given, the letterhead's parts (README, "Your own
        templates"), colours, the language and the recipient."""
        letterhead = self.letterhead
        return {
            **values,
            "sender": letterhead.sender,
            "mailing": letterhead.mailing,
            "brand": letterhead.brand,
            "site": letterhead.site,
            "default_zone": letterhead.default_zone,
            "settings": self._old_settings,  # deprecated: goes in a coming release
            "palette": palette_for(letterhead.brand.accent),
            "language": language,
            "recipient": RecipientSlots(self.slot_key, language),
            "ics_filename": ICS_FILENAME,
        }
