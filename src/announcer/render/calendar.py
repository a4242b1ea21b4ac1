"""The event as an RFC 5545 calendar: iTIP method, stable UID, ORGANIZER, Outlook-safe zones; attendees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, vCalAddress, vText
from icalendar import Event as VEvent

from announcer import __version__
from announcer.lifecycle import Organizer
from announcer.model.event import UNIVERSAL, Event, happens_twice
from announcer.render.timezones import vtimezone

PRODID = f"-//announcer//announcer {__version__}//EN"


def summary(event: Event) -> str:
    """The calendar entry's one-line title: the talk and who gives it."""
    speakers = ", ".join(speaker.name for speaker in event.speakers)
    return f"{event.title} ({speakers})" if speakers else event.title


def location(event: Event) -> str | None:
    """Where, in one line: room, venue, building, campus, address."""
    return event.venue.place if event.venue else None


def build_calendar(
    event: Event,
    *,
    uid: str,
    organizer: Organizer,
    description: str,
    stamp: datetime,
    sequence: int = 0,
    method: str,
) -> bytes:
    """One VCALENDAR with one VEVENT, serialised with CRLF and folded lines."""
    calendar = Calendar()
    calendar.add("PRODID", PRODID)
    calendar.add("VERSION", "2.0")
    calendar.add("CALSCALE", "GREGORIAN")
    calendar.add("METHOD", method)
    start, end = event.starts_at, event.ends_at
    # A time the clocks show twice would be read as the first (RFC 5545 §3.3.5), and readers
    # differ even on that: such an event is written in UTC, one instant for every reader.
    repeated = any(happens_twice(moment.replace(tzinfo=None), event.zone) for moment in (start, end))
    zone = None if repeated or event.zone.key in UNIVERSAL else vtimezone(event.zone, start.year)
    if zone is None:
        start, end = start.astimezone(UTC), end.astimezone(UTC)
    else:
        calendar.add_component(zone)

    entry = VEvent()
    entry.add("UID", uid)
    entry.add("SEQUENCE", sequence)
    entry.add("DTSTAMP", stamp.astimezone(UTC))
    entry.add("DTSTART", start)
    entry.add("DTEND", end)
    entry.add("SUMMARY", summary(event))
    if (place := location(event)) is not None:
        entry.add("LOCATION", place)
    entry.add("DESCRIPTION", vText(description))
    address = vCalAddress(f"mailto:{organizer.email}")
    address.params["CN"] = organizer.name
    entry.add("ORGANIZER", address)
    if event.url:
        entry.add("URL", event.url)
    for material in event.materials:  # slides, a recording: on the entry itself (RFC 5545 §3.8.1.1)
        entry.add("ATTACH", material.url)
    entry.add("STATUS", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    entry.add("TRANSP", "OPAQUE")
    if event.reminder_minutes is not None and method != "CANCEL":  # RFC 5546 §3.2.5: no VALARM
        alarm = Alarm()
        alarm.add("ACTION", "DISPLAY")
        alarm.add("DESCRIPTION", summary(event))
        alarm.add("TRIGGER", -timedelta(minutes=event.reminder_minutes))
        entry.add_component(alarm)
    calendar.add_component(entry)
    return bytes(calendar.to_ical())


def with_attendee(ics: bytes, name: str | None, email: str, *, method: str) -> bytes:
    """The calendar with one reader as its ATTENDEE (RFC 5546): asked to answer in a REQUEST,
    named in a CANCEL. The rest of the calendar, encoded once for everyone, is kept as it is."""
    address = vCalAddress(f"mailto:{email}")
    if name:
        address.params["CN"] = name  # quoted, and escaped as RFC 6868 says, by icalendar
    address.params["CUTYPE"] = "INDIVIDUAL"
    address.params["ROLE"] = "REQ-PARTICIPANT"
    if method == "REQUEST":
        address.params["PARTSTAT"] = "NEEDS-ACTION"
        address.params["RSVP"] = "TRUE"
    holder = VEvent()
    holder.add("ATTENDEE", address)
    line = bytes(holder.to_ical()).removeprefix(b"BEGIN:VEVENT\r\n").removesuffix(b"END:VEVENT\r\n")
    end = ics.rindex(b"END:VEVENT\r\n")
    return ics[:end] + line + ics[end:]


def calendar_feed(name: str, description: str | None, calendars: list[bytes], refresh: timedelta) -> bytes:
    """The events of several calendars as one subscribable calendar (RFC 7986's NAME and
    REFRESH-INTERVAL, and the X-WR names Apple and Google read), each time zone once. Each event
    keeps its UID and SEQUENCE, so the feed and the emails' calendars are one entry."""
    feed = Calendar()
    feed.add("PRODID", PRODID)
    feed.add("VERSION", "2.0")
    feed.add("CALSCALE", "GREGORIAN")
    feed.add("METHOD", "PUBLISH")  # as Google's and Outlook's published calendars say it
    feed.add("NAME", name)
    feed.add("X-WR-CALNAME", vText(name))  # text, escaped: icalendar knows no type for X- names
    if description:
        feed.add("DESCRIPTION", description)
        feed.add("X-WR-CALDESC", vText(description))
    feed.add("REFRESH-INTERVAL", refresh, parameters={"VALUE": "DURATION"})
    hours = round(refresh.total_seconds() / 3600)
    feed.add("X-PUBLISHED-TTL", f"PT{hours}H")  # the same, for Outlook and Apple (no type known to icalendar)
    _add_events(feed, calendars)
    return bytes(feed.to_ical())


def merged_calendar(calendars: list[bytes], method: str) -> bytes:
    """The events of several calendars in one (PUBLISH allows several, RFC 5546 §3.2.1), each
    keeping its UID and SEQUENCE, each time zone once; no calendar name (Outlook would open a
    named one as a calendar of its own). Thunderbird adds every event of one such part with one
    click, where of several parts it offers one (tests/thunderbird_look.py)."""
    merged = Calendar()
    merged.add("PRODID", PRODID)
    merged.add("VERSION", "2.0")
    merged.add("CALSCALE", "GREGORIAN")
    merged.add("METHOD", method)
    _add_events(merged, calendars)
    return bytes(merged.to_ical())


def _add_events(into: Calendar, calendars: list[bytes]) -> None:
    zones: set[str] = set()
    for data in calendars:
        for component in Calendar.from_ical(data).subcomponents:
            if component.name == "VTIMEZONE":
                if str(component["TZID"]) in zones:
                    continue
                zones.add(str(component["TZID"]))
            into.add_component(component)
