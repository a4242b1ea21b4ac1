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
        was = _in_words(key, before, language)
        if before != value and was is not None:
            found.append(Change(key, labels[key], was, _in_words(key, value, language) or value))
    return found


def _in_words(key: str, value: str, language: str) -> str | None:
    """A snapshot's value as the reader reads it, the time in their language's words (None for
    a time a journal of 0.2 kept only in English words: what changed there is not known)."""
    if key != "Time":
        return value
    try:
        start, end, zone = value.split("/", 2)
        schedule = Schedule.at(
            datetime.fromisoformat(start), datetime.fromisoformat(end), ZoneInfo(zone), language
        )
    except (ValueError, LookupError):
        return None
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
