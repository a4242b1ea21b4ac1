"""Dates and times as people write them, in English, Swedish, German and French.

Month and weekday names come from Babel's locale data; what is left (the order of day and
month, ranges, "kl. 12.00", "16 Uhr c.t.") are small rules. A date that reads two ways is
settled by a weekday the text gives, else left undecided with both readings.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache

from babel.dates import get_day_names, get_month_names

from announcer.importer.draft import Undecided

LANGUAGES = ("en", "sv", "de", "fr")
_WEEKDAY_NAMES = tuple(calendar.day_name)


@cache
def month_numbers() -> dict[str, int]:
    """Every month's name and abbreviation in the four languages (lower case, no dot) → 1..12;
    a name two languages give to different months is left out."""
    found: dict[str, set[int]] = {}
    for language in LANGUAGES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, language).items():
                    found.setdefault(name.casefold().rstrip("."), set()).add(number)
    for number in range(1, 13):  # English short forms people write: Sept, Sep
        found.setdefault(calendar.month_abbr[number].casefold(), set()).add(number)
    found.setdefault("sept", set()).add(9)
    return {name: next(iter(numbers)) for name, numbers in found.items() if len(numbers) == 1}


@cache
def weekday_numbers() -> dict[str, int]:
    """Weekday names in the four languages, and English abbreviations (lower case) → 0 (Monday)..6."""
    found: dict[str, int] = {}
    for language in LANGUAGES:
        for number, name in get_day_names("wide", "format", language).items():
            found[name.casefold()] = number
    for number, name in enumerate(calendar.day_abbr):
        found[name.casefold()] = number
    return found


def _alternatives(names: dict[str, int]) -> str:
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))


@cache
def _patterns() -> tuple[re.Pattern[str], ...]:
    months, weekdays = _alternatives(month_numbers()), _alternatives(weekday_numbers())
    weekday = rf"(?:(?P<weekday>{weekdays})\.?,?\s+(?:(?:the|den|le)\s+)?)?"
    year = r"(?:,?\s+(?P<year>\d{4}))?"
    flags = re.IGNORECASE
    return (
        re.compile(
            rf"(?<![\w-]){weekday}(?P<iso>(?P<y>\d{{4}})-(?P<m>\d{{1,2}})-(?P<d>\d{{1,2}}))(?!\d)", flags
        ),
        re.compile(
            rf"(?<![\w.,/-]){weekday}(?P<first>\d{{1,2}})(?P<sep>[./-])(?P<second>\d{{1,2}})(?P=sep)"
            rf"(?P<numyear>\d{{4}}|\d{{2}})(?![\d])",
            flags,
        ),
        re.compile(
            rf"(?<!\w){weekday}(?P<day>\d{{1,2}})(?:st|nd|rd|th|er|e|\.)?\s+(?:of\s+)?"
            rf"(?P<month>{months})\.?(?!\w){year}",
            flags,
        ),
        re.compile(
            rf"(?<!\w){weekday}(?P<month>{months})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?(?!\d){year}",
            flags,
        ),
    )


@dataclass(frozen=True)
class DateMention:
    """A date written in a line: the readings it allows (the first is the usual one), the weekday
    it is said to be, and where it stands."""

    written: str
    readings: tuple[date, ...]
    weekday: int | None
    start: int
    end: int
    has_year: bool
    dotted: bool  # 6.3.2026: day first, as everywhere dots are written


MAX_MENTIONS = 20  # dates read in one line: a line with a date has one or two


def find_dates(line: str, today: date, year: int | None) -> list[DateMention]:
    """The dates written in `line`, in order (at most MAX_MENTIONS of each form); a date without
    a year is its next occurrence (from `today`), or in `year` when given."""
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []
    for pattern in _patterns():
        for number, match in enumerate(pattern.finditer(line)):
            if number == MAX_MENTIONS:
                break
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            mention = _mention(match, today, year)
            if mention is not None:
                found.append(mention)
                taken.append((match.start(), match.end()))
    return sorted(found, key=lambda mention: mention.start)


def _mention(match: re.Match[str], today: date, year: int | None) -> DateMention | None:
    groups = match.groupdict()
    weekday = weekday_numbers().get(groups["weekday"].casefold()) if groups.get("weekday") else None
    readings: list[date] = []
    has_year, dotted = True, False
    if groups.get("iso"):
        readings = _valid([(int(groups["y"]), int(groups["m"]), int(groups["d"]))])
    elif groups.get("first"):
        first, second, written_year = int(groups["first"]), int(groups["second"]), int(groups["numyear"])
        if written_year < 100:
            written_year += 2000
        dotted = groups["sep"] == "."
        readings = _valid([(written_year, second, first), (written_year, first, second)])
    else:
        month = month_numbers()[groups["month"].casefold().rstrip(".")]
        day = int(groups["day"])
        if groups.get("year"):
            readings = _valid([(int(groups["year"]), month, day)])
        else:
            has_year = False
            readings = _without_year(month, day, today, year, weekday)
    if not readings:
        return None
    unique = tuple(dict.fromkeys(readings))
    return DateMention(match[0], unique, weekday, match.start(), match.end(), has_year, dotted)


def _valid(triples: list[tuple[int, int, int]]) -> list[date]:
    readings = []
    for year, month, day in triples:
        try:
            readings.append(date(year, month, day))
        except ValueError:
            continue
    return readings


def _without_year(month: int, day: int, today: date, year: int | None, weekday: int | None) -> list[date]:
    """A day and month: in `year`; else its next occurrence, or the next in which it falls on
    the weekday the text gives (within a few years)."""
    if year is not None:
        return _valid([(year, month, day)])
    options = _valid([(today.year + offset, month, day) for offset in range(0, 8)])
    upcoming = [option for option in options if option >= today]
    if weekday is not None:
        agreeing = [option for option in upcoming if option.weekday() == weekday]
        if agreeing and agreeing[0].year <= today.year + 1:
            return agreeing[:1]
    return upcoming[:1]


def decide_day(mention: DateMention, hint: int | None) -> tuple[date | Undecided, list[str]]:
    """The day a mention means, with warnings: the weekday written settles two readings (and a
    contradicting one is a warning); else `hint` (a weekday the series or its name gives);
    dots are read day first; two readings left over are a TODO with both."""
    warnings: list[str] = []
    readings = mention.readings
    if mention.weekday is not None:
        said = _WEEKDAY_NAMES[mention.weekday]
        agreeing = [day for day in readings if day.weekday() == mention.weekday]
        if len(agreeing) == 1:
            if agreeing[0] != readings[0]:
                warnings.append(
                    f"{mention.written!r}: read day first, {readings[0]:%-d %B %Y} is a {readings[0]:%A};"
                    f" the text says {said}, so it is read as {agreeing[0]:%-d %B %Y}"
                )
            return agreeing[0], warnings
        if not agreeing:
            nearest = _nearest(readings[0], mention.weekday)
            warnings.append(
                f"{mention.written!r}: {readings[0]:%-d %B %Y} is a {readings[0]:%A}, not a {said}"
            )
            options = [f"{day:%Y-%m-%d}  # {day:%A %-d %B %Y}, as written" for day in readings]
            options.append(f"{nearest:%Y-%m-%d}  # {nearest:%A %-d %B %Y}, the nearest {said}")
            return Undecided(
                f"the date and its weekday disagree ({mention.written})", tuple(options)
            ), warnings
    if len(readings) == 1 or mention.dotted:
        return readings[0], warnings
    if hint is not None:
        agreeing = [day for day in readings if day.weekday() == hint]
        if len(agreeing) == 1:
            return agreeing[0], warnings
    readings_shown = tuple(f"{day:%Y-%m-%d}  # {day:%A %-d %B %Y}" for day in readings)
    return Undecided(f"{mention.written} reads as day-month or month-day", readings_shown), warnings


def _nearest(day: date, weekday: int) -> date:
    forward = (weekday - day.weekday()) % 7
    return day + timedelta(days=forward if forward <= 3 else forward - 7)


# Times: 9:00AM, 3 pm, 12.00, kl. 13, kl 13.00, 16 Uhr, 16.15 Uhr, 11h30, 14h; ranges joined by
# a dash, a tilde, a guillemet or a word.
_MERIDIEM = r"(?P<meridiem{n}>[ap])\.?\s?m\b\.?"
_CLOCK = (
    r"(?:(?P<kl{n}>\bkl\.?\s*)?{guard}(?P<hour{n}>2[0-3]|[01]?\d)"
    r"(?:(?P<mark{n}>[:.h])(?P<minute{n}>[0-5]\d)(?![.:]?\d))?"
    r"(?:\s*(?:{meridiem}|(?P<uhr{n}>\s?uhr\b|h\b)))?)"
)
_SEPARATOR = r"\s*(?:-|–|—|~|»|>|to|till|until|bis|à|au|jusqu'à)\s*"


@cache
def _time_pattern() -> re.Pattern[str]:
    first = _CLOCK.format(n=1, meridiem=_MERIDIEM.format(n=1), guard=r"(?<![\d.:,/-])")
    second = _CLOCK.format(n=2, meridiem=_MERIDIEM.format(n=2), guard=r"(?<![\d.:,/])")
    tempore = r"(?:\s*(?P<tempore>[cs])\.\s?t\.)?"
    return re.compile(rf"{first}{tempore}(?:{_SEPARATOR}{second})?", re.IGNORECASE)


@dataclass(frozen=True)
class TimeMention:
    """A time, or a range of two, written in a line."""

    start: time
    end: time | None
    at: int


def find_times(line: str) -> list[TimeMention]:
    """The times written in `line`: a bare number counts only with a mark that makes it a time
    (`:`, `.`, `h`, am/pm, kl, Uhr)."""
    found = []
    for match in _time_pattern().finditer(line):
        start = _clock(match, 1)
        end = _clock(match, 2) if match["hour2"] else None
        if end is not None and match["meridiem2"] and not match["meridiem1"]:
            # "11-1 pm", "2-3 pm": the second's half of the day, unless that puts the start after it
            start = _with_meridiem(match, 1, match["meridiem2"])
            if start is None or start >= end:
                start = _with_meridiem(match, 1, "a")
        if start is None:
            continue
        if match["tempore"] and match["tempore"].lower() == "c":
            start = (datetime.combine(date.min, start) + timedelta(minutes=15)).time()
        found.append(TimeMention(start, end, match.start()))
    return found


def _clock(match: re.Match[str], n: int) -> time | None:
    if not match[f"hour{n}"]:
        return None
    marked = match[f"minute{n}"] or match[f"meridiem{n}"] or match[f"kl{n}"] or match[f"uhr{n}"]
    if not marked:
        return None
    if match[f"mark{n}"] and match[f"mark{n}"].lower() == "h" and not match[f"minute{n}"]:
        return None
    return _with_meridiem(match, n, match[f"meridiem{n}"])


def _with_meridiem(match: re.Match[str], n: int, meridiem: str | None) -> time | None:
    hour, minute = int(match[f"hour{n}"]), int(match[f"minute{n}"] or 0)
    if meridiem:
        if hour > 12 or hour == 0:
            return None
        hour = hour % 12 + (12 if meridiem.lower() == "p" else 0)
    return time(hour, minute)
