"""iTIP replies read from what a mail client keeps: a Maildir, an mbox file, or `.eml` files.

Every message is a stranger's: one that cannot be read becomes a located problem, never a crash,
and a message that is not a calendar reply is passed over.
"""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path

from icalendar import Calendar, Component

from announcer.errors import MailboxError, Problem
from announcer.load.files import display_path
from announcer.model.reply import Answer, Reply
from announcer.model.text import shown_safely

MAX_MESSAGE_BYTES = 25_000_000  # what mail servers accept: a reply is a few KB
MAX_CALENDAR_BYTES = 1_000_000  # a reply's calendar holds one event
MAX_PARTS = 200  # MIME parts looked at in one message
CALENDAR_TYPES = ("text/calendar", "application/ics")
_PARSER = BytesParser(policy=policy.default)


def read_replies(path: Path) -> Iterator[Reply | Problem]:
    """Every attendee's answer in the mailbox at `path`, and a problem for each unreadable one."""
    for source, data in _messages(path):
        if len(data) > MAX_MESSAGE_BYTES:
            yield Problem(source, f"skipped: {len(data):,} bytes is too large for a calendar reply")
            continue
        try:
            message = _PARSER.parsebytes(data)
            yield from _replies_in(message, source)
        except RecursionError:
            yield Problem(source, "skipped: its parts are nested too deeply to read")
        except (ValueError, TypeError, IndexError, AttributeError, LookupError) as exc:
            yield Problem(source, f"skipped: it cannot be read as an email ({type(exc).__name__})")


def _messages(path: Path) -> Iterator[tuple[str, bytes]]:
    """(where, raw bytes) of each message: Maildir (cur/ and new/), a folder of .eml, mbox, or one .eml."""
    shown = display_path(path)
    if path.is_dir():
        folders = [path / "cur", path / "new"]
        if not any(folder.is_dir() for folder in folders):  # not a Maildir: a folder of saved messages
            folders = [path]
        for folder in folders:
            if not folder.is_dir():
                continue
            pattern = "*" if folder.name in ("cur", "new") else "*.eml"
            for file in sorted(folder.glob(pattern)):
                if file.is_file() and not file.name.startswith("."):
                    yield display_path(file), _read(file)
        return
    if not path.is_file():
        message = "no such mailbox: give a Maildir folder, an mbox file or .eml files"
        raise MailboxError([Problem(shown, message)])
    with path.open("rb") as opened:
        starts_as_mbox = opened.read(5) == b"From "
    if not starts_as_mbox:
        yield shown, _read(path)
        return
    box = mailbox.mbox(path, create=False)
    try:
        for number, key in enumerate(box.iterkeys(), start=1):
            yield f"{shown}, message {number}", box.get_bytes(key)
    finally:
        box.close()


def _read(file: Path) -> bytes:
    try:
        with file.open("rb") as opened:
            return opened.read(MAX_MESSAGE_BYTES + 1)
    except OSError as exc:
        raise MailboxError([Problem(display_path(file), f"cannot be read: {exc.strerror}")]) from None


def _replies_in(message: EmailMessage, source: str) -> Iterator[Reply | Problem]:
    """The answers in one message's calendar parts; the same calendar inline and attached counts once."""
    sender = _sender(message)
    fallback_stamp = _date(message)
    seen: set[Reply | Problem] = set()
    for number, part in enumerate(message.walk()):
        if number >= MAX_PARTS:
            yield Problem(source, f"only its first {MAX_PARTS} parts were read")
            return
        if part.get_content_type() not in CALENDAR_TYPES:
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        for found in _replies_in_calendar(data, part, sender, fallback_stamp, source):
            if found not in seen:
                seen.add(found)
                yield found


def _replies_in_calendar(
    data: bytes, part: Message, sender: str, fallback_stamp: datetime, source: str
) -> Iterator[Reply | Problem]:
    if len(data) > MAX_CALENDAR_BYTES:
        yield Problem(source, f"skipped a calendar of {len(data):,} bytes: too large for a reply")
        return
    try:
        text = data.decode(part.get_content_charset() or "utf-8")
    except (LookupError, UnicodeDecodeError):
        yield Problem(source, "skipped a calendar whose text is not in the character set it names")
        return
    try:
        calendar = Calendar.from_ical(text)
    except Exception as exc:  # any failure to parse a stranger's calendar is a note, not a crash
        yield Problem(source, f"skipped a calendar that cannot be read ({type(exc).__name__})")
        return
    if str(calendar.get("METHOD", "")).upper() != "REPLY":
        return  # an invitation, a publication: not an answer
    for event in calendar.walk("VEVENT"):
        try:
            yield from _answers(event, sender, fallback_stamp, source)
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            yield Problem(source, f"skipped a reply that cannot be read ({type(exc).__name__})")


def _answers(
    event: Component, sender: str, fallback_stamp: datetime, source: str
) -> Iterator[Reply | Problem]:
    uid = str(event.get("UID", "")).strip()
    if not uid:
        yield Problem(source, "skipped a reply without a UID: it names no event")
        return
    stamp = event.get("DTSTAMP")
    moment = getattr(stamp, "dt", None)
    when = moment.astimezone(UTC) if isinstance(moment, datetime) and moment.tzinfo else fallback_stamp
    sequence = int(event.get("SEQUENCE", 0))
    attendees = event.get("ATTENDEE", [])
    for attendee in attendees if isinstance(attendees, list) else [attendees]:
        state = str(attendee.params.get("PARTSTAT", "")).upper()
        if state not in Answer.__members__:
            unknown = shown_safely(state) or "none"
            yield Problem(source, f"skipped an answer announcer does not know: {unknown}")
            continue
        address = _address(str(attendee))
        name = shown_safely(str(attendee.params.get("CN", "")))
        yield Reply(
            uid=uid,
            attendee=address,
            name=name,
            answer=Answer(state),
            stamp=when,
            sequence=sequence,
            sender=sender,
            sent_by=_address(str(attendee.params.get("SENT-BY", ""))),
            comment=shown_safely(str(event.get("COMMENT", "")), limit=300),
            source=source,
        )


def _address(value: str) -> str:
    """The address of a calendar user: `mailto:` dropped, lowercase."""
    value = value.strip()
    if value.lower().startswith("mailto:"):
        value = value[len("mailto:") :]
    return shown_safely(value).lower()


def _sender(message: EmailMessage) -> str:
    """The From address, lowercase; "" when there is not exactly one."""
    try:
        found = getaddresses([str(value) for value in message.get_all("From", [])])
    except (ValueError, TypeError, IndexError):
        return ""
    addresses = [address for _name, address in found if address]
    return addresses[0].lower() if len(addresses) == 1 else ""


def _date(message: EmailMessage) -> datetime:
    """The Date header in UTC, or the earliest moment (for a reply without DTSTAMP)."""
    try:
        moment = parsedate_to_datetime(str(message.get("Date", "")))
    except (ValueError, TypeError, IndexError):
        return datetime.min.replace(tzinfo=UTC)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
