"""An `.ics` (or a mail's calendar part) to a draft: SUMMARY, DTSTART/DTEND with their zone,
LOCATION, URL; the DESCRIPTION is read as announcement text."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar

from announcer.importer.draft import Draft, Undecided
from announcer.importer.online import meeting_link
from announcer.importer.places import venue_of

MAX_CALENDAR_BYTES = 512_000  # an invitation's calendar with a long description has 20 KB


class CalendarUnreadable(ValueError):
    """Raised when a calendar cannot be parsed, or holds no event."""


def read_calendar(data: bytes, default_zone: str) -> tuple[Draft, str]:
    """The first event of a calendar as a draft, and its description (read as text after)."""
    if len(data) > MAX_CALENDAR_BYTES:
        raise CalendarUnreadable(f"its calendar is over {MAX_CALENDAR_BYTES:,} bytes: not an invitation")
    try:
        calendar = Calendar.from_ical(data.decode("utf-8", errors="replace"))
        events = list(calendar.walk("VEVENT"))[:50]
    except Exception as exc:  # a stranger's calendar: any failure to parse is "unreadable"
        raise CalendarUnreadable(f"its calendar cannot be read ({type(exc).__name__})") from None
    if not events:
        raise CalendarUnreadable("its calendar holds no event (VEVENT)")
    event = events[0]
    draft = Draft()
    if len(events) > 1:
        draft.warnings.append(f"the calendar holds {len(events)} events: only the first is imported")
    if summary := str(event.get("SUMMARY", "")).strip():
        draft.title = summary
    try:
        _times(
            draft,
            event.decoded("DTSTART"),
            event.decoded("DTEND") if "DTEND" in event else None,
            default_zone,
        )
    except (KeyError, ValueError, TypeError, OverflowError):
        draft.when.day = Undecided("the calendar's DTSTART cannot be read")
    if location := str(event.get("LOCATION", "")).strip():
        if link := meeting_link(location):
            draft.online_url = link
            location = location.replace(link, "").strip(" ,;")
        if location:
            draft.venue = venue_of(location)
    if url := str(event.get("URL", "")).strip():
        draft.url = url
    return draft, str(event.get("DESCRIPTION", ""))


def _times(draft: Draft, start: object, end: object, default_zone: str) -> None:
    if isinstance(start, datetime):
        zone = getattr(start.tzinfo, "key", None)
        if start.tzinfo is not None and zone is None:  # UTC, or an offset: the workspace's clock
            zone = default_zone
            start = start.astimezone(ZoneInfo(default_zone))
            end = end.astimezone(ZoneInfo(default_zone)) if isinstance(end, datetime) else end
        draft.when.zone = zone
        draft.when.day, draft.when.start = start.date(), start.time().replace(second=0, microsecond=0)
        if isinstance(end, datetime):
            if end.tzinfo is not None and start.tzinfo is not None:
                end = end.astimezone(start.tzinfo)
            if end.date() == start.date():
                draft.when.end = end.time().replace(second=0, microsecond=0)
    elif isinstance(start, date):
        draft.when.day = start
        draft.when.start = Undecided("the calendar gives the day only")
    elif isinstance(start, timedelta):
        raise ValueError("a duration is no start")
