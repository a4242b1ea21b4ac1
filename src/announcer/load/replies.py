"""iTIP replies read from what a mail client keeps: a Maildir, an mbox file, or `.eml` files.

Every message is a stranger's: one that cannot be read becomes a located problem, never a crash,
and a message that is not a calendar reply is passed over. What the sender writes is believed only
as far as it cannot mislead:

- Who answers: a reply speaks for one attendee, the one whose address is the message's one From
  address (RFC 5546 §3.2.3: a REPLY carries the replying attendee); other ATTENDEE lines are passed
  over. A message without exactly one From address that reads one way, or answering for an address
  that is not its From, is kept as not genuine, with why. SENT-BY does not vouch for a sender: it
  is the message's word about itself.
- When: DTSTAMP orders an attendee's answers, but never later than the message arrived: a later
  stamp is clamped to the arrival, so a stamp in 2099 outranks no later answer, and a sender's clock
  running ahead loses nothing. Arrival is the mailbox's word, never the sender's: a Maildir or .eml
  file's modification time, an mbox's From_ line (no later than the mbox file), and never after now.
  Without a DTSTAMP the Date header stands in, on the same terms; a Date that is no moment (year 0,
  month 13, an offset of a day) is as good as none.
- How much: the work per message is bounded whatever it holds: its bytes and lines, the MIME parts
  and calendars looked at, each calendar's bytes and content lines, the events read in it.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.errors import MessageError, ObsoleteHeaderDefect
from email.headerregistry import AddressHeader, HeaderRegistry
from email.message import Message
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

from icalendar import Calendar, Component

from announcer.errors import Problem
from announcer.inbox.reading import HeadersAsWritten, Refused, line_count
from announcer.inbox.sources import FileMailbox, Mailbox, Stored, note
from announcer.model.reply import Answer, Reply
from announcer.model.text import check_address, shown_safely

MAX_MESSAGE_BYTES = 5_000_000  # a reply is a few KB; one quoting an invitation with pictures fits
MAX_MESSAGE_LINES = 100_000  # the MIME parser's work grows with lines; 5 MB of base64 is 66,000
MAX_HEADER_CHARS = HeadersAsWritten.max_header_chars
MAX_PARTS = 200  # MIME parts looked at in one message
MAX_CALENDARS = 3  # calendar parts read in one message: Gmail sends the same one twice
MAX_CALENDAR_BYTES = 256_000  # five times the longest description an invitation of ours carries
MAX_CALENDAR_LINES = 2_000  # content lines, ~60 µs each to parse; a reply has a few dozen
MAX_EVENTS = 20  # VEVENTs read in one calendar: a reply answers one event (or a few of its dates)
CALENDAR_TYPES = ("text/calendar", "application/ics")
_NOTE_CHARS = 500
# The character sets (as Python names them) a calendar is read in. Not every codec a stranger may
# name: some are no text encoding, and punycode takes time that grows with the square of the text.
_CHARSETS = (
    "ascii",
    "utf-",
    "iso8859-",
    "cp",
    "mac-",
    "koi8-",
    "tis-",
    "shift_jis",
    "euc_",
    "iso2022_",
    "gb",
    "big5",
)
_CONTENT_LINE = re.compile(rb"(?:^|[\r\n])[^ \t\r\n]")  # a line, not one continuing the last
_ADDRESSES = HeaderRegistry()


_Refused = Refused  # a message or reply that cannot be taken one way or the other; its text says why
_PARSER = BytesParser(policy=HeadersAsWritten())


@dataclass(frozen=True)
class _Envelope:
    """What a message says about all the replies in it."""

    source: str
    sender: str  # the one From address, lowercase; "" when there is none to trust
    untrusted: str  # why there is none ("" when there is)
    dated: datetime | None  # its Date header, in UTC, if that is a moment
    arrived: datetime


def read_replies(mailbox: Path | Mailbox) -> Iterator[Reply | Problem]:
    """Every answer in the mailbox (a path: see `FileMailbox`), and a problem for each message or
    reply not read."""
    opened = FileMailbox(mailbox) if isinstance(mailbox, Path) else mailbox
    for stored in opened.messages(MAX_MESSAGE_BYTES):
        yield from replies_in(stored)


def replies_in(stored: Stored) -> Iterator[Reply | Problem]:
    """The answers in one message, and a problem for each reply in it not read (or for the
    message, if it is not read at all)."""
    if stored.size > MAX_MESSAGE_BYTES:
        yield _note(
            stored.source, f"skipped: over {MAX_MESSAGE_BYTES:,} bytes, too large for a calendar reply"
        )
        return
    if (lines := _line_count(stored.data)) > MAX_MESSAGE_LINES:
        yield _note(stored.source, f"skipped: {lines:,} lines is too many for a calendar reply")
        return
    try:
        message = _PARSER.parsebytes(stored.data)
        yield from _replies_in(message, stored)
    except _Refused as exc:
        yield _note(stored.source, f"skipped: {exc}")
    except RecursionError:
        yield _note(stored.source, "skipped: its parts are nested too deeply to read")
    except (
        ValueError,
        TypeError,
        IndexError,
        AttributeError,
        LookupError,
        OverflowError,
        MessageError,
    ) as exc:
        yield _note(stored.source, f"skipped: it cannot be read as an email ({type(exc).__name__})")


_note = note  # a problem with a message: the one way the loader makes one, so its text is fit to print


_line_count = line_count


def _replies_in(message: Message, stored: Stored) -> Iterator[Reply | Problem]:
    """The answers in one message's calendar parts; the same calendar inline and attached counts once."""
    sender, untrusted = _sender(message)
    envelope = _Envelope(stored.source, sender, untrusted, _dated(message), stored.arrived)
    seen: set[Reply | Problem] = set()
    calendars = 0
    for number, part in enumerate(message.walk()):
        if number >= MAX_PARTS:
            yield _note(stored.source, f"only its first {MAX_PARTS} parts were read")
            return
        if part.get_content_type() not in CALENDAR_TYPES:
            continue
        if calendars == MAX_CALENDARS:
            yield _note(stored.source, f"only its first {MAX_CALENDARS} calendars were read")
            return
        calendars += 1
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        for found in _replies_in_calendar(data, part, envelope):
            if found not in seen:
                seen.add(found)
                yield found


def _replies_in_calendar(data: bytes, part: Message, envelope: _Envelope) -> Iterator[Reply | Problem]:
    source = envelope.source
    if len(data) > MAX_CALENDAR_BYTES:
        yield _note(source, f"skipped a calendar of {len(data):,} bytes: too large for a reply")
        return
    if (lines := len(_CONTENT_LINE.findall(data))) > MAX_CALENDAR_LINES:
        yield _note(source, f"skipped a calendar of {lines:,} lines: a reply has a few dozen")
        return
    charset = part.get_content_charset() or "utf-8"
    if not _is_charset(charset):
        yield _note(source, f"skipped a calendar in a character set announcer does not read ({charset})")
        return
    try:
        text = data.decode(charset)
    except UnicodeDecodeError:
        yield _note(source, "skipped a calendar whose text is not in the character set it names")
        return
    try:
        calendar = Calendar.from_ical(text)
    except Exception as exc:  # any failure to parse a stranger's calendar is a note, not a crash
        yield _note(source, f"skipped a calendar that cannot be read ({type(exc).__name__})")
        return
    if str(calendar.get("METHOD", "")).upper() != "REPLY":
        return  # an invitation, a publication: not an answer
    # A reply's events sit directly in its calendar: nothing nested deeper is walked.
    events = [component for component in calendar.subcomponents if component.name == "VEVENT"]
    if len(events) > MAX_EVENTS:
        yield _note(source, f"only the first {MAX_EVENTS} of its {len(events):,} events were read")
    for event in events[:MAX_EVENTS]:
        try:
            yield from _answer(event, envelope)
        except _Refused as exc:
            yield _note(source, f"skipped a reply: {exc}")
        except (ValueError, TypeError, AttributeError, KeyError, OverflowError) as exc:
            yield _note(source, f"skipped a reply that cannot be read ({type(exc).__name__})")


def _is_charset(name: str) -> bool:
    """Whether `name` is a character set a calendar may be written in."""
    try:
        known = codecs.lookup(name).name
    except (LookupError, ValueError, TypeError):
        return False
    return known.startswith(_CHARSETS)


def _answer(event: Component, envelope: _Envelope) -> Iterator[Reply | Problem]:
    """The one answer in an event: its sender's own, or the one it gives for someone else."""
    uid = str(_one(event, "UID") or "").strip()
    if not uid:
        yield _note(envelope.source, "skipped a reply without a UID: it names no event")
        return
    attendees = event.get("ATTENDEE", [])
    claims = [
        attendee
        for attendee in (attendees if isinstance(attendees, list) else [attendees])
        if "PARTSTAT" in attendee.params
    ]
    if not claims:
        yield _note(envelope.source, "skipped a reply without an answer: no ATTENDEE has a PARTSTAT")
        return
    sender = envelope.sender
    own = [claim for claim in claims if sender and _canonical(str(claim)) == sender]
    if own:
        chosen = own[0]
        states = {_state(claim) for claim in own}
        if len(states) > 1:
            raise _Refused(f"it gives {sender} {len(states)} different answers")
        doubt = ""
    elif len(claims) == 1:
        chosen = claims[0]
        doubt = _why_not_theirs(chosen, envelope)
    else:
        why = f"none of them its sender {sender}" if sender else f"and {envelope.untrusted}"
        raise _Refused(f"it answers for {len(claims):,} attendees, {why}")
    state = _state(chosen)
    if state not in Answer.__members__:
        yield _note(envelope.source, f"skipped an answer announcer does not know: {state or 'none'}")
        return
    sequence = int(_one(event, "SEQUENCE") or 0)
    if not 0 <= sequence < 2**31:
        raise _Refused("its SEQUENCE is no version of an invitation")
    yield Reply(
        uid=uid,
        attendee=_canonical(str(chosen)) or _shown_address(str(chosen)),
        name=str(chosen.params.get("CN", "")),
        answer=Answer(state),
        stamp=min(_claimed_stamp(event) or envelope.dated or envelope.arrived, envelope.arrived),
        arrived=envelope.arrived,
        sequence=sequence,
        sender=sender,
        comment=_comment(event),
        source=envelope.source,
        doubt=doubt,
    )


def _why_not_theirs(claim: Any, envelope: _Envelope) -> str:
    """Why an answer for `claim` is not the attendee's own: what its message's From says."""
    attendee = _canonical(str(claim)) or _shown_address(str(claim))
    if not envelope.sender:
        return f"answers for {attendee} but {envelope.untrusted}"
    delegate = _canonical(str(claim.params.get("SENT-BY", "")))
    if delegate == envelope.sender:
        return (
            f"answers for {attendee} but was sent by {envelope.sender}, whom only the reply itself "
            "names as their delegate (SENT-BY)"
        )
    return f"answers for {attendee} but was sent by {envelope.sender}"


def _state(claim: Any) -> str:
    return shown_safely(str(claim.params.get("PARTSTAT", ""))).upper()


def _comment(event: Component) -> str:
    """What the attendee wrote (COMMENT may be given more than once)."""
    comments = event.get("COMMENT", [])
    return " ".join(str(comment) for comment in (comments if isinstance(comments, list) else [comments]))


def _one(event: Component, name: str) -> Any:
    """A property a reply gives once, or None; one given twice is believed neither way."""
    value = event.get(name)
    if isinstance(value, list):
        raise _Refused(f"it gives {name} {len(value)} times")
    return value


def _claimed_stamp(event: Component) -> datetime | None:
    """DTSTAMP in UTC, as the sender claims it; None when it is not a moment in time."""
    moment = getattr(_one(event, "DTSTAMP"), "dt", None)
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        return None
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def _canonical(value: str) -> str | None:
    """An address as compared: `mailto:` dropped, checked as a recipient's is, lowercase; None if
    it is not one."""
    value = value.strip()
    if value[:7].lower() == "mailto:":
        value = value[7:]
    if len(value) > 254:
        return None
    try:
        return check_address(value).lower()
    except ValueError:
        return None


def _shown_address(value: str) -> str:
    """An attendee's address that is not one, as a note shows it."""
    value = value.strip()
    return value[7:] if value[:7].lower() == "mailto:" else value


def _sender(message: Message) -> tuple[str, str]:
    """The one From address, lowercase, and ""; or "" and why there is none to trust.

    The first of several From headers or addresses is not trusted (a mail program may show
    another), nor a From its parser had to guess at (`a@b.org <c@d.org>`)."""
    values = message.get_all("From") or []
    if not values:
        return "", "has no From address"
    if len(values) > 1:
        return "", f"has {len(values)} From headers (a message comes from one)"
    try:
        header = _ADDRESSES("From", str(values[0]))
        addresses = header.addresses if isinstance(header, AddressHeader) else ()
    except (ValueError, TypeError, IndexError, AttributeError, MessageError):
        return "", "its From header cannot be read"
    if len(addresses) != 1:
        return "", f"its From names {len(addresses)} addresses (a message comes from one)"
    if any(not isinstance(defect, ObsoleteHeaderDefect) for defect in header.defects):
        return "", "its From header is malformed: mail programs may read a different sender from it"
    address = _canonical(addresses[0].addr_spec)
    if address is None:
        return "", "its From is not an email address"
    return address, ""


def _dated(message: Message) -> datetime | None:
    """The Date header in UTC; None when it is absent, repeated, or not a moment (year 0, month 13,
    an offset of a day or more, a year past what a date can hold)."""
    values = message.get_all("Date") or []
    if len(values) != 1:
        return None
    value = str(values[0])
    try:
        local = parsedate_to_datetime(value)
        moment = local.astimezone(UTC) if local.tzinfo else local.replace(tzinfo=UTC)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None
    # The parser reads a year of two digits as 19xx or 20xx (RFC 5322's obsolete form), and so
    # "0000" as 2000: a year written in full must be the year read.
    written = _FULL_YEAR.search(value)
    return None if written is not None and int(written[1]) != local.year else moment


_FULL_YEAR = re.compile(r"(?<![\d+-])(\d{4,})(?![\d:])")
