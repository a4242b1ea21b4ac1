"""A recipient: one person (or one list address) a message goes to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Recipient:
    """One person (or one list address) a message goes to, with any extra CSV columns.

    `language` (a tag checked where the list is read) and `timezone` are the reader's own
    settings, typed; `given_name` and `greeting` how they are greeted (`reader.greeting_form`);
    `fields` keeps every extra column as written, for templates.
    """

    email: str
    name: str | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    language: str | None = None
    timezone: ZoneInfo | None = None
    given_name: str | None = None
    greeting: str | None = None
