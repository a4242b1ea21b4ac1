"""An `.eml` to what an import reads: its text part (or its HTML's text) and its calendar."""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesParser

from announcer.load.replies import CALENDAR_TYPES, MAX_MESSAGE_BYTES, MAX_MESSAGE_LINES, MAX_PARTS

MAX_TEXT_BYTES = 1_000_000  # of one decoded text part: an announcement is a few KB


class MailUnreadable(ValueError):
    """Raised when a message is too large, too deeply nested, or has nothing to read."""


@dataclass
class MailParts:
    """What a message gives an import."""

    subject: str
    text: str | None
    html: str | None
    calendar: bytes | None


def read_mail(data: bytes) -> MailParts:
    """The first plain-text part, the first HTML part and the first calendar of a message."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise MailUnreadable(f"is over {MAX_MESSAGE_BYTES:,} bytes: too large for an announcement")
    if data.count(b"\n") > MAX_MESSAGE_LINES:
        raise MailUnreadable(f"has over {MAX_MESSAGE_LINES:,} lines: too many for an announcement")
    try:
        message = BytesParser(policy=policy.default).parsebytes(data)
        return _parts(message)
    except RecursionError:
        raise MailUnreadable("its parts are nested too deeply to read") from None
    except (ValueError, TypeError, IndexError, LookupError, AttributeError) as exc:
        raise MailUnreadable(f"cannot be read as an email ({type(exc).__name__})") from None


def _parts(message: Message) -> MailParts:
    found = MailParts(_subject(message), None, None, None)
    for number, part in enumerate(message.walk()):
        if number >= MAX_PARTS:
            break
        kind = part.get_content_type()
        if part.is_multipart():
            continue
        if kind in CALENDAR_TYPES or (part.get_filename() or "").lower().endswith(".ics"):
            if found.calendar is None:
                payload = part.get_payload(decode=True)
                found.calendar = payload if isinstance(payload, bytes) else None
        elif kind == "text/plain" and found.text is None and not _attached(part):
            found.text = _decoded(part)
        elif kind == "text/html" and found.html is None and not _attached(part):
            found.html = _decoded(part)
    if found.text is None and found.html is None and found.calendar is None:
        raise MailUnreadable("has no text, HTML or calendar part to read")
    return found


def _attached(part: Message) -> bool:
    return (part.get_content_disposition() or "") == "attachment"


def _subject(message: Message) -> str:
    try:
        return " ".join(str(message.get("Subject", "")).split())[:500]
    except (ValueError, TypeError, IndexError):
        return ""


def _decoded(part: Message) -> str | None:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return None
    payload = payload[:MAX_TEXT_BYTES]
    charset = part.get_content_charset() or "utf-8"
    try:
        known = codecs.lookup(charset).name
    except (LookupError, ValueError, TypeError):  # a character set Python does not know
        known = "utf-8"
    # Text encodings only: some codecs are no text encoding, and punycode takes quadratic time.
    return payload.decode(known if known.startswith(_TEXT_CODECS) else "utf-8", errors="replace")


_TEXT_CODECS = (
    "utf-8",
    "utf-16",
    "iso8859",
    "latin",
    "cp",
    "windows",
    "ascii",
    "mac",
    "koi8",
    "gb",
    "big5",
    "shift_jis",
    "euc",
    "iso2022",
)
