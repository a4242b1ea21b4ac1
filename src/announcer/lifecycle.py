"""An event's life in calendars: its UID and organizer, and what its next real send will be.

One home for the rules every verb shares: `send`, `digest`, `render` and `preview` all ask
`next_edition` which SEQUENCE and kind (invitation or update) the next real send carries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from announcer import clock
from announcer.history import Sent
from announcer.kinds import Kind
from announcer.model.event import Event
from announcer.model.named import NamedEvent
from announcer.model.series import lead_time
from announcer.model.settings import Sender
from announcer.model.window import Window

CANCELLED = "cancelled"  # the fingerprint a cancellation leaves in the journal


class Sequences(Protocol):
    """Where past real sends are kept (the calendar history): read here, never decided there."""

    def last(self, uid: str) -> Sent | None:
        """The SEQUENCE and fingerprint the last real send of this UID carried, if any."""
        ...

    def told(self, uid: str) -> tuple[dict[str, str], dict[str, str]]:
        """What the last real send of this UID said, and what an update's readers had before."""
        ...

    def asks_replies(self, uid: str) -> bool:
        """Whether a real send of this UID invited its readers as attendees (`send --rsvp`)."""
        ...

    def when(self, uid: str) -> datetime | None:
        """When the last real send of this UID was made, if known."""
        ...


def next_sequence(last: Sent | None, fingerprint: str) -> int:
    """The SEQUENCE a send of this fingerprint carries: 0 for the first, the last one again for
    the same schedule (a re-run reaching those not reached yet), one more once it changed
    (RFC 5546 §2.1.4), a cancellation included."""
    if last is None:
        return 0
    return last.sequence if last.fingerprint == fingerprint else last.sequence + 1


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
    previous: dict[str, str] = field(default_factory=dict)  # what an update's readers were told before
    rsvp: bool = False  # each reader is an ATTENDEE asked to answer (iTIP REQUEST)
    reinstates: bool = False  # the event was cancelled, and is back on

    @property
    def sent(self) -> Sent:
        """What the calendar history keeps of this edition once a real send carries it."""
        return Sent(self.sequence, self.fingerprint, self.kind.value)

    @property
    def kind(self) -> Kind:
        """A first announcement, an update of one that changed time or place, its cancellation,
        or the word that a cancelled event is back on."""
        if self.fingerprint == CANCELLED:
            return Kind.CANCELLATION
        if self.reinstates:
            return Kind.REINSTATEMENT
        return Kind.INVITATION if self.sequence == 0 else Kind.UPDATE

    def for_new_readers(self) -> Edition:
        """This edition as those who never had the event read it: a plain invitation at the same
        SEQUENCE (nothing changed, or came back, for them)."""
        return replace(self, previous={}, reinstates=False)


def event_uid(slug: str, sender: Sender) -> str:
    """The same event always has the same UID, so a later send updates the calendar entry."""
    return f"{slug}@{sender.domain}"


def digest_uid(window: Window, sender: Sender) -> str:
    """A digest's UID: its window, so that the same week is journaled as one send."""
    return f"digest-{window.first:%Y%m%d}-{window.days}d@{sender.domain}"


def organizer_of(event: Event, sender: Sender) -> Organizer:
    """The host if they gave an address, else the sender: calendar replies reach a person."""
    if event.host and event.host.email:
        return Organizer(event.host.name, event.host.email)
    return Organizer(sender.name, sender.email)


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


SOON = "soon"  # the reminder kind of an event whose series sets no `reminders`


def reminder_due(named: NamedEvent, now: datetime, within: timedelta) -> str | None:
    """Which reminder of the event is due at `now`, if any: of its series' lead times ("1d",
    "1h") the shortest already reached, so that a late run sends the nearer one only and never
    both; without a series policy, SOON for an event starting within `within`."""
    # In UTC: within one zone Python adds hours to the wall clock, and a day is not 24 hours
    # on the days the clocks change.
    start, now = named.event.starts_at.astimezone(UTC), now.astimezone(UTC)
    if not now < start <= now + within:
        return None
    series = named.series
    leads = [(lead, lead_time(lead)) for lead in series.reminders] if series and series.reminders else []
    reached = [
        lead
        for lead, before in sorted(leads or [(SOON, within)], key=lambda pair: pair[1])
        if start - before <= now
    ]
    return reached[0] if reached else None


def materials_fingerprint(event: Event) -> str:
    """What tells one list of an event's materials from another (8 hex digits of their
    addresses, in any order): each list is sent once, so what is added later goes out too."""
    addresses = "\n".join(sorted(str(material.url) for material in event.materials))
    return hashlib.sha256(addresses.encode()).hexdigest()[:8]


def is_over(event: Event) -> bool:
    """Whether the event has ended (an announcement of it comes too late)."""
    return event.ends_at <= clock.utc_now()


def next_edition(named: NamedEvent, sender: Sender, sequences: Sequences, *, rsvp: bool = False) -> Edition:
    """The UID, SEQUENCE and fingerprint that the next real send of this event carries.

    Once a real send asked for replies, every later one does too (`rsvp` or not): a calendar
    that stored an invitation as a meeting is kept up to date by further requests.
    """
    uid = event_uid(named.slug, sender)
    fingerprint = schedule_fingerprint(named.event)
    last = sequences.last(uid)  # one read: a send settled meanwhile elsewhere is seen whole or not
    sequence = next_sequence(last, fingerprint)
    rsvp = rsvp or (last is not None and last.rsvp)
    said, before = (last.said, last.before) if last else ({}, {})
    if sequence == 0 or last is None:
        return Edition(uid, sequence, fingerprint, rsvp=rsvp)
    # After a cancellation the event is back on (told against what the cancellation said), and
    # a re-run of that reinstatement (someone was not reached yet) is the same message again.
    rerun = last.fingerprint == fingerprint
    reinstates = last.fingerprint == CANCELLED or (rerun and last.kind == Kind.REINSTATEMENT.value)
    # A change since the last real send is told against what it said; a re-run of the same
    # update against what that update's readers had before.
    previous = before if rerun else said
    return Edition(uid, sequence, fingerprint, previous, rsvp=rsvp, reinstates=reinstates)


@dataclass(frozen=True)
class Cancelled:
    """The last real send of an event cancelled it: when (None where the journal did not keep it)."""

    on: datetime | None


def cancelled(uid: str, sequences: Sequences) -> Cancelled | None:
    """Whether the event stands cancelled: its next send then needs the organiser's word that it
    is back on (the kind's `needs`), and is a reinstatement."""
    last = sequences.last(uid)
    if last is None or last.fingerprint != CANCELLED:
        return None
    return Cancelled(sequences.when(uid))


def cancellation(named: NamedEvent, sender: Sender, sequences: Sequences) -> Edition:
    """The edition that cancels the event: its UID, SEQUENCE raised (RFC 5546 §3.2.5), and its
    readers named as attendees if they were invited as such."""
    uid = event_uid(named.slug, sender)
    sequence = next_sequence(sequences.last(uid), CANCELLED)
    return Edition(uid, sequence, CANCELLED, rsvp=sequences.asks_replies(uid))


def sent_sequence(uid: str, sequences: Sequences) -> int:
    """The SEQUENCE of the last real send of this UID (0 before any)."""
    last = sequences.last(uid)
    return last.sequence if last is not None else 0


def current_edition(named: NamedEvent, sender: Sender, sequences: Sequences) -> Edition:
    """What people have now: the cancellation, if the last real send cancelled the event, else
    the next send's edition (the digest and the preview show this)."""
    uid = event_uid(named.slug, sender)
    last = sequences.last(uid)
    if last is not None and last.fingerprint == CANCELLED:
        return cancellation(named, sender, sequences)
    return next_edition(named, sender, sequences)


def snapshot_of(event: Event) -> dict[str, str]:
    """What an announcement tells of the event, to say later what changed: the time as its
    instants and zone (worded in each reader's language when shown), the rest as written."""
    return {
        "Time": "/".join((event.starts_at.isoformat(), event.ends_at.isoformat(), event.zone.key)),
        "Place": event.venue.place if event.venue else "",
        "Title": event.title,
        "Speakers": ", ".join(speaker.name for speaker in event.speakers),
    }
