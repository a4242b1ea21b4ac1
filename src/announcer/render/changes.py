"""What an update says changed since the last send, in the reader's words: "Time: was …, now …",
and the subject's first word ("New time:", "Moved:", "Updated:")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from announcer.languages import translations
from announcer.lifecycle import Edition, snapshot_of
from announcer.model.event import Event
from announcer.render.wording import Schedule


@dataclass(frozen=True)
class Change:
    """One thing an update changed, in the reader's language: "Time: was …, now …"."""

    key: str  # Time, Place, Title or Speakers
    label: str
    was: str
    now: str


def changes(edition: Edition, event: Event, language: str) -> list[Change]:
    """What differs from what an update's readers were told before (nothing for anyone else)."""
    _ = translations(language).gettext
    labels = {"Time": _("Time"), "Place": _("Place"), "Title": _("Title"), "Speakers": _("Speakers")}
    now = snapshot_of(event)
    found = []
    for key, value in now.items():
        before = edition.previous.get(key, value)
        if before == value:
            continue
        if key != "Time":
            found.append(Change(key, labels[key], before, value))
            continue
        was, is_now = _schedule(before, language), _schedule(value, language)
        if was is None:  # a time a journal of 0.2 kept only in English words: what changed is not known
            continue
        now_words = _time_in_words(is_now) if is_now else value
        # The same day, said again, would hide what moved: then "was" is the times alone.
        same_day = is_now is not None and (was.date, was.zone) == (is_now.date, is_now.zone)
        said_before = f"{was.times}" if same_day else _time_in_words(was)
        found.append(Change(key, labels[key], said_before, now_words))
    return found


def _schedule(value: str, language: str) -> Schedule | None:
    """A snapshot's time ("start/end/zone") as the reader's language says it; None if unreadable."""
    try:
        start, end, zone = value.split("/", 2)
        return Schedule.at(
            datetime.fromisoformat(start), datetime.fromisoformat(end), ZoneInfo(zone), language
        )
    except (ValueError, LookupError):
        return None


def _time_in_words(schedule: Schedule) -> str:
    return f"{schedule.date}, {schedule.times} {schedule.zone}"


def update_headline(found: list[Change], language: str) -> str:
    """The subject's first word for an update: "New time:", "Moved:", or "Updated:"."""
    _ = translations(language).gettext
    keys = {change.key for change in found}
    if keys == {"Time"}:
        return _("New time:")
    if keys == {"Place"}:
        return _("Moved:")
    return _("Updated:")
