"""VTIMEZONE components in the RRULE form Outlook reads, derived from the IANA database."""

from __future__ import annotations

import calendar as weekdays
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from icalendar import Timezone, TimezoneDaylight, TimezoneStandard

_DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_BASE_YEAR = 1970  # observances start here, so every later instant is covered


@dataclass(frozen=True)
class Transition:
    """A change of UTC offset, as the local wall clock showed it just before."""

    local_before: datetime
    offset_before: timedelta
    offset_after: timedelta
    name_after: str


@cache
def transitions(zone: ZoneInfo, year: int) -> tuple[Transition, ...]:
    """The offset changes of `zone` during `year`, found hour by hour and refined to the second
    (once per zone and year: a digest of many events in one zone asks for them each time)."""
    found = []
    moment = datetime(year, 1, 1, tzinfo=UTC) - timedelta(days=1)
    end = datetime(year + 1, 1, 1, tzinfo=UTC) + timedelta(days=1)
    step = timedelta(hours=1)
    while moment < end:
        after = moment + step
        before_offset = moment.astimezone(zone).utcoffset()
        after_offset = after.astimezone(zone).utcoffset()
        if before_offset != after_offset and before_offset is not None and after_offset is not None:
            low, high = moment, after
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(zone).utcoffset() == before_offset:
                    low = middle
                else:
                    high = middle
            local = (high + before_offset).replace(tzinfo=None)
            if local.year == year:
                name = high.astimezone(zone).tzname() or ""
                found.append(Transition(local, before_offset, after_offset, name))
        moment = after
    return tuple(found)


def _rule_day(day: datetime) -> tuple[int, str]:
    """(week, weekday code) for an RRULE: the 2nd Sunday is (2, "SU"), the last one (-1, "SU")."""
    last_day = weekdays.monthrange(day.year, day.month)[1]
    week = -1 if day.day + 7 > last_day else (day.day - 1) // 7 + 1
    return week, _DAY_CODES[day.weekday()]


def _nth_weekday(year: int, month: int, week: int, weekday: int) -> int:
    """The day of the month of the `week`-th (or last, for -1) `weekday` in that month."""
    days = [
        day
        for day in range(1, weekdays.monthrange(year, month)[1] + 1)
        if weekdays.weekday(year, month, day) == weekday
    ]
    return days[week - 1] if week > 0 else days[-1]


def vtimezone(zone: ZoneInfo, year: int) -> Timezone | None:
    """The zone as one STANDARD and one DAYLIGHT observance with yearly rules, right for `year`.

    Any date is the n-th (or last) weekday of its month, so the rules reproduce the year's own
    changes exactly. None when the zone does not change its offset exactly twice that year, once
    each way (Ramadan pauses, a new standard offset): the calendar then states its times in UTC.
    """
    changes = transitions(zone, year)
    component = Timezone()
    component.add("TZID", zone.key)
    if not changes:
        offset = datetime(year, 7, 1, tzinfo=zone).utcoffset() or timedelta(0)
        standard = TimezoneStandard()
        standard.add("DTSTART", datetime(_BASE_YEAR, 1, 1))
        standard.add("TZOFFSETFROM", offset)
        standard.add("TZOFFSETTO", offset)
        standard.add("TZNAME", datetime(year, 7, 1, tzinfo=zone).tzname() or zone.key)
        component.add_component(standard)
        return component
    if len(changes) != 2 or {c.offset_after > c.offset_before for c in changes} != {True, False}:
        return None
    for change in changes:
        week, day_code = _rule_day(change.local_before)
        month = change.local_before.month
        base_day = _nth_weekday(_BASE_YEAR, month, week, _DAY_CODES.index(day_code))
        observance = TimezoneDaylight() if change.offset_after > change.offset_before else TimezoneStandard()
        observance.add("DTSTART", change.local_before.replace(year=_BASE_YEAR, day=base_day))
        observance.add("TZOFFSETFROM", change.offset_before)
        observance.add("TZOFFSETTO", change.offset_after)
        observance.add("TZNAME", change.name_after)
        observance.add("RRULE", {"FREQ": "YEARLY", "BYMONTH": month, "BYDAY": f"{week}{day_code}"})
        component.add_component(observance)
    return component
