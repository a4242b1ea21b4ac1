"""An event's life in calendars: its UID and organizer, and what its next real send will be.

One home for the rules every verb shares: `send`, `digest`, `render` and `preview` all ask
`next_edition` which SEQUENCE and kind (invitation or update) the next real send carries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC
from typing import Literal, Protocol

from announcer import clock
from announcer.model.event import Event, NamedEvent
from announcer.model.settings import Settings
from announcer.model.window import Window

Kind = Literal["invitation", "update", "cancellation"]
CANCELLED = "cancelled"  # the fingerprint a cancellation leaves in the journal


class Sequences(Protocol):
    """Where the SEQUENCE of past real sends is kept (the journal)."""

    def sequence(self, uid: str, fingerprint: str) -> int:
        """The SEQUENCE a send of this schedule carries: one more than last time if it changed."""
        ...

    def fingerprint(self, uid: str) -> str | None:
        """What the last real send of this UID settled (CANCELLED after a cancellation), if any."""
        ...


@dataclass(frozen=True)
class Organizer:
    """Who the calendar names as organiser."""

    name: str
    email: str


@dataclass(frozen=True)
class Edition:
    """Which version of an event a message carries: its UID, SEQUENCE and schedule fingerprint."""

    uid: str
    sequence: int
    fingerprint: str

    @property
    def kind(self) -> Kind:
        """A first announcement, an update of one that changed time or place, or its cancellation."""
        if self.fingerprint == CANCELLED:
            return "cancellation"
        return "invitation" if self.sequence == 0 else "update"


def event_uid(slug: str, settings: Settings) -> str:
    """The same event always has the same UID, so a later send updates the calendar entry."""
    return f"{slug}@{settings.sender.domain}"


def digest_uid(window: Window, settings: Settings) -> str:
    """A digest's UID: its window, so that the same week is journaled as one send."""
    return f"digest-{window.first:%Y%m%d}-{window.days}d@{settings.sender.domain}"


def organizer_of(event: Event, settings: Settings) -> Organizer:
    """The host if they gave an address, else the sender: calendar replies reach a person."""
    if event.host and event.host.email:
        return Organizer(event.host.name, event.host.email)
    return Organizer(settings.sender.name, settings.sender.email)


def schedule_fingerprint(event: Event) -> str:
    """A digest of what makes a calendar entry change (time and place): SEQUENCE rises with it.

    Other edits (a typo in the abstract) do not: RFC 5546 §2.1.4 asks for a new SEQUENCE when
    the times change, and a new SEQUENCE means everyone receives the update again.
    """
    parts = (
        event.starts_at.astimezone(UTC).isoformat(),
        event.ends_at.astimezone(UTC).isoformat(),
        event.venue.place if event.venue else "",
    )
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def is_over(event: Event) -> bool:
    """Whether the event has ended (an announcement of it comes too late)."""
    return event.ends_at <= clock.utc_now()


def next_edition(named: NamedEvent, settings: Settings, sequences: Sequences) -> Edition:
    """The UID, SEQUENCE and fingerprint that the next real send of this event carries."""
    uid = event_uid(named.slug, settings)
    fingerprint = schedule_fingerprint(named.event)
    return Edition(uid, sequences.sequence(uid, fingerprint), fingerprint)


def cancellation(named: NamedEvent, settings: Settings, sequences: Sequences) -> Edition:
    """The edition that cancels the event: its UID, SEQUENCE raised (RFC 5546 §3.2.5)."""
    uid = event_uid(named.slug, settings)
    return Edition(uid, sequences.sequence(uid, CANCELLED), CANCELLED)


def current_edition(named: NamedEvent, settings: Settings, sequences: Sequences) -> Edition:
    """What people have now: the cancellation, if the last real send cancelled the event, else
    the next send's edition (the digest and the preview show this)."""
    uid = event_uid(named.slug, settings)
    if sequences.fingerprint(uid) == CANCELLED:
        return Edition(uid, sequences.sequence(uid, CANCELLED), CANCELLED)
    return next_edition(named, settings, sequences)
