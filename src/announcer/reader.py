"""What a reader sees of their own settings: the language and the time zone their message uses.

One home for the rule, so that send, preview, digest and reminders agree: a reader's own
`language` column wins over the event's (or the workspace's); a reader's `timezone` column adds
their own clock to the times shown; a reader's `greeting` or `given_name` column says how they
are greeted.
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


def greeting_form(
    reader: Recipient | None, by_given_name: str, by_name: str, nameless: str
) -> tuple[str, bool]:
    """How a message greets its reader, and whether those are the reader's own words (as the
    list wrote them, to be escaped) rather than one of the language's forms (already written out
    by the template): their `greeting` column, else the form with their given name, else the one
    with their whole name, else the one without a name.

    The forms are the catalog's (`Dear %(given_name)s,` and its kin), so each language says how
    it greets a colleague: Swedish "Hej Åsa," but never "Hej Åsa Lindqvist," (its whole-name
    form is "Hej,"); German "Guten Tag Anna Schmidt,", the form that goes with the emails' Sie.
    """
    if reader is not None and reader.greeting:
        return reader.greeting, True
    if reader is not None and reader.given_name:
        return by_given_name, False
    return (by_name if reader is not None and reader.name else nameless), False
