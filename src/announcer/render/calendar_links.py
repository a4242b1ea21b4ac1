""" "Add to calendar" links for Google, Outlook and Yahoo, which need no attachment."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from urllib.parse import quote

from announcer.model.event import Event
from announcer.render.calendar import location, summary

DETAILS_LIMIT = 1000  # longer links fail in some services (HTTP 414)


@dataclass(frozen=True)
class CalendarLink:
    service: str
    url: str


def _query(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{key}={quote(value, safe='')}" for key, value in pairs)


def trim(text: str, limit: int = DETAILS_LIMIT) -> str:
    """`text` cut at a word boundary to at most `limit` characters, marked with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,.;:") + "…"


def calendar_links(event: Event, details: str, limit: int = DETAILS_LIMIT) -> list[CalendarLink]:
    """One link per service, each carrying title, times, place and details cut to `limit`."""
    title = summary(event)
    place = location(event) or ""
    details = trim(details, limit)
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
