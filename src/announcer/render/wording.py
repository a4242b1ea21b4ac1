"""Dates, times and counts in words: "Friday 6 March 2026", "12:00–13:00", "2–6 March", "1 message"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from announcer.model.event import Event


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
        date = long_date(start)
        times = f"{start:%H:%M}–{end:%H:%M}"
        if end.date() != start.date():
            times = f"{start:%H:%M} – {long_date(end)}, {end:%H:%M}"
        city = city_of(event.zone)
        abbreviation = start.tzname() or ""
        zone = abbreviation if city in ("UTC", abbreviation) else f"{city} time ({abbreviation})"
        if end.tzname() != abbreviation and end.date() == start.date():  # the clocks change meanwhile
            times = f"{start:%H:%M} {abbreviation} – {end:%H:%M} {end.tzname()}"
            zone = f"{city} time"
        short = f"{start:%a} {start.day} {start:%b}, {start:%H:%M}"
        return cls(date, times, zone, short)


def city_of(zone: ZoneInfo) -> str:
    """The city a zone is named after: "Stockholm", "New York"."""
    return zone.key.rsplit("/", 1)[-1].replace("_", " ")


def long_date(moment: date | datetime) -> str:
    """ "Friday 6 March 2026"."""
    return f"{moment:%A} {moment.day} {moment:%B %Y}"


def day_label(day: date) -> str:
    """ "Friday 6 March": a day within a digest's week."""
    return long_date(day).rsplit(" ", 1)[0]


def date_range(first: date, last: date) -> str:
    """ "6 March", "2–6 March", "30 March – 3 April", "28 December 2026 – 3 January 2027"."""
    if first == last:
        return f"{first.day} {first:%B}"
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}–{last.day} {last:%B}"
    if first.year == last.year:
        return f"{first.day} {first:%B} – {last.day} {last:%B}"
    return f"{first.day} {first:%B %Y} – {last.day} {last:%B %Y}"


def reader_time(event: Event, reader_zone: ZoneInfo) -> str | None:
    """The start on the reader's clock ("16:00 Stockholm time"), when it differs from the event's."""
    reader = event.starts_at.astimezone(reader_zone)
    if reader.utcoffset() == event.starts_at.utcoffset():
        return None
    day = f"{reader:%a} " if reader.date() != event.start.date() else ""
    return f"{day}{reader:%H:%M} {city_of(reader_zone)} time"


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """ "1 message", "5 messages" ("2 replies" with the plural given)."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def reader_clock(instant: datetime, reader_zone: str, shown: list[str]) -> str:
    """ " · Fri 06:00 your time (EST)": the instant on the reader's clock, if no zone shown has it."""
    reader = instant.astimezone(ZoneInfo(reader_zone))
    first = instant.astimezone(ZoneInfo(shown[0])) if shown else reader
    if any(instant.astimezone(ZoneInfo(zone)).utcoffset() == reader.utcoffset() for zone in shown):
        return ""
    day = f"{reader:%a} " if reader.date() != first.date() else ""
    return f" · {day}{reader:%H:%M} your time ({reader.tzname()})"
