"""What a reader sees of their own settings: the language and the time zone their message uses.

One home for the rule, so that send, preview, digest and reminders agree: a reader's own
`language` column wins over the event's (or the workspace's); a reader's `timezone` column adds
their own clock to the times shown.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

from announcer.model.recipient import Recipient


def reader_language(reader: Recipient | None, fallback: str) -> str:
    """The language a reader's message is written in: theirs, else `fallback` (the event's, or
    the workspace's for a digest)."""
    return (reader.language if reader else None) or fallback


def reader_zone(reader: Recipient | None) -> ZoneInfo | None:
    """The zone of the reader's own clock, shown beside the event's when the two differ (None:
    only the zones the message names)."""
    return reader.timezone if reader else None
