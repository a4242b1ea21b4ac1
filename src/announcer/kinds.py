"""The kinds of message announcer sends, in one table: what each is made from and how it is kept.

A new kind of message is a row here, its templates (`<template>.subject.j2`, `.txt.j2`,
`.mjml.j2`) and their words; the renderer, the send pipeline, the preview and the pre-flight
read the row, never the kind's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Literal


class Kind(StrEnum):
    """A kind of message; its value is the word the journal's keys begin with."""

    INVITATION = "invitation"
    UPDATE = "update"
    CANCELLATION = "cancellation"
    REINSTATEMENT = "reinstatement"
    REMINDER = "reminder"
    DIGEST = "digest"
    MATERIALS = "materials"


Method = Literal["PUBLISH", "REQUEST", "CANCEL"]


def _(message: str) -> str:
    """Marks a kind's words for the catalogs (`pybabel extract`); translated where rendered."""
    return message


@dataclass(frozen=True, kw_only=True)
class Row:
    """What a kind of message is: its templates, its journal key, its calendar and its subject."""

    template: str  # the stem of its templates
    journal: str  # the journal key's first part: the kind's name, "-{lead}" for a reminder ("1d")
    per_sequence: bool  # keyed by the SEQUENCE it carries (a new one is news), else sent once
    method: Method | None  # its calendar's iTIP method (RFC 5546); None: REQUEST if asking, else PUBLISH
    has_event: bool  # a reader who got it has the event in their calendar (cancel and update reach them)
    tells_changes: bool  # says what changed, and its subject opens with it ("New time:")
    slug: str  # its outbox folder and files; "{slug}" is the event's (or digest's), "{lead}" as above
    label: str  # what the pre-flight calls it: the verb that sends it
    headline: str | None = None  # its subject's first words, always ("Back on:"); else what changed says
    notice: str | None = None  # what it says first, above what changed ("This event is back on")
    needs: str | None = None  # the option without which its verb refuses to send it (said by `check`)
    # Goes to readers who unsubscribed too (never to those who bounce or complained): a
    # cancellation removes an entry from their calendar, without which they come to no talk.
    reaches_unsubscribed: bool = False


KINDS: Mapping[Kind, Row] = MappingProxyType(
    {
        Kind.INVITATION: Row(
            template="invitation",
            journal="invitation",
            per_sequence=True,
            method=None,
            has_event=True,
            tells_changes=False,
            slug="{slug}",
            label="the next send",
        ),
        Kind.UPDATE: Row(
            template="invitation",
            journal="update",
            per_sequence=True,
            method=None,
            has_event=True,
            tells_changes=True,
            slug="{slug}",
            label="the next send",
        ),
        # A cancelled event that is back on: sent only when the organiser says so, to tell
        # everyone it takes place after all (SEQUENCE raised, the entry CONFIRMED again).
        Kind.REINSTATEMENT: Row(
            template="invitation",
            journal="reinstatement",
            per_sequence=True,
            method=None,
            has_event=True,
            tells_changes=True,
            slug="{slug}",
            label="the next send",
            headline=_("Back on:"),
            notice=_("This event is back on"),
            needs="--reinstate",
        ),
        Kind.CANCELLATION: Row(
            template="cancellation",
            journal="cancellation",
            per_sequence=True,
            method="CANCEL",
            has_event=False,
            tells_changes=False,
            slug="{slug}-cancellation",
            label="announcer cancel",
            reaches_unsubscribed=True,
        ),
        # A reminder carries the event's calendar, so its reader has the event (the journal
        # counts them among those a cancellation reaches).
        Kind.REMINDER: Row(
            template="reminder",
            journal="reminder-{lead}",
            per_sequence=False,
            method="PUBLISH",
            has_event=True,
            tells_changes=False,
            slug="{slug}-reminder-{lead}",
            label="announcer remind",
        ),
        # After the talk: its slides, recording, papers (the event file's `materials:`), once to
        # each reader for each list of them (`lead`: the list's fingerprint, so a recording
        # added after the slides goes out too). It carries the event's calendar, with them on it.
        Kind.MATERIALS: Row(
            template="materials",
            journal="materials-{lead}",
            per_sequence=False,
            method="PUBLISH",
            has_event=True,
            tells_changes=False,
            slug="{slug}-materials",
            label="announcer materials",
        ),
        # Keyed by the digest's own UID, never an event's: it counts for no event.
        Kind.DIGEST: Row(
            template="digest",
            journal="digest",
            per_sequence=False,
            method="PUBLISH",
            has_event=False,
            tells_changes=False,
            slug="{slug}",
            label="the digest",
        ),
    }
)


def journal_key(kind: Kind, uid: str, sequence: int = 0, *, lead: str = "") -> str:
    """What a delivery is keyed by, as the journal has always written it: `update:UID:2`,
    `reminder-1d:UID:0`. A kind sent once per reader is keyed at SEQUENCE 0, whatever moves."""
    row = KINDS[kind]
    return f"{row.journal.format(lead=lead)}:{uid}:{sequence if row.per_sequence else 0}"


def method_of(kind: Kind, *, rsvp: bool = False) -> Method:
    """The iTIP method a message of this kind carries: CANCEL, REQUEST when readers are asked
    to answer (`send --rsvp`), else PUBLISH."""
    method = KINDS[kind].method
    if method is not None:
        return method
    return "REQUEST" if rsvp else "PUBLISH"


def slug_of(kind: Kind, slug: str, *, lead: str = "") -> str:
    """A message's slug (its outbox folder): the event's, marked with the kind where it is not news."""
    return KINDS[kind].slug.format(slug=slug, lead=lead)


def kind_of_key(key: str) -> Kind | None:
    """The kind of a journal key (`update:UID:2` → UPDATE); None for a word of a later version."""
    try:
        return Kind(key.split(":", 1)[0].partition("-")[0])
    except ValueError:
        return None


def has_event(journal_kind: str) -> bool:
    """Whether a journal key's first part (`Entry.kind`: "update", "reminder-1d") is of a kind
    whose readers have the event; an unknown word (a journal of a later version) counts not."""
    kind = kind_of_key(journal_kind)
    return kind is not None and KINDS[kind].has_event
