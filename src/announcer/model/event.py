"""The event as pydantic models: what an organiser writes down once, validated."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, model_validator

from announcer.model.text import Address, Line, Markdown, Strict, WebURL, single_line

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
_DOI_PREFIX = re.compile(r"^(?:https?://(?:dx\.)?doi\.org/|doi:\s*)", re.IGNORECASE)


def _month(value: str) -> str:
    """`2`, `02`, `Feb` or `February` as the citation's "Feb"."""
    if value.isdigit():
        if not 1 <= int(value) <= 12:
            raise ValueError(f"{value!r} is not a month: give 1 to 12, or Jan to Dec")
        return _MONTHS[int(value) - 1]
    return value


def _doi(value: str) -> str:
    """A DOI as `10.1038/...`, also when written as its https://doi.org/ link or `doi:`."""
    doi = _DOI_PREFIX.sub("", value)
    if not re.fullmatch(r"10\.\d{4,9}/\S+", doi):
        raise ValueError(f"{value!r} is not a DOI like 10.1016/S0140-6736(23)01126-1")
    return doi


def _venue(value: Any) -> Any:
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
        text = str(self.year)
        if self.month:
            text += f" {self.month}"
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


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        message = f"unknown time zone {name!r} (use an IANA name such as Europe/Stockholm)"
        raise ValueError(message) from None


def _wall_clock(value: Any) -> Any:
    if isinstance(value, str):
        try:
            moment = date.fromisoformat(value.strip())
        except ValueError:
            try:
                return datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(f"{value!r} is not a date and time like 2026-03-06 12:00") from None
        value = moment
    if isinstance(value, date) and not isinstance(value, datetime):
        raise ValueError(f"{value:%Y-%m-%d} has no time: give one, like {value:%Y-%m-%d} 12:00")
    if isinstance(value, int) and not isinstance(value, bool):  # YAML reads an unquoted 17:45 as 1065
        hours, minutes = divmod(value, 60)
        raise ValueError(f"give the date with the time, like 2026-03-06 {hours:02d}:{minutes:02d}")
    return value


def _naive(value: datetime) -> datetime:
    if value.tzinfo is not None:
        raise ValueError("give the wall-clock time without an offset and set `timezone` instead")
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise ValueError(f"{value.date().isoformat()}: give a year between {FIRST_YEAR} and {LAST_YEAR}")
    return value


def _timezone_name(name: str) -> str:
    _zone(name)
    return name


WallClock = Annotated[datetime, BeforeValidator(_wall_clock), AfterValidator(_naive)]
TimeZoneName = Annotated[str, AfterValidator(single_line), AfterValidator(_timezone_name)]


class EventDefaults(Strict):
    """What an event file may leave out, from the settings' `[defaults]`."""

    timezone: TimeZoneName = "UTC"
    duration_minutes: int = Field(default=60, ge=1, le=24 * 60 * 14)


class Event(Strict):
    """One event, as written in its YAML file, with the settings' defaults filled in."""

    series: Line | None = None
    category: Line | None = None
    title: Line
    start: WallClock
    end: WallClock | None = None
    timezone: TimeZoneName | None = None
    venue: Annotated[Venue, BeforeValidator(_venue)] | None = None
    intro: Markdown | None = None
    speakers: list[Speaker] = Field(default_factory=list, max_length=MAX_ITEMS)
    host: Host | None = None
    abstract: Markdown | None = None
    publications: list[Publication] = Field(default_factory=list, max_length=MAX_ITEMS)
    url: WebURL | None = None
    links: list[Link] = Field(default_factory=list, max_length=MAX_ITEMS)

    @model_validator(mode="before")
    @classmethod
    def _fill_defaults(cls, data: Any, info: ValidationInfo) -> Any:
        defaults = (info.context or {}).get("defaults")
        if isinstance(data, dict) and isinstance(defaults, EventDefaults):
            data = dict(data)
            data.setdefault("timezone", defaults.timezone)
            start = _try_wall_clock(data.get("start"))
            if "end" not in data and isinstance(start, datetime) and FIRST_YEAR <= start.year < LAST_YEAR:
                data["end"] = start + timedelta(minutes=defaults.duration_minutes)
        return data

    @model_validator(mode="after")
    def _check_times(self) -> Self:
        zone = self.zone
        for name, value in (("start", self.start), ("end", self.end)):
            if value is not None and not _exists(value, zone):
                raise ValueError(
                    f"{name}: {value:%Y-%m-%d %H:%M} does not exist in {zone.key} "
                    "(the clocks skip it when daylight saving time begins)"
                )
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end: {self.end:%Y-%m-%d %H:%M} is not after start {self.start:%Y-%m-%d %H:%M}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return _zone(self.timezone or "UTC")

    @property
    def starts_at(self) -> datetime:
        """The start as an aware datetime in the event's own time zone."""
        return self.start.replace(tzinfo=self.zone)

    @property
    def ends_at(self) -> datetime:
        """The end as an aware datetime; an event without one lasts an hour."""
        end = self.end if self.end is not None else self.start + timedelta(hours=1)
        return end.replace(tzinfo=self.zone)


def _try_wall_clock(value: Any) -> Any:
    try:
        return _wall_clock(value)
    except ValueError:
        return None


def _exists(wall: datetime, zone: ZoneInfo) -> bool:
    """False for a wall-clock time inside a daylight-saving gap."""
    aware = wall.replace(tzinfo=zone)
    back = aware.astimezone(ZoneInfo("UTC")).astimezone(zone).replace(tzinfo=None)
    return back == wall


@dataclass(frozen=True)
class NamedEvent:
    """An event with its slug: the name its outbox folder, calendar UID and digest anchor use."""

    slug: str
    event: Event
