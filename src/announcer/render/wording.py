"""Dates, times and counts in words, in the reader's language: "Friday, 6 March 2026",
"12:00–13:00", "2–6 March" (Babel's CLDR data); "1 message" for the organiser.

Every function takes the language tag to write in ("en", "sv", "de-CH"); see `languages`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_interval, format_skeleton, format_time, get_timezone_location

from announcer.languages import SOURCE, locale_name, translations
from announcer.model.event import UNIVERSAL, Event, Publication


@dataclass(frozen=True)
class Schedule:
    """When, in words: "Friday, 6 March 2026", "12:00–13:00", "Stockholm time (CET)"."""

    date: str
    times: str
    zone: str
    short: str

    @classmethod
    def of(cls, event: Event, language: str = "en") -> Schedule:
        return cls.at(event.starts_at, event.ends_at, event.zone, language)

    @classmethod
    def at(cls, start: datetime, end: datetime, zone: ZoneInfo, language: str = "en") -> Schedule:
        """The schedule of an event from `start` to `end` (aware) in `zone`."""
        _ = translations(language).gettext
        start, end = start.astimezone(zone), end.astimezone(zone)
        times = format_interval(_wall(start), _wall(end), _clock_skeleton(language), locale=_locale(language))
        if end.date() != start.date():
            times = f"{clock_time(start, language)} – {long_date(end, language)}, {clock_time(end, language)}"
        city = city_of(zone, language)
        abbreviation = start.tzname() or ""
        named = (
            abbreviation
            if zone.key in UNIVERSAL or city == abbreviation
            else _("%(city)s time (%(abbreviation)s)") % {"city": city, "abbreviation": abbreviation}
        )
        if end.tzname() != abbreviation and end.date() == start.date():  # the clocks change meanwhile
            first, last = clock_time(start, language), clock_time(end, language)
            times = f"{first} {abbreviation} – {last} {end.tzname()}"
            named = _("%(city)s time") % {"city": city}
        short = f"{format_skeleton('MMMEd', start, locale=_locale(language))}, {clock_time(start, language)}"
        return cls(long_date(start, language), times, named, short)


@lru_cache(maxsize=64)
def _locale(language: str) -> Locale:
    return Locale.parse(locale_name(language))


@lru_cache(maxsize=64)
def _clock_skeleton(language: str) -> str:
    """Hours and minutes on the language's clock: 24 hours ("Hm") or 12 ("hm")."""
    pattern = _locale(language).time_formats["short"].pattern
    return "hm" if "h" in pattern else "Hm"


def _wall(moment: datetime) -> time:
    return moment.replace(tzinfo=None).time()


def clock_time(moment: datetime, language: str = "en") -> str:
    """ "12:00" (or "12:00 PM"): the time a wall clock shows, as the language writes it."""
    return format_time(_wall(moment), "short", locale=_locale(language))


def city_of(zone: ZoneInfo, language: str = "en") -> str:
    """The city a zone is named after, in the language: "Stockholm", "New York", "Zürich"."""
    try:
        return str(get_timezone_location(zone, locale=_locale(language), return_city=True))
    except (LookupError, ValueError):
        return zone.key.rsplit("/", 1)[-1].replace("_", " ")


def long_date(moment: date | datetime, language: str = "en") -> str:
    """ "Friday, 6 March 2026", "fredag 6 mars 2026", "Freitag, 6. März 2026"."""
    return format_date(moment, "full", locale=_locale(language))


def day_label(day: date, language: str = "en") -> str:
    """ "Friday, 6 March", "Freitag, 6. März": a day within a digest's week (the long date
    without its year: CLDR's skeletons shorten the weekday in some languages)."""
    return format_date(day, _without_year(language), locale=_locale(language))


@lru_cache(maxsize=64)
def _without_year(language: str) -> str:
    return re.sub(r"[,\s]*\by+\b\.?", "", _locale(language).date_formats["full"].pattern).strip(" ,")


def date_range(first: date, last: date, language: str = "en") -> str:
    """ "6 March", "2–6 March", "30 March – 3 April", "28 Dec 2026 – 3 Jan 2027"."""
    locale = _locale(language)
    if first == last:
        return format_skeleton("MMMMd", first, locale=locale)
    return format_interval(first, last, "MMMMd" if first.year == last.year else "yMMMMd", locale=locale)


def reader_time(event: Event, reader_zone: ZoneInfo, language: str = "en") -> str | None:
    """The start on the reader's clock ("16:00 Stockholm time"), when it differs from the event's."""
    reader = event.starts_at.astimezone(reader_zone)
    if reader.utcoffset() == event.starts_at.utcoffset():
        return None
    _ = translations(language).gettext
    return _("%(time)s %(city)s time") % {
        "time": _day_and_time(reader, event.start.date(), language),
        "city": city_of(reader_zone, language),
    }


def reader_clock(
    instant: datetime, reader_zone: ZoneInfo, shown: list[str], language: str = "en", lead: str = " · "
) -> str:
    """ " · Fri 06:00 your time (EST)": the instant on the reader's clock, if no zone shown has it
    (after `lead`: the plain text puts it on a line of its own, so that no line grows past 78)."""
    reader = instant.astimezone(reader_zone)
    first = instant.astimezone(ZoneInfo(shown[0])) if shown else reader
    if any(instant.astimezone(ZoneInfo(zone)).utcoffset() == reader.utcoffset() for zone in shown):
        return ""
    _ = translations(language).gettext
    said = _("%(time)s your time (%(abbreviation)s)") % {
        "time": _day_and_time(reader, first.date(), language),
        "abbreviation": reader.tzname(),
    }
    return f"{lead}{said}"


@dataclass(frozen=True)
class ReminderDay:
    """A reminder's day in words, as the event's own clock reads it when the reminder is made."""

    word: str  # "Tomorrow", or the day in short ("Fri 6 Mar") when it is further off
    day: str  # "Tomorrow (Friday, 6 March)": the word and the date it means, else the long date
    when: str  # the subject's "Tomorrow 12:00", else the schedule's short form


def reminder_when(schedule: Schedule, start: datetime, now: datetime, language: str = "en") -> ReminderDay:
    """A reminder's day: "Today" and "Tomorrow" said with the date they mean, so that a message
    read later, or forwarded, still says which day."""
    _ = translations(language).gettext
    days = (start.date() - now.astimezone(start.tzinfo).date()).days
    named = {0: _("Today"), 1: _("Tomorrow")}.get(days)
    if named is None:
        short = format_skeleton("MMMEd", start, locale=_locale(language))
        return ReminderDay(short, schedule.date, schedule.short)
    day = _("%(day)s (%(date)s)") % {"day": named, "date": day_label(start.date(), language)}
    when = _("%(day)s %(time)s") % {"day": named, "time": clock_time(start, language)}
    return ReminderDay(named, day, when)


def _day_and_time(moment: datetime, day: date, language: str) -> str:
    """ "06:00", or "Fri 06:00" when the moment falls on another day than `day`."""
    weekday = f"{format_skeleton('E', moment, locale=_locale(language))} " if moment.date() != day else ""
    return weekday + clock_time(moment, language)


def publication_details(publication: Publication, language: str = "en") -> str:
    """The citation after the journal's name with its month in the language: "2026 jan.;407…"
    (CLDR's stand-alone abbreviation). English keeps the citation's own (NLM) "Sep", which
    CLDR's British "Sept" departs from; a month written in other words stays as written."""
    number = publication.month_number
    if number is None or language.split("-")[0] == SOURCE:
        return publication.details
    month = format_date(date(publication.year, number, 1), "LLL", locale=_locale(language))
    return publication.details_with_month(month)


def citation(publication: Publication, language: str = "en") -> str:
    """Where a publication appeared, its month in the language: "Lancet 2026 Jan;407(10527):489-491"."""
    return f"{publication.journal} {publication_details(publication, language)}"


def counted(number: int, noun: str, plural: str | None = None) -> str:
    """ "1 message", "5 messages" ("2 replies" with the plural given): words for the organiser."""
    return f"{number} {noun if number == 1 else plural or noun + 's'}"
