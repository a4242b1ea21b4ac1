"""What an import found: each field decided, or undecided with the lines it could be."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

# The longest line read as a field (a date, a person, a place, a reference): longer is prose, and
# the rules that read fields look at no more of it (their time grows with what they are given).
LONGEST_FIELD_LINE = 1_000


@dataclass(frozen=True)
class Undecided:
    """A field the announcement does not settle: why, and the readings (or lines) it could be."""

    why: str
    candidates: tuple[str, ...] = ()


@dataclass
class When:
    """The day and times an announcement gives, each decided or not."""

    day: date | Undecided | None = None
    start: time | Undecided | None = None
    end: time | Undecided | None = None
    zone: str | Undecided | None = None  # an IANA name, when the text names one
    offset_minutes: int | None = None  # a fixed offset from a calendar or a web page's ISO time
    moved_from: str | None = None  # a postponed event's old date, as written
    line: str | None = None  # the line the date was read from


@dataclass
class Draft:
    """An event as far as the announcement says it; `None` is "not said", `Undecided` is a TODO."""

    series: str | Undecided | None = None
    category: str | None = None
    title: str | Undecided | None = None
    when: When = field(default_factory=When)
    venue: dict[str, str] = field(default_factory=dict)
    online_url: str | Undecided | None = None
    intro: str | None = None
    speakers: list[dict[str, str]] | Undecided = field(default_factory=list)
    host: dict[str, str] | Undecided | None = None
    abstract: str | Undecided | None = None
    publications: list[dict[str, Any]] | Undecided = field(default_factory=list)
    url: str | None = None
    notes: list[str] = field(default_factory=list)  # comments for the organiser, at the file's top
    warnings: list[str] = field(default_factory=list)  # printed: what looks wrong in the source

    def fill(self, other: Draft) -> None:
        """Take from `other` what this draft has not found (structured data first, text after)."""
        for name in ("series", "category", "title", "online_url", "intro", "host", "abstract", "url"):
            mine = getattr(self, name)
            if (mine is None or isinstance(mine, Undecided)) and getattr(other, name) is not None:
                setattr(self, name, getattr(other, name))
        for name in ("day", "start", "end", "zone", "moved_from"):
            if getattr(self.when, name) is None and getattr(other.when, name) is not None:
                setattr(self.when, name, getattr(other.when, name))
        if self.when.offset_minutes is None:
            self.when.offset_minutes = other.when.offset_minutes
        for key, value in other.venue.items():
            self.venue.setdefault(key, value)
        if not self.speakers and other.speakers:
            self.speakers = other.speakers
        elif isinstance(self.speakers, list) and isinstance(other.speakers, list):
            _add_details(self.speakers, other.speakers)
        if not self.publications:
            self.publications = other.publications
        self.notes += other.notes
        self.warnings += other.warnings


def _add_details(speakers: list[dict[str, str]], others: list[dict[str, str]]) -> None:
    """A speaker named in both keeps what either says of them (a bio from the text, say)."""
    by_name = {other.get("name", "").casefold(): other for other in others}
    for speaker in speakers:
        for key, value in by_name.get(speaker.get("name", "").casefold(), {}).items():
            speaker.setdefault(key, value)
