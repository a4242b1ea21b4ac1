"""How a message names the reader it is about, in the ways only this workspace can forge: our
VERP address (`bounces+TOKEN@…`) and the unsubscribe token of our List-Unsubscribe; and an
address as the message writes it, taken only with the Message-ID of a message the delivery
ledger sent to that address (anyone can write an address; only the reader's servers have our
Message-ID of their copy)."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from announcer.audience.tokens import verp_token_of

# The headers a delivering server writes with the envelope recipient (Postfix, Dovecot, Exim,
# qmail), then To, which a DSN addresses to the envelope sender it answers.
ENVELOPE_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
_OPAQUE = r"([A-Za-z0-9_-]{24})"  # `audience.tokens.unsubscribe_token`: 18 bytes, URL-safe base64
_MESSAGE_ID = re.compile(r"(?im)^message-id:[ \t]*(<[^<>\s]{1,250}>)")
_MAILTO_TOKEN = re.compile(r"unsubscribe(?:%20|\+|\s)+" + _OPAQUE + r"(?![A-Za-z0-9_-])", re.IGNORECASE)
MAX_ADDRESSES = 20  # read of one header: a message to a few, never a list of thousands


@dataclass(frozen=True)
class Naming:
    """What this workspace knows that a message is read against."""

    bounce_address: str | None  # `[list] bounce_address`: VERP addresses are its forms
    unsubscribe_url: str | None  # `[list] unsubscribe_url`, `{token}` and all
    address_of: Callable[[str], str | None]  # the audience ledger's: a token to its reader
    sent_to: Callable[[], Mapping[str, Collection[str]]]  # the ledger's: address → our Message-IDs

    def verp_reader(self, values: Iterable[str]) -> tuple[str | None, str | None]:
        """(the reader, the token) of the first of `values` that is our VERP address; the reader
        is None when no send of this workspace wrote that token; (None, None) without one."""
        if not self.bounce_address:
            return None, None
        for address in addresses_in(values):
            token = verp_token_of(self.bounce_address, address)
            if token is not None:
                return self.address_of(token), token
        return None, None

    def unsubscribe_reader(self, text: str) -> tuple[str | None, str | None]:
        """(the reader, the token) of the first unsubscribe token in `text` (a List-Unsubscribe
        header, a subject, a body): in our URL's place of `{token}`, or after "unsubscribe"
        as our mailto's subject writes it."""
        for token in self.tokens_in(text):
            return self.address_of(token), token
        return None, None

    def tokens_in(self, text: str) -> list[str]:
        found = [match[1] for match in _MAILTO_TOKEN.finditer(text[:20_000])]
        url = self.unsubscribe_url
        if url and "{token}" in url:
            before, _, after = url.partition("{token}")
            pattern = re.escape(before) + _OPAQUE + (re.escape(after[:1]) if after else r"(?![A-Za-z0-9_-])")
            found[:0] = [match[1] for match in re.finditer(pattern, text[:20_000])]
        return list(dict.fromkeys(found))[:5]

    def known_reader(self, values: Iterable[str], quoted: Collection[str]) -> str | None:
        """The first address in `values` that the delivery ledger sent one of the `quoted`
        messages to (lower case); None when the report quotes none of ours to it."""
        sent = self.sent_to()
        for address in addresses_in(values):
            if not set(sent.get(address, ())).isdisjoint(quoted):
                return address
        return None


def quoted_message_ids(parts: Iterable[Message], limit: int = 100_000) -> set[str]:
    """The Message-IDs of the original a report returns: the header of each message/rfc822 part,
    and each `Message-ID:` line of its text parts (text/rfc822-headers, a server's own form)."""
    found: set[str] = set()
    for part in parts:
        kind = part.get_content_type()
        payload = part.get_payload()
        if kind == "message/rfc822" and isinstance(payload, list) and payload:
            if isinstance(payload[0], Message):
                found.update(message_ids_of(payload[0]))
        elif part.get_content_maintype() == "text":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                found.update(_MESSAGE_ID.findall(data[:limit].decode("ascii", "replace")))
    return found


def message_ids_of(message: Message) -> set[str]:
    """The Message-IDs a message's own header gives, as written (`<…@…>`)."""
    values = (str(value).strip() for value in message.get_all("Message-ID") or [])
    return {value for value in values if _MESSAGE_ID.match(f"Message-ID: {value}")}


def addresses_in(values: Iterable[str]) -> list[str]:
    """The addresses in header values (`Name <a@b>`, `rfc822; a@b`, `<a@b>`), lower case."""
    found: list[str] = []
    for value in values:
        text = str(value)[:2_000]
        if ";" in text and text.split(";", 1)[0].strip().lower() in ("rfc822", "rfc-822"):
            text = text.split(";", 1)[1]  # a DSN's address type (RFC 3464 §2.3.2)
        for _name, address in getaddresses([text])[:MAX_ADDRESSES]:
            address = address.strip().strip("<>").lower()
            if "@" in address and len(address) <= 320:
                found.append(address)
    return found


def header_values(message: Message, *names: str) -> list[str]:
    """Every value of these headers, in the order named."""
    return [str(value) for name in names for value in (message.get_all(name) or [])]
