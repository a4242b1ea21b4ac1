"""Where an event lives on the static site (`announcer site`), and how to subscribe to its series:
one home for the addresses the site writes and the emails link to."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from announcer.model.named import NamedEvent
from announcer.render.calendar_links import CalendarLink
from announcer.slugs import slug_of


def site_key(named: NamedEvent) -> str:
    """The site folder of the event's series: its file's id, else its name as a slug."""
    return named.series_id or slug_of(named.event.series) or "events"


def page_url(base_url: str, named: NamedEvent) -> str:
    """The event's page on the site."""
    return f"{base_url.rstrip('/')}/{site_key(named)}/{named.slug}.html"


def subscribe_links(base_url: str, key: str, name: str) -> list[CalendarLink]:
    """A series' calendar feed to subscribe to: webcal (Apple Calendar, Thunderbird), and Google's
    and Outlook's own addresses for subscribing to a calendar on the web."""
    https = f"{base_url.rstrip('/')}/{key}.ics"
    webcal = "webcal://" + https.split("://", 1)[1]
    outlook = "https://outlook.live.com/calendar/0/addfromweb?" + urlencode({"url": https, "name": name})
    return [
        CalendarLink("Apple Calendar", webcal),
        CalendarLink(
            "Google Calendar", f"https://calendar.google.com/calendar/r?cid={quote(webcal, safe='')}"
        ),
        CalendarLink("Outlook", outlook),
    ]
