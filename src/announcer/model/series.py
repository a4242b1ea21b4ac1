"""A series (`series/<id>.yaml`): what its events share, written once, and how it is announced."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field

from announcer.model.event import (
    MAX_ITEMS,
    EventDefaults,
    Host,
    Language,
    Link,
    TimeZoneName,
    Venue,
    venue_value,
)
from announcer.model.settings import Brand, Settings
from announcer.model.text import Line, Markdown, Strict, WebURL, excerpt

# What an event of the series inherits, merged key by key (a new room keeps the building).
INHERITED = ("category", "venue", "host", "links")
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_LEAD = re.compile(r"(\d+)\s*(d|h|min|m)")
_MINUTES = {"d": 24 * 60, "h": 60, "min": 1, "m": 1}
LONGEST_LEAD = timedelta(days=7)  # a reminder, or `remind --within`: from a minute to a week before


def clock_time(value: str) -> str:
    """A time of day as written, "12:00" (a series' usual time, `new --time`)."""
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value.strip()):
        raise ValueError(f"{excerpt(value)} is not a time of day like 12:00")
    return value.strip()


def _clock(value: Any) -> Any:
    """ "12:00" as written; YAML 1.1 reads an unquoted 12:00 as the number 720 (base 60)."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return f"{value // 60:02d}:{value % 60:02d}"
    return clock_time(value) if isinstance(value, str) else value


def lead_value(value: Any) -> Any:
    """A reminder's lead time: "1d", "24h", "90min" (at most a week)."""
    if not isinstance(value, str) or not (match := _LEAD.fullmatch(value.strip())):
        shown = excerpt(value) if isinstance(value, str) else "this"
        raise ValueError(f"{shown} is not a time before the event like 1d, 2h or 30min")
    # Compared as minutes, before a timedelta is made or a long number read: 99999999999d is past
    # what a timedelta holds, and Python reads no number of more than 4,300 digits.
    digits = match[1].lstrip("0")
    minutes = int(digits or "0") * _MINUTES[match[2]] if len(digits) <= 6 else None
    if minutes is None or not 1 <= minutes <= LONGEST_LEAD // timedelta(minutes=1):
        raise ValueError(f"{excerpt(value)}: give a time from a minute to a week (7d) before")
    return value.strip()


ClockTime = Annotated[str, BeforeValidator(_clock)]
Lead = Annotated[str, AfterValidator(lead_value)]


def lead_time(lead: str) -> timedelta:
    """ "1d" as a timedelta (`lead` checked by `lead_value`)."""
    match = _LEAD.fullmatch(lead)
    assert match is not None
    return timedelta(minutes=int(match[1]) * _MINUTES[match[2]])


class Series(Strict):
    """A series of events: its name, usual slot and place, brand, list and reminder policy."""

    name: Line
    description: Markdown | None = None
    url: WebURL | None = None  # the series' own page
    weekday: Weekday | None = None
    time: ClockTime | None = None
    duration_minutes: int | None = Field(default=None, ge=1, le=24 * 60 * 14)
    timezone: TimeZoneName | None = None
    language: Language | None = None
    reminder_minutes: int | None = Field(default=None, ge=0, le=7 * 24 * 60)  # a calendar alarm
    category: Line | None = None
    venue: Annotated[Venue, BeforeValidator(venue_value)] | None = None
    host: Host | None = None
    links: list[Link] = Field(default_factory=list, max_length=MAX_ITEMS)
    brand: Brand | None = None
    to: Line | None = None  # the recipients file (or one address) its events go to
    reminders: list[Lead] = Field(default_factory=list, max_length=4)  # "1d", "1h": emails before

    def defaults(self, workspace: EventDefaults) -> EventDefaults:
        """The workspace's `[defaults]` with what the series says instead."""
        own = {
            "timezone": self.timezone,
            "language": self.language,
            "duration_minutes": self.duration_minutes,
            "reminder_minutes": self.reminder_minutes,
        }
        return workspace.model_copy(update={key: value for key, value in own.items() if value is not None})

    def branded(self, settings: Settings) -> Settings:
        """The settings with the series' own brand over the workspace's, value by value."""
        if self.brand is None:
            return settings
        own = self.brand.model_dump(include=self.brand.model_fields_set)
        return settings.model_copy(update={"brand": settings.brand.model_copy(update=own)})
