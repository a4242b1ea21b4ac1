"""A static site of the events: a page per event (with schema.org's Event), a page per series,
and feeds to follow a series by: a calendar to subscribe to, and Atom."""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from announcer import prose
from announcer.kinds import method_of
from announcer.lifecycle import Edition
from announcer.model.event import Event
from announcer.model.named import NamedEvent
from announcer.render.calendar import calendar_feed
from announcer.render.calendar_links import CalendarLink
from announcer.render.content import Renderer
from announcer.render.filters import trim
from announcer.render.site_links import subscribe_links
from announcer.render.wording import Schedule

REFRESH = timedelta(hours=12)  # how often a subscribed calendar looks again
ATOM = "http://www.w3.org/2005/Atom"


@dataclass(frozen=True)
class Listed:
    """An event as the site shows it: its edition (cancelled or not) and when its file changed."""

    named: NamedEvent
    edition: Edition
    changed: datetime


@dataclass(frozen=True)
class SeriesPages:
    """The events of one series, under the folder `key` of the site."""

    key: str
    name: str
    description: str | None
    language: str
    events: list[Listed]


@dataclass(frozen=True)
class SiteFile:
    """A file of the site: where it goes (relative to the site's folder) and its bytes."""

    path: str
    data: bytes


class Site:
    """Renders the site's files of each series; addresses absolute under `base_url` if given."""

    def __init__(self, renderer: Renderer, now: datetime, base_url: str | None) -> None:
        self.renderer = renderer
        self.now = now
        self.base_url = base_url.rstrip("/") + "/" if base_url else None

    def files(self, series: SeriesPages) -> list[SiteFile]:
        """The series' pages, each event's page and calendar file, and the two feeds."""
        made = [self._event_files(series, listed) for listed in series.events]
        files = [file for pair in made for file in pair]
        calendars = [file.data for file in files if file.path.endswith(".ics")]
        feed = calendar_feed(series.name, series.description, calendars, REFRESH)
        return [
            *files,
            SiteFile(f"{series.key}.ics", feed),
            SiteFile(f"{series.key}.atom", self._atom(series)),
            SiteFile(f"{series.key}/index.html", self._index(series).encode()),
        ]

    def subscribe_links(self, key: str, name: str) -> list[CalendarLink]:
        """Ways to follow a series' calendar: with a site address, webcal, Google and Outlook."""
        if self.base_url is None:
            return [CalendarLink("Calendar file", f"../{key}.ics")]
        return subscribe_links(self.base_url, key, name)

    def _event_files(self, series: SeriesPages, listed: Listed) -> tuple[SiteFile, SiteFile]:
        named, edition = listed.named, listed.edition
        event, language = named.event, named.event.language
        published = replace(edition, rsvp=False)  # a page asks nobody to answer
        calendar = self.renderer.event_calendar(
            event, published, language, method_of(published.kind), whole=True
        )
        cancelled = edition.kind == "cancellation"
        context = self.renderer.context(
            language,
            event=event,
            schedule=Schedule.of(event, language),
            calendar_links=calendar.links,
            cancelled=cancelled,
            series_name=series.name,
            index="index.html",
            ics=f"{named.slug}.ics",
            feeds=_feeds(series.key),
            json_ld=_script_json(self._json_ld(series, listed)),
        )
        page = self.renderer.theme(language).render("site/event.html.j2", context)
        return (
            SiteFile(f"{series.key}/{named.slug}.html", page.encode()),
            SiteFile(f"{series.key}/{named.slug}.ics", calendar.ics),
        )

    def _index(self, series: SeriesPages) -> str:
        language = series.language
        upcoming: list[dict[str, Any]] = []
        past: list[dict[str, Any]] = []
        for listed in series.events:
            event = listed.named.event
            (upcoming if event.ends_at > self.now else past).append(
                {
                    "event": event,
                    "schedule": Schedule.of(event, language),
                    "href": f"{listed.named.slug}.html",
                    "cancelled": listed.edition.kind == "cancellation",
                }
            )
        context = self.renderer.context(
            language,
            series_name=series.name,
            description=series.description,
            upcoming=upcoming,
            past=past[::-1],
            subscribe=self.subscribe_links(series.key, series.name),
            feeds=_feeds(series.key),
        )
        return self.renderer.theme(language).render("site/index.html.j2", context)

    def _json_ld(self, series: SeriesPages, listed: Listed) -> dict[str, Any]:
        """schema.org's Event: what search engines and calendars read from the page."""
        event = listed.named.event
        venue = event.venue
        places: list[dict[str, Any]] = []
        if venue and venue.in_person:
            address = ", ".join(
                part for part in (venue.room, venue.building, venue.campus, venue.address) if part
            )
            places.append({"@type": "Place", "name": venue.name, "address": address or venue.name})
        if venue and venue.online_url:
            places.append({"@type": "VirtualLocation", "url": venue.online_url})
        mode = (
            "Mixed"
            if len(places) == 2
            else "Online"
            if places and places[0]["@type"] == "VirtualLocation"
            else "Offline"
        )
        status = "EventCancelled" if listed.edition.kind == "cancellation" else "EventScheduled"
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "Event",
            "name": event.title,
            "startDate": event.starts_at.isoformat(),
            "endDate": event.ends_at.isoformat(),
            "eventStatus": f"https://schema.org/{status}",
            "eventAttendanceMode": f"https://schema.org/{mode}EventAttendanceMode",
            "location": places[0] if len(places) == 1 else places,
            "description": _teaser(listed.named),
            "inLanguage": event.language,
            "organizer": _organizer(listed.named, series.name),
            "performer": [
                {
                    "@type": "Person",
                    "name": speaker.name,
                    **(
                        {"affiliation": {"@type": "Organization", "name": speaker.affiliation}}
                        if speaker.affiliation
                        else {}
                    ),
                }
                for speaker in event.speakers
            ],
            "superEvent": {"@type": "EventSeries", "name": series.name},
        }
        if self.base_url:
            data["url"] = self._url(f"{series.key}/{listed.named.slug}.html")
        return data

    def _atom(self, series: SeriesPages) -> bytes:
        """The series as an Atom feed (RFC 4287): an entry per event, newest change first."""
        ElementTree.register_namespace("", ATOM)

        def child(
            parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str
        ) -> ElementTree.Element:
            element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
            element.text = None if text is None else _xml_text(text)
            return element

        feed = ElementTree.Element(f"{{{ATOM}}}feed")
        child(feed, "id", _urn(f"{series.key}@{self.renderer.letterhead.sender.domain}"))
        child(feed, "title", series.name)
        if series.description:
            child(feed, "subtitle", series.description)
        newest = max((listed.changed for listed in series.events), default=self.now)
        child(feed, "updated", newest.isoformat())
        author = child(feed, "author")
        child(author, "name", self.renderer.letterhead.sender.name)
        child(feed, "link", rel="alternate", type="text/html", href=self._url(f"{series.key}/index.html"))
        child(feed, "link", rel="self", type="application/atom+xml", href=self._url(f"{series.key}.atom"))
        for listed in sorted(series.events, key=lambda listed: listed.changed, reverse=True):
            event = listed.named.event
            schedule = Schedule.of(event, event.language)
            cancelled = listed.edition.kind == "cancellation"
            entry = child(feed, "entry")
            child(entry, "id", _urn(listed.edition.uid))
            child(entry, "title", ("[Cancelled] " if cancelled else "") + event.title)
            child(entry, "updated", listed.changed.isoformat())
            child(
                entry,
                "link",
                rel="alternate",
                type="text/html",
                href=self._url(f"{series.key}/{listed.named.slug}.html"),
            )
            for material in event.materials:  # slides, a recording: after the talk
                child(entry, "link", rel="related", href=material.url, title=material.label)
            place = f" · {event.venue.place}" if event.venue else ""
            speakers = ", ".join(speaker.name for speaker in event.speakers)
            parts = (
                f"{schedule.date}, {schedule.times} {schedule.zone}{place}",
                speakers,
                _teaser(listed.named),
                _after(event),
            )
            child(entry, "summary", ". ".join(part for part in parts if part))
        body = bytes(ElementTree.tostring(feed, encoding="utf-8", xml_declaration=False))
        return b'<?xml version="1.0" encoding="utf-8"?>\n' + body

    def _url(self, relative: str) -> str:
        return f"{self.base_url}{relative}" if self.base_url else relative


def _after(event: Event) -> str:
    """What the talk left behind, in the feed's summary: "After the talk: Slides, Recording"."""
    return "After the talk: " + ", ".join(m.label for m in event.materials) if event.materials else ""


def _organizer(named: NamedEvent, series_name: str) -> dict[str, Any]:
    """Who runs the talk, as schema.org's Event says it: its own series (with the series' page
    if it has one), so that each series' talks name theirs, not the workspace's sender."""
    organizer: dict[str, Any] = {"@type": "Organization", "name": series_name}
    if named.series is not None and named.series.url:
        organizer["url"] = named.series.url
    return organizer


def _feeds(key: str) -> dict[str, str]:
    """A series' two feeds, as its pages (one folder down) link to them."""
    return {"ics": f"../{key}.ics", "atom": f"../{key}.atom"}


def _teaser(named: NamedEvent) -> str:
    source = named.event.abstract or named.event.intro or ""
    return trim(prose.to_text(source, width=10**6).strip().split("\n\n")[0], 300)


# What XML 1.0 cannot hold at all, escaped or not (its Char production): a feed reader refuses
# the whole feed for one of them, so each is shown as U+FFFD.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _urn(name: str) -> str:
    """A stable Atom id for a name (an event's UID): a name-based UUID (RFC 4122)."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"


def _script_json(data: dict[str, Any]) -> str:
    """JSON that cannot end its <script> element early, whatever the event's text holds."""
    text = json.dumps(data, ensure_ascii=False, indent=1)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
