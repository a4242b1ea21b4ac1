"""Choosing the events of a digest: those starting within a window of days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from announcer.errors import EventError, InputError, Problem
from announcer.loading import display_path, event_slug, load_event
from announcer.model import Event, EventDefaults

EVENT_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class Window:
    """The days a digest covers: from `first` for `days` days (the end day is not included)."""

    first: date
    days: int

    @property
    def starts(self) -> datetime:
        return datetime.combine(self.first, datetime.min.time())

    @property
    def ends(self) -> datetime:
        return self.starts + timedelta(days=self.days)

    @property
    def last(self) -> date:
        return self.first + timedelta(days=self.days - 1)

    def holds(self, event: Event) -> bool:
        """Whether the event starts inside the window, read on its own wall clock.

        An event at 23:30 in New York on Sunday is a Sunday event, whatever the reader's zone.
        """
        return self.starts <= event.start < self.ends


@dataclass(frozen=True)
class Listed:
    """An event in a digest, with the slug its invitation and calendar entry use."""

    slug: str
    event: Event


def event_files(folder: Path) -> list[Path]:
    """The event files of a folder, in name order."""
    if not folder.is_dir():
        raise EventError([Problem(display_path(folder), "not a folder of event files")])
    return sorted(path for path in folder.iterdir() if path.suffix in EVENT_SUFFIXES and path.is_file())


def choose_events(folder: Path, window: Window, defaults: EventDefaults) -> list[Listed]:
    """Every event of `folder` starting within `window`, by its own day, then by instant.

    Every file is read, in or out of the window, and all their problems reported together:
    a broken file must never silently drop an event from a digest.
    """
    chosen: list[Listed] = []
    problems: list[Problem] = []
    for path in event_files(folder):
        try:
            event = load_event(path, defaults)
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if window.holds(event):
            chosen.append(Listed(event_slug(path), event))
    if problems:
        raise EventError(problems)
    return sorted(chosen, key=lambda listed: (listed.event.start.date(), listed.event.starts_at, listed.slug))
