"""An event to content, once per event: subject, HTML, plain text and its calendar."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from announcer import clock
from announcer.lifecycle import Edition, changes, organizer_of, update_headline
from announcer.model.event import Event, NamedEvent
from announcer.model.settings import Settings
from announcer.personalisation import RecipientSlots, new_slot_key
from announcer.render.calendar import build_calendar
from announcer.render.calendar_links import CalendarLink, calendar_links
from announcer.render.palette import palette_for
from announcer.render.theme import Theme
from announcer.render.wording import Schedule

ICS_FILENAME = "invite.ics"


@dataclass(frozen=True)
class CalendarFile:
    """A calendar attached to a message, with the iTIP method it carries (RFC 5546)."""

    filename: str
    data: bytes
    method: str = "PUBLISH"
    attendee: bool = False  # each reader is named as its ATTENDEE (RSVP sends and their cancellations)


@dataclass(frozen=True)
class EventCalendar:
    """One event's calendar and its "Add to calendar" links."""

    links: list[CalendarLink]
    ics: bytes


@dataclass(frozen=True)
class RenderedContent:
    """Everything a message needs, the same for every recipient but for its placeholders.

    `slot_key` marks this render's placeholders (see `personalisation`).
    """

    slug: str
    uid: str
    subject: str
    html: str
    text: str
    calendars: tuple[CalendarFile, ...]
    slot_key: str

    @property
    def ics(self) -> bytes:
        """The (first) calendar: an invitation's only one."""
        return self.calendars[0].data


class Renderer:
    """Renders content with one workspace's theme and settings."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.theme = Theme(settings.workspace)
        self.slot_key = new_slot_key()

    def render_event(self, named: NamedEvent, edition: Edition) -> RenderedContent:
        """The subject, HTML, text and ICS of one event's invitation, update or cancellation."""
        calendar = self.event_calendar(named.event, edition)
        found = changes(edition, named.event) if edition.kind == "update" else []
        context = self.context(
            event=named.event,
            schedule=Schedule.of(named.event),
            calendar_links=calendar.links,
            changes=found,
            headline=update_headline(found) if found else "",
            rsvp=edition.rsvp,
            organizer=organizer_of(named.event, self.settings),
        )
        cancelled = edition.kind == "cancellation"
        name = "cancellation" if cancelled else "invitation"
        slug = f"{named.slug}-cancellation" if cancelled else named.slug
        attached = CalendarFile(ICS_FILENAME, calendar.ics, edition.method, attendee=edition.rsvp)
        return self.content(name, context, slug, edition.uid, (attached,))

    def event_calendar(self, event: Event, edition: Edition) -> EventCalendar:
        """The event's own calendar (its stable UID and SEQUENCE) and "Add to calendar" links."""
        description = self.theme.render("description.txt.j2", self.context(event=event))
        ics = build_calendar(
            event,
            uid=edition.uid,
            organizer=organizer_of(event, self.settings),
            description=description,
            stamp=clock.utc_now(),
            sequence=edition.sequence,
            method=edition.method,
        )
        return EventCalendar(calendar_links(event), ics)

    def content(
        self, name: str, context: dict[str, Any], slug: str, uid: str, calendars: tuple[CalendarFile, ...]
    ) -> RenderedContent:
        """Subject, text and HTML from the `name.*` templates, around the given calendars."""
        subject = " ".join(self.theme.render(f"{name}.subject.j2", context).split())
        text = self.theme.render(f"{name}.txt.j2", context)
        html = self.theme.render_html(f"{name}.mjml.j2", context)
        return RenderedContent(slug, uid, subject, html, text + "\n", calendars, self.slot_key)

    def context(self, **values: Any) -> dict[str, Any]:
        """What every template sees: the values given, the settings, colours and the recipient."""
        return {
            **values,
            "settings": self.settings,
            "palette": palette_for(self.settings.brand.accent),
            "language": self.settings.defaults.language,
            "recipient": RecipientSlots(self.slot_key),
            "ics_filename": ICS_FILENAME,
        }
