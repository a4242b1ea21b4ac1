"""The days a digest covers, and which events fall in them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from announcer.model.event import Event
from announcer.model.named import NamedEvent


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
        return self.starts <= event.wall_start < self.ends


def in_window(events: list[NamedEvent], window: Window) -> list[NamedEvent]:
    """The events starting within `window`, by their own day, then by instant."""
    chosen = [named for named in events if window.holds(named.event)]
    return sorted(chosen, key=lambda named: (named.event.start.date(), named.event.starts_at, named.slug))
