"""Placeholders for what differs per recipient: templates render once, with `recipient` as
`RecipientSlots`, whose values are opaque placeholders that composing fills in per message
(`compose.personalise`). Each render draws a fresh random key that every placeholder carries, so
text from an input file can never pose as one. This module owns the placeholders' form: it
writes them and `split` reads them.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

_KINDS = "name|given_name|greeting|field|unsubscribe|time"
_SLOT = re.compile(rf"\[\[announcer-([0-9a-f]{{32}}):({_KINDS}):([0-9a-f]*):([0-9a-f]*)\]\]")


GREETING_FORMS = "\x1f"  # between a greeting slot's forms (a unit separator: no template writes one)


def new_slot_key() -> str:
    """A fresh key for one render's placeholders (never shown: every placeholder is filled)."""
    return secrets.token_hex(16)


def _slot(slot_key: str, kind: str, key: str = "", default: str = "") -> str:
    return f"[[announcer-{slot_key}:{kind}:{key.encode().hex()}:{default.encode().hex()}]]"


class RecipientFields:
    """`recipient.fields["team"]` in a template: any extra column of the recipients CSV."""

    TEMPLATE_NOUN = "recipient.fields"  # what an error calls it (`theme._noun`)

    def __init__(self, slot_key: str) -> None:
        self._slot_key = slot_key

    def __getitem__(self, key: str) -> str:
        return _slot(self._slot_key, "field", key)

    def get(self, key: str, default: str = "") -> str:
        return _slot(self._slot_key, "field", key, default)


class RecipientSlots:
    """Stands in for the recipient in templates; the values are filled in per message."""

    TEMPLATE_NOUN = "recipient"  # what an error calls it (`theme._noun`), not the class's name

    def __init__(self, slot_key: str, language: str) -> None:
        self._slot_key = slot_key
        self._language = language
        self.fields = RecipientFields(slot_key)
        self.name = _slot(slot_key, "name")
        self.given_name = _slot(slot_key, "given_name")
        self.unsubscribe_url = _slot(slot_key, "unsubscribe")

    def name_or(self, default: str) -> str:
        """The recipient's name, or `default` for a recipient without one ("colleague")."""
        return _slot(self._slot_key, "name", default=default)

    def greeting(self, by_given_name: str, by_name: str, nameless: str) -> str:
        """The salutation, one of three forms the language writes (each rendered here, the names in
        them slots too), or the reader's own `greeting` column; `reader.greeting_form` chooses."""
        forms = (form.replace(GREETING_FORMS, "") for form in (by_given_name, by_name, nameless))
        return _slot(self._slot_key, "greeting", GREETING_FORMS.join(forms))

    def time_of(self, moment: datetime, *shown: str, lead: str = " · ") -> str:
        """ " · 06:00 your time (EDT)" for a reader whose `timezone` column differs from every zone
        already `shown` (names like Europe/Stockholm); nothing for anyone else. `lead` comes before
        it (the plain text's is a line break and the indent of the line above)."""
        key = f"{moment.astimezone(UTC).isoformat()} {self._language} {lead}"
        return _slot(self._slot_key, "time", key, ",".join(shown))


@dataclass(frozen=True)
class Slot:
    """One placeholder: what kind of value, which one (a field's name, an instant), and a default."""

    kind: str
    key: str
    default: str


def split(content: str, slot_key: str) -> list[str | Slot]:
    """`content` as text and this render's slots, in order (text from elsewhere stays text)."""
    pieces: list[str | Slot] = []
    last = 0
    for match in _SLOT.finditer(content):
        if match.group(1) != slot_key:
            continue
        pieces.append(content[last : match.start()])
        key, default = (bytes.fromhex(match.group(group)).decode() for group in (3, 4))
        pieces.append(Slot(match.group(2), key, default))
        last = match.end()
    pieces.append(content[last:])
    return pieces
