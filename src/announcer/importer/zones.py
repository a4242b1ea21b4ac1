"""The time zone an announcement names ("16:00 CET", "3 pm EST", "Stockholm time"), if any."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from announcer.importer.draft import Undecided
from announcer.model.event import MEANT, UNIVERSAL

# A clock's two names, standard and summer: the one the date does not keep is a warning.
_PAIRS = (
    ("CET", "CEST"),
    ("MEZ", "MESZ"),
    ("EET", "EEST"),
    ("WET", "WEST"),
    ("GMT", "BST"),
    ("EST", "EDT"),
    ("CST", "CDT"),
    ("MST", "MDT"),
    ("PST", "PDT"),
    ("AKST", "AKDT"),
    ("AEST", "AEDT"),
    ("NZST", "NZDT"),
)
_GERMAN = {"MEZ": "CET", "MESZ": "CEST"}
_TWO_LETTERS = {"ET", "CT", "MT", "PT", "GB", "UT", "NZ"}  # too often something else in capitals
_ABBREVIATIONS = sorted(
    (name for name in [*MEANT, *_GERMAN, "UTC"] if name.isalpha() and name not in _TWO_LETTERS),
    key=len,
    reverse=True,
)
_ABBREVIATION = re.compile(rf"(?<![\w/])({'|'.join(_ABBREVIATIONS)})(?![\w/])")
_IANA = re.compile(r"\b([A-Z][a-z]+/[A-Z][A-Za-z_]+(?:/[A-Z][A-Za-z_]+)?)\b")
_CITY_TIME = re.compile(r"\b([A-Z][\w.]+(?: [A-Z][\w.]+)?)(?: local)? time\b")


@cache
def _cities() -> dict[str, str]:
    """A place's city as written ("new york") → its IANA name."""
    return {
        name.rpartition("/")[2].replace("_", " ").casefold(): name
        for name in available_timezones()
        if "/" in name and not name.startswith(("Etc/", "SystemV/", "posix/", "right/"))
    }


def zone_named(
    text: str, day: date | None, at: time | None, default: str
) -> tuple[str | Undecided | None, list[str]]:
    """The zone `text` names for an event on `day` at `at` (None: it names none, the default
    holds), and warnings. An abbreviation that the default zone's clock answers to keeps the
    default; else the places it usually means, if they keep one clock that day; else a TODO."""
    moment = datetime.combine(day or date(2026, 1, 15), at or time(12))
    if (match := _IANA.search(text)) and match[1] in available_timezones():
        return match[1], []
    if (match := _ABBREVIATION.search(text)) is not None:
        return _abbreviation(match[1], moment, default)
    for match in _CITY_TIME.finditer(text):
        if found := _cities().get(match[1].casefold()):
            return found, []
    return None, []


def _abbreviation(written: str, moment: datetime, default: str) -> tuple[str | Undecided | None, list[str]]:
    name = _GERMAN.get(written, written)
    if name == "UTC":
        return (None if _offset(default, moment) == _offset("UTC", moment) else "UTC"), []
    pair = next((pair for pair in _PAIRS if name in pair), (name,))
    if _clock_name(default, moment) in pair:
        return None, _summer_warning(written, name, default, moment)
    places = [place.strip() for place in MEANT.get(name, "").split(",") if place.strip()]
    places = [place for place in places if place not in UNIVERSAL and "/" in place]
    offsets = {_offset(place, moment) for place in places}
    if places and len(offsets) == 1:
        return places[0], _summer_warning(written, name, places[0], moment)
    return Undecided(f"{written} is the clock of several places", tuple(places)), []


def _summer_warning(written: str, name: str, zone: str, moment: datetime) -> list[str]:
    kept = _clock_name(zone, moment)
    if kept == name:
        return []
    return [f"the text says {written}, but on {moment:%-d %B %Y} {zone} keeps {kept}: read as {zone}'s clock"]


def _clock_name(zone: str, moment: datetime) -> str | None:
    return moment.replace(tzinfo=ZoneInfo(zone)).tzname()


def _offset(zone: str, moment: datetime) -> object:
    return moment.replace(tzinfo=ZoneInfo(zone)).utcoffset()
