"""The event as pydantic models: what an organiser writes down once, validated."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime, timedelta, timezone
from functools import cache
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, model_validator

from announcer.languages import SOURCE, language_tag
from announcer.model.text import (
    Address,
    Line,
    Markdown,
    SecureURL,
    Strict,
    WebURL,
    did_you_mean,
    excerpt,
    single_line,
)

MAX_ITEMS = 100  # speakers, publications or links in one event: a real one has a handful
FIRST_YEAR, LAST_YEAR = 1900, 2200


class Venue(Strict):
    name: Line
    building: Line | None = None
    campus: Line | None = None
    room: Line | None = None
    address: Line | None = None
    map_url: WebURL | None = None
    online_url: WebURL | None = None

    @property
    def place(self) -> str:
        """The venue in one line, most specific first: "Air & Fire, SciLifeLab, Campus Solna"."""
        parts = (self.room, self.name, self.building, self.campus, self.address)
        return ", ".join(part for part in parts if part)

    @property
    def in_person(self) -> bool:
        """Whether people can come in person: a room, building, campus or address, or a name
        that is not only "Online" (a hybrid talk has this and an online link)."""
        named = self.name.strip().casefold() not in _ONLINE_NAMES
        return bool(self.room or self.building or self.campus or self.address or named or not self.online_url)


_ONLINE_NAMES = frozenset({"online", "virtual", "zoom", "teams", "webinar", "remote"})


class Speaker(Strict):
    name: Line
    title: Line | None = None
    affiliation: Line | None = None
    bio: Markdown | None = None
    url: WebURL | None = None
    photo: WebURL | None = None

    @property
    def credentials(self) -> str:
        """Title and affiliation in one line: "Professor, Otto-von-Guericke Universität"."""
        return ", ".join(part for part in (self.title, self.affiliation) if part)


class Host(Strict):
    name: Line
    affiliation: Line | None = None
    email: Address | None = None


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_MONTH_NAMES = tuple(calendar.month_name[1:])
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)


def _month(value: str) -> str:
    """`2`, `02`, `Feb` or `February` as the citation's "Feb"."""
    if value.isascii() and value.isdigit():
        if not 1 <= int(value) <= 12:
            raise ValueError(f"{excerpt(value)} is not a month: give 1 to 12, or Jan to Dec")
        return _MONTHS[int(value) - 1]
    return value


def _doi(value: str) -> str:
    """A DOI as `10.1038/...`, also when written as its https://doi.org/ link or `doi:`."""
    doi = _DOI_PREFIX.sub("", value)
    if not re.fullmatch(r"10\.\d{4,9}/\S+", doi):
        raise ValueError(f"{excerpt(value)} is not a DOI like 10.1016/S0140-6736(23)01126-1")
    return doi


def venue_value(value: Any) -> Any:
    """`venue: Hörsaal 3` is a venue with that name."""
    return {"name": value} if isinstance(value, str | int) and not isinstance(value, bool) else value


class Publication(Strict):
    authors: list[Line] = Field(min_length=1, max_length=500)
    title: Line
    journal: Line
    year: int = Field(ge=1500, le=2200)
    month: Annotated[Line, AfterValidator(_month)] | None = None
    volume: Line | None = None
    issue: Line | None = None
    pages: Line | None = None
    doi: Annotated[Line, AfterValidator(_doi)] | None = None
    url: WebURL | None = None

    @property
    def citation(self) -> str:
        """Where it appeared, in the usual form: "Lancet 2026 Jan;407(10527):489-491"."""
        return f"{self.journal} {self.details}"

    @property
    def details(self) -> str:
        """The citation after the journal's name: "2026 Jan;407(10527):489-491"."""
        return self.details_with_month(self.month)

    @property
    def month_number(self) -> int | None:
        """The month as a number (1 for Jan, January or 1), so a language can name it; None for
        other words ("Winter", "Jan-Feb"), which stay as written."""
        if not self.month:
            return None
        written = self.month.strip().rstrip(".").lower()
        for number, name in enumerate(_MONTH_NAMES, start=1):
            if written in (name.lower(), name[:3].lower()):
                return number
        return None

    def details_with_month(self, month: str | None) -> str:
        """The citation after the journal's name with the month named as given ("2026 jan.;…")."""
        text = str(self.year)
        if month:
            text += f" {month}"
        if self.volume:
            text += f";{self.volume}"
            if self.issue:
                text += f"({self.issue})"
        if self.pages:
            text += f":{self.pages}"
        return text

    @property
    def link(self) -> str | None:
        """The publication's own address: its URL, else its DOI resolved."""
        if self.url:
            return self.url
        return f"https://doi.org/{self.doi}" if self.doi else None


class Link(Strict):
    label: Line
    url: WebURL


class Material(Strict):
    """What a talk leaves behind, added after it: slides, a recording, a paper."""

    label: Line
    url: SecureURL


UNIVERSAL = ("UTC", "Etc/UTC")  # the one zone without a place that an event may keep: no summer time
# What an abbreviation (or a zone named after one, EST5EDT) usually means, as the places whose clock
# it is: such a name says nothing of summer time (EST in June is an hour off New York's clock), and
# zoneinfo's CET is Brussels' rules, which another country's may not be.
_MEANT = {
    ("CET", "CEST", "MET", "MEST"): "Europe/Berlin, Europe/Paris, Europe/Stockholm",
    ("EET", "EEST"): "Europe/Helsinki, Europe/Athens, Europe/Bucharest",
    ("WET", "WEST"): "Europe/Lisbon, Atlantic/Canary",
    (
        "GMT",
        "GMT0",
        "GMT+0",
        "GMT-0",
        "BST",
        "GB",
        "UT",
        "UCT",
        "GREENWICH",
        "UNIVERSAL",
        "ZULU",
    ): "Europe/London, or UTC",
    ("IST",): "Asia/Kolkata, Europe/Dublin, Asia/Jerusalem",
    ("EST", "EDT", "ET", "EST5EDT"): "America/New_York, America/Toronto",
    ("CST", "CDT", "CT", "CST6CDT"): "America/Chicago, America/Mexico_City, Asia/Shanghai",
    ("MST", "MDT", "MT", "MST7MDT"): "America/Denver, America/Phoenix",
    ("PST", "PDT", "PT", "PST8PDT"): "America/Los_Angeles, America/Vancouver",
    ("AKST", "AKDT"): "America/Anchorage",
    ("HST",): "Pacific/Honolulu",
    ("JST",): "Asia/Tokyo",
    ("KST",): "Asia/Seoul",
    ("AEST", "AEDT"): "Australia/Sydney, Australia/Melbourne, Australia/Brisbane",
    ("NZST", "NZDT", "NZ"): "Pacific/Auckland",
}
MEANT = {abbreviation: places for names, places in _MEANT.items() for abbreviation in names}
# GMT+1, UTC-05:00, Etc/GMT-2: a fixed offset, which no place keeps all year round.
_OFFSET = re.compile(r"(?:Etc/)?(?:GMT|UTC|UT)?\s*[-+]\s*\d{1,2}(?::?\d{2})?", re.IGNORECASE)


@cache
def _places() -> frozenset[str]:
    """The IANA names of places (Area/City), read once: a name must be one of them exactly, also
    where the file system would find `europe/stockholm` (macOS, Windows)."""
    return frozenset(name for name in available_timezones() if "/" in name and not name.startswith("Etc/"))


def zone_named(name: str) -> ZoneInfo:
    """The time zone an organiser names: a place's IANA name (Europe/Stockholm), or UTC.

    zoneinfo also reads names without a place: abbreviations (CET, EST), POSIX rules (EST5EDT),
    fixed offsets (Etc/GMT-2, whose sign is the reverse of what it looks like) and old aliases
    (Japan, localtime). Each is refused, with the places it usually means: an event happens where
    a clock keeps summer time or not, and calendars show that place's name.
    """
    if name in UNIVERSAL:
        return ZoneInfo(name)
    if name in _places():
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):  # listed, but its file is unreadable
            pass
    shown = excerpt(name)
    if places := MEANT.get(name.strip().upper().removeprefix("ETC/")):
        raise ValueError(
            f"{shown} names no place: give the place whose clock the event keeps"
            f" (summer time included), such as {places}"
        )
    if _OFFSET.fullmatch(name.strip()):
        reversed_sign = " (and Etc/GMT-2 is UTC+2: those names reverse the sign)" if "/" in name else ""
        raise ValueError(
            f"{shown} is a fixed offset, which ignores summer time{reversed_sign}:"
            " give the place whose clock the event keeps, such as Europe/Berlin"
        )
    if name in available_timezones():  # Japan, Poland, localtime: old aliases, or no place at all
        hint = " (not a place's IANA name: write it as Area/City, such as Asia/Tokyo or Europe/Warsaw)"
    else:
        hint = did_you_mean(name, [*_places(), *UNIVERSAL]) or did_you_mean(
            name.replace(" ", "_"), {place.rpartition("/")[2]: place for place in _places()}
        )
    raise ValueError(
        f"unknown time zone {shown}"
        + (hint or " (use an IANA name such as Europe/Stockholm, America/New_York or UTC)")
    )


# A date, and a time after it with its offset: YAML 1.1's timestamp (2026-3-6 12:00:00), which
# the loader leaves as text so that this reads it, and ISO 8601's (2026-03-06T12:00+01:00).
_MOMENT = re.compile(
    r"(?P<date>(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2}))"
    r"(?:(?:[Tt]|[ \t]+)(?P<time>(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2})"
    r"(?::(?P<second>[0-9]{2})(?:[.,](?P<fraction>[0-9]+))?)?)"
    r"(?:[ \t]*(?P<offset>[Zz]|(?P<sign>[-+])(?P<hours>[0-9]{1,2})(?::?(?P<minutes>[0-9]{2}))?))?)?"
)


def _moment(text: str) -> date | datetime:
    """The date (and time) `text` names, or an error saying in words what does not exist."""
    match = _MOMENT.fullmatch(text)
    if match is None:
        try:
            return datetime.fromisoformat(text)  # ISO 8601's other forms: 20260306T1200, week dates
        except ValueError:
            raise ValueError(f"{excerpt(text)} is not a date and time like 2026-03-06 12:00") from None
    year, month, day = (int(match[name]) for name in ("year", "month", "day"))
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"{match['date']}: give a year between {FIRST_YEAR} and {LAST_YEAR}")
    if not 1 <= month <= 12:
        raise ValueError(f"{match['date']}: there is no month {month} (a year has 12)")
    days = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days:
        raise ValueError(
            f"{match['date']}: there is no day {day} ({_MONTH_NAMES[month - 1]} {year} has {days})"
        )
    if match["time"] is None:
        return date(year, month, day)
    hour, minute, second = (int(match[name] or 0) for name in ("hour", "minute", "second"))
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{match['time']}: there is no such time of day (they run from 00:00 to 23:59)")
    zone = None
    if match["offset"] in ("Z", "z"):
        zone = UTC
    elif match["offset"]:
        hours, minutes = int(match["hours"]), int(match["minutes"] or 0)
        if hours > 23 or minutes > 59:
            raise ValueError(f"{match['offset']}: an offset from UTC is less than 24 hours, like +01:00")
        offset = timedelta(hours=hours, minutes=minutes)
        zone = timezone(-offset if match["sign"] == "-" else offset)
    micro = int((match["fraction"] or "")[:6].ljust(6, "0"))
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)


def _wall_clock(value: Any) -> Any:
    if isinstance(value, str):
        value = _moment(value.strip())
    if isinstance(value, date) and not isinstance(value, datetime):
        raise ValueError(f"{value:%Y-%m-%d} has no time: give one, like {value:%Y-%m-%d} 12:00")
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < 24 * 60:  # YAML 1.1 reads an unquoted 17:45 as 1065, in base 60
            hours, minutes = divmod(value, 60)
            raise ValueError(f"give the date with the time, like 2026-03-06 {hours:02d}:{minutes:02d}")
        raise ValueError("give a date and time, like 2026-03-06 12:00")
    return value


def _in_range(value: datetime) -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"{value.date().isoformat()}: give a year between {FIRST_YEAR} and {LAST_YEAR}")
    return value


def _timezone_name(name: str) -> str:
    zone_named(name)
    return name


# A wall-clock time in the event's zone; with an offset (2026-10-25 02:30 +01:00) only to say
# which of a time that happens twice is meant, the night the clocks go back.
WallClock = Annotated[datetime, BeforeValidator(_wall_clock), AfterValidator(_in_range)]
TimeZoneName = Annotated[str, AfterValidator(single_line), AfterValidator(_timezone_name)]
Language = Annotated[str, AfterValidator(single_line), AfterValidator(language_tag)]


class EventDefaults(Strict):
    """What an event file may leave out, from the settings' `[defaults]`."""

    timezone: TimeZoneName = "UTC"
    duration_minutes: int = Field(default=60, ge=1, le=24 * 60 * 14)
    reminder_minutes: int | None = Field(default=None, ge=0, le=7 * 24 * 60)
    language: Language = SOURCE  # what the emails are written in, unless a reader's own says otherwise


class Event(Strict):
    """One event, as written in its YAML file, with the settings' defaults filled in."""

    series: Line | None = None
    category: Line | None = None
    title: Line
    start: WallClock
    end: WallClock | None = None
    timezone: TimeZoneName | None = None
    venue: Annotated[Venue, BeforeValidator(venue_value)] | None = None
    intro: Markdown | None = None
    speakers: list[Speaker] = Field(default_factory=list, max_length=MAX_ITEMS)
    host: Host | None = None
    abstract: Markdown | None = None
    publications: list[Publication] = Field(default_factory=list, max_length=MAX_ITEMS)
    url: WebURL | None = None
    links: list[Link] = Field(default_factory=list, max_length=MAX_ITEMS)
    materials: list[Material] = Field(default_factory=list, max_length=MAX_ITEMS)  # after the talk
    reminder_minutes: int | None = Field(default=None, ge=0, le=7 * 24 * 60)  # a calendar alarm before
    language: Language = SOURCE

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any, info: ValidationInfo) -> Any:
        defaults = (info.context or {}).get("defaults")
        if isinstance(data, dict) and isinstance(defaults, EventDefaults):
            data = dict(data)
            data.setdefault("timezone", defaults.timezone)
            data.setdefault("language", defaults.language)
            if defaults.reminder_minutes is not None:
                data.setdefault("reminder_minutes", defaults.reminder_minutes)
            start = _try_wall_clock(data.get("start"))
            if "end" not in data and isinstance(start, datetime) and FIRST_YEAR <= start.year < LAST_YEAR:
                # `timezone: null` is UTC, as `zone` reads it; a zone that is not text is refused as such
                zone = data["timezone"] if isinstance(data["timezone"], str) else "UTC"
                data["end"] = _later(start, timedelta(minutes=defaults.duration_minutes), zone)
        return data

    @model_validator(mode="after")
    def _check_times(self) -> Self:
        zone = self.zone
        for name, value in (("start", self.start), ("end", self.end)):
            if value is not None and (problem := _wall_time_problem(value, zone)):
                raise ValueError(f"{name}: {problem}")
        # In UTC: within one zone Python compares wall clocks, and 02:30 comes twice some nights.
        if self.end is not None and self.ends_at.astimezone(UTC) <= self.starts_at.astimezone(UTC):
            raise ValueError(f"end: {self.end:%Y-%m-%d %H:%M} is not after start {self.start:%Y-%m-%d %H:%M}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return zone_named(self.timezone or "UTC")

    @property
    def starts_at(self) -> datetime:
        """The start as an aware datetime in the event's own time zone."""
        return _in_zone(self.start, self.zone)

    @property
    def ends_at(self) -> datetime:
        """The end as an aware datetime; an event without one lasts an hour."""
        if self.end is None:
            return _in_zone(_later(self.start, timedelta(hours=1), self.zone.key), self.zone)
        return _in_zone(self.end, self.zone)

    @property
    def wall_start(self) -> datetime:
        """The start as the event's own clock shows it, without a zone."""
        return self.starts_at.replace(tzinfo=None)


def _try_wall_clock(value: Any) -> Any:
    try:
        return _wall_clock(value)
    except ValueError:
        return None


def _in_zone(value: datetime, zone: ZoneInfo) -> datetime:
    """A wall-clock time (or one with its offset) as an aware time in `zone`."""
    return value.astimezone(zone) if value.tzinfo is not None else value.replace(tzinfo=zone)


def _later(value: datetime, duration: timedelta, zone_name: str) -> datetime:
    """`duration` after `value` in real time (across a change of the clocks too)."""
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        return value + duration  # the zone's own error is reported
    end = (_in_zone(value, zone).astimezone(UTC) + duration).astimezone(zone)
    if value.tzinfo is None and not happens_twice(end.replace(tzinfo=None), zone):
        return end.replace(tzinfo=None)
    return end.astimezone(timezone(end.utcoffset() or timedelta(0)))  # the offset says which of the two


def happens_twice(wall: datetime, zone: ZoneInfo) -> bool:
    """Whether a wall-clock time happens twice in `zone` (the hour repeated when the clocks go back)."""
    first, second = (wall.replace(tzinfo=zone, fold=fold) for fold in (0, 1))
    return first.utcoffset() != second.utcoffset()


def _wall_time_problem(value: datetime, zone: ZoneInfo) -> str | None:
    """Why `value` does not name one instant in `zone`: skipped, repeated, or a foreign offset."""
    wall = value.replace(tzinfo=None)
    if value.tzinfo is not None:
        if value.astimezone(zone).replace(tzinfo=None) != wall:
            return f"{value:%Y-%m-%d %H:%M %z}: {zone.key} has another offset then; give the time without one"
        return None
    aware = wall.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
        return (
            f"{wall:%Y-%m-%d %H:%M} does not exist in {zone.key} "
            "(the clocks skip it when daylight saving time begins)"
        )
    if happens_twice(wall, zone):
        first, second = (f"{wall.replace(tzinfo=zone, fold=fold):%z}" for fold in (0, 1))
        return (
            f"{wall:%Y-%m-%d %H:%M} happens twice in {zone.key} (the clocks go back that night): "
            f"say which, with its offset: {wall:%Y-%m-%d %H:%M} {first[:3]}:{first[3:]} for the first, "
            f"{second[:3]}:{second[3:]} for the second"
        )
    return None
