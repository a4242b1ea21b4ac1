""" "Add to calendar" links for Google, Outlook and Yahoo, which need no attachment.

Short on purpose: title, times, place, and the links to join online and to the event's page.
The long description travels in the attached calendar; links of a few hundred characters can
be read past in a plain-text email and never hit a service's length limit (HTTP 414).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from urllib.parse import quote

from announcer.languages import SOURCE, translations
from announcer.model.event import Event
from announcer.render.calendar import location, summary


@dataclass(frozen=True)
class CalendarLink:
    service: str
    url: str


def _query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{key}={quote(value, safe='')}" for key, value in pairs if value)


def link_details(event: Event, language: str = SOURCE) -> str:
    """What a calendar entry made from a link says besides title, time and place."""
    _ = translations(language).gettext
    venue = event.venue
    lines = [_("Join online: %(url)s") % {"url": venue.online_url}] if venue and venue.online_url else []
    if event.url:
        lines.append(_("More: %(url)s") % {"url": event.url})
    return "\n".join(lines)


def calendar_links(event: Event, language: str = SOURCE) -> list[CalendarLink]:
    """One link per service, each carrying the same title, times, place and join link as the ICS."""
    title = summary(event)
    place = location(event) or ""
    details = link_details(event, language)
    start_utc, end_utc = event.starts_at.astimezone(UTC), event.ends_at.astimezone(UTC)
    google = [
        ("action", "TEMPLATE"),
        ("text", title),
        ("dates", f"{event.start:%Y%m%dT%H%M%S}/{event.ends_at:%Y%m%dT%H%M%S}"),
        ("ctz", event.zone.key),
        ("details", details),
        ("location", place),
    ]
    outlook = [
        ("path", "/calendar/action/compose"),
        ("rru", "addevent"),
        ("startdt", f"{start_utc:%Y-%m-%dT%H:%M:%SZ}"),
        ("enddt", f"{end_utc:%Y-%m-%dT%H:%M:%SZ}"),
        ("subject", title),
        ("body", details),
        ("location", place),
    ]
    yahoo = [
        ("v", "60"),
        ("title", title),
        ("st", f"{start_utc:%Y%m%dT%H%M%SZ}"),
        ("et", f"{end_utc:%Y%m%dT%H%M%SZ}"),
        ("desc", details),
        ("in_loc", place),
    ]
    return [
        CalendarLink("Google Calendar", "https://calendar.google.com/calendar/render?" + _query(google)),
        CalendarLink("Outlook", "https://outlook.office.com/calendar/deeplink/compose?" + _query(outlook)),
        CalendarLink("Yahoo Calendar", "https://calendar.yahoo.com/?" + _query(yahoo)),
    ]
