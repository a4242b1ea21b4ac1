"""A stranger's message read within bounds: its bytes, lines, headers, MIME depth and parts.

Every message in a mailbox may be hostile (a 50 MB message, a million parts, parts nested a
thousand deep, headers that take the parser time that grows faster than their length, broken
encodings): each bound is checked before the work it bounds, and a message past one is refused
with why, never a traceback.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import suppress
from email.errors import MessageError
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesParser
from email.policy import Compat32

from announcer.inbox.sources import Stored
from announcer.model.text import shown_safely

MAX_MESSAGE_BYTES = 5_000_000  # a bounce quoting one of our messages whole takes 200 KB
MAX_LINES = 100_000  # the MIME parser's work grows with lines; 5 MB of base64 is 66,000
MAX_HEADER_CHARS = 8_000  # of a header read: a long Authentication-Results has 2,000
MAX_DEPTH = 8  # MIME nesting: a bounce of a report of our message is 4 deep
MAX_PARTS = 200  # MIME parts in one message: ours has 5, a DSN quoting it 9


class Refused(Exception):
    """A message (or a part of it) that cannot be taken one way or the other; its text says why."""


class HeadersAsWritten(Compat32):
    """compat32, with a header fetched as its text, unfolded, 8-bit bytes read as UTF-8 (RFC 6532).

    Nothing is decoded or parsed that is not asked for, and none of what is is longer than a
    header ever needs to be: parsing some of them takes time that grows faster than their length."""

    max_header_chars = 2_000  # `rsvps`' own: From with a long name has 300

    def header_fetch_parse(self, name: str, value: str) -> str:
        if len(value) > self.max_header_chars:
            raise Refused(f"its {name} header is over {self.max_header_chars:,} characters long")
        raw = value.encode("utf-8", "surrogateescape")  # the parser kept 8-bit bytes as surrogates
        return re.sub(r"[\r\n]", "", raw.decode("utf-8", "replace"))


class _InboxHeaders(HeadersAsWritten):
    max_header_chars = MAX_HEADER_CHARS


_PARSER = BytesParser(policy=_InboxHeaders())


def line_count(data: bytes) -> int:
    """Line breaks as the MIME parser counts them (CRLF, CR or LF)."""
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


def headers_of(stored: Stored) -> Message:
    """The message's headers alone (cheap: the body is not parsed), read within the same bounds."""
    end = stored.data.find(b"\n\n")
    end2 = stored.data.find(b"\r\n\r\n")
    ends = [found for found in (end, end2) if found >= 0]
    head = stored.data[: min(ends) + 2] if ends else stored.data
    try:
        return _PARSER.parsebytes(head, headersonly=True)
    except (RecursionError, ValueError, TypeError, IndexError, LookupError, MessageError) as exc:
        raise Refused(f"its headers cannot be read ({type(exc).__name__})") from None


def parsed(stored: Stored) -> Message:
    """The whole message, if it is within every bound; else `Refused`, saying which."""
    if stored.size > MAX_MESSAGE_BYTES:
        raise Refused(f"{stored.size:,} bytes, over the {MAX_MESSAGE_BYTES:,} a message may have to be read")
    if (lines := line_count(stored.data)) > MAX_LINES:
        raise Refused(f"{lines:,} lines, over the {MAX_LINES:,} a message may have to be read")
    try:
        message = _PARSER.parsebytes(stored.data)
        for _part in parts(message):
            pass
    except RecursionError:
        raise Refused(f"its parts are nested more than {MAX_DEPTH} deep") from None
    except (ValueError, TypeError, IndexError, AttributeError, LookupError, MessageError) as exc:
        raise Refused(f"it cannot be read as an email ({type(exc).__name__})") from None
    return message


def parts(message: Message) -> Iterator[Message]:
    """Every part, depth first, without recursion; past MAX_DEPTH or MAX_PARTS, `Refused`."""
    stack = [(message, 0)]
    count = 0
    while stack:
        part, depth = stack.pop()
        count += 1
        if count > MAX_PARTS:
            raise Refused(f"it has more than {MAX_PARTS} parts")
        if depth > MAX_DEPTH:
            raise Refused(f"its parts are nested more than {MAX_DEPTH} deep")
        yield part
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend((child, depth + 1) for child in reversed(payload) if isinstance(child, Message))


def text_of(value: object, limit: int = 300) -> str:
    """A header's text as a reader sees it (RFC 2047 encoded words decoded, as far as they can
    be), fit to print on one line."""
    text = str(value or "")
    if "=?" in text:
        with suppress(ValueError, LookupError, UnicodeError, MessageError):  # broken: shown as written
            text = str(make_header(decode_header(text)))
    return shown_safely(text, limit)


def body_text(part: Message, limit: int) -> str:
    """The first `limit` characters of a text part, decoded (broken bytes as U+FFFD)."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return data[: limit * 4].decode(charset, "replace")[:limit]
    except (LookupError, ValueError):
        return data[: limit * 4].decode("utf-8", "replace")[:limit]


def message_key(headers: Message | None, stored: Stored) -> str:
    """What `inbox` remembers a message by: its Message-ID, or a digest of its bytes when it has
    none (or several, or one no mail program writes)."""
    values = (headers.get_all("Message-ID") if headers is not None else None) or []
    if len(values) == 1:
        value = str(values[0]).strip()
        if 3 <= len(value) <= 300 and value.isascii() and value.isprintable():
            return f"message-id:{value}"
    return f"sha256:{hashlib.sha256(stored.data).hexdigest()}:{stored.size}"
