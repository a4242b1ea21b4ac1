"""What differs per recipient: placeholders that templates render once, filled for each message.

Templates see `recipient` as `RecipientSlots`, whose values are opaque placeholders; composing
replaces them with one recipient's values (escaped for HTML). This module owns both halves,
and the per-recipient unsubscribe URL. Each render draws a fresh random key that every
placeholder carries, so text from an input file can never pose as one.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import re
import secrets
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from datetime import UTC, datetime

from announcer.model.recipient import Recipient
from announcer.reader import reader_zone
from announcer.render.wording import reader_clock

_SLOT = re.compile(r"\[\[announcer-([0-9a-f]{32}):(name|field|unsubscribe|time):([0-9a-f]*):([0-9a-f]*)\]\]")


def new_slot_key() -> str:
    """A fresh key for one render's placeholders (never shown: every placeholder is filled)."""
    return secrets.token_hex(16)


def _slot(slot_key: str, kind: str, key: str = "", default: str = "") -> str:
    return f"[[announcer-{slot_key}:{kind}:{key.encode().hex()}:{default.encode().hex()}]]"


class RecipientFields:
    """`recipient.fields["team"]` in a template: any extra column of the recipients CSV."""

    def __init__(self, slot_key: str) -> None:
        self._slot_key = slot_key

    def __getitem__(self, key: str) -> str:
        return _slot(self._slot_key, "field", key)

    def get(self, key: str, default: str = "") -> str:
        return _slot(self._slot_key, "field", key, default)


class RecipientSlots:
    """Stands in for the recipient in templates; the values are filled in per message."""

    def __init__(self, slot_key: str, language: str) -> None:
        self._slot_key = slot_key
        self._language = language
        self.fields = RecipientFields(slot_key)
        self.name = _slot(slot_key, "name")
        self.unsubscribe_url = _slot(slot_key, "unsubscribe")

    def name_or(self, default: str) -> str:
        """The recipient's name, or `default` for a recipient without one ("colleague")."""
        return _slot(self._slot_key, "name", default=default)

    def time_of(self, moment: datetime, *shown: str) -> str:
        """ " · 06:00 your time (EDT)" for a reader whose `timezone` column differs from every zone
        already `shown` (names like Europe/Stockholm); nothing for anyone else."""
        key = f"{moment.astimezone(UTC).isoformat()} {self._language}"
        return _slot(self._slot_key, "time", key, ",".join(shown))


def unsubscribe_token(address: str, secret: str) -> str:
    """An opaque per-address token: an HMAC under a secret, so no address appears in a URL."""
    digest = hmac.new(secret.encode(), address.lower().encode(), hashlib.sha256).digest()
    return urlsafe_b64encode(digest[:18]).decode()


class Personaliser:
    """Fills one recipient's values into content that was rendered once for everyone."""

    def __init__(self, unsubscribe_url: str | None, secret: str | None) -> None:
        self._unsubscribe_url = unsubscribe_url
        self._secret = secret

    def unsubscribe_url(self, recipient: Recipient | None) -> str:
        """This recipient's unsubscribe URL ("" without a list); `{token}` as written for nobody."""
        url = self._unsubscribe_url or ""
        if recipient is None or "{token}" not in url:
            return url
        if not self._secret:  # every verb that writes to someone reads the secret first
            raise ValueError("an unsubscribe URL with {token} needs a secret")
        return url.replace("{token}", unsubscribe_token(recipient.email, self._secret))

    def fill(self, content: str, slot_key: str, recipient: Recipient | None, *, as_html: bool) -> str:
        """`content` with every slot of this render replaced by the recipient's value (escaped for HTML)."""
        return "".join(
            piece if isinstance(piece, str) else self.value(piece, recipient, as_html=as_html)
            for piece in split(content, slot_key)
        )

    def value(self, slot: Slot, recipient: Recipient | None, *, as_html: bool) -> str:
        """What one slot holds for this recipient (escaped for HTML)."""
        if slot.kind == "unsubscribe":
            text = self.unsubscribe_url(recipient)
        elif slot.kind == "time":
            zone = reader_zone(recipient)
            instant, language = slot.key.split(" ")
            shown = slot.default.split(",")
            text = reader_clock(datetime.fromisoformat(instant), zone, shown, language) if zone else ""
        elif slot.kind == "name":
            text = (recipient.name if recipient else None) or slot.default
        else:
            text = (recipient.fields.get(slot.key) if recipient else None) or slot.default
        return html.escape(text, quote=True) if as_html else text


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
