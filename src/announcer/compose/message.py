"""Rendered content to one message per recipient, as the bytes that go on the wire.

Everything that is the same for every recipient (the headers that do not name them, the text and
HTML bodies between their placeholders, the calendars) is encoded once per event; per recipient
only the headers that name them and the few personalised bytes are encoded, and the message is
joined from the pieces. The result reads back, part by part, as the stdlib's own `EmailMessage`
would (tests compare the two).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from email import message_from_bytes, policy, quoprimime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from announcer import clock
from announcer.model.recipient import Recipient
from announcer.model.settings import Settings
from announcer.personalisation import Personaliser, split
from announcer.render.calendar import with_attendee
from announcer.render.content import CalendarFile, RenderedContent

# CRLF, RFC 2045's 76-character encoded lines, and raw headers (List-Unsubscribe) left as folded.
WIRE = policy.SMTP.clone(max_line_length=76, refold_source="none")
CRLF = b"\r\n"
# A display name written as it is: letters, digits, spaces and RFC 5322's atext punctuation.
_PLAIN_NAME = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 !#$%&'*+-/=?^_`{|}~")


@dataclass(frozen=True)
class Outgoing:
    """One recipient's message: where it goes (the envelope), its Message-ID, its bytes."""

    to: str
    message_id: str
    data: bytes

    @property
    def message(self) -> EmailMessage:
        """The message parsed back (for the preview and tests)."""
        return message_from_bytes(self.data, policy=policy.default)


def encoded_subject(subject: str) -> str | None:
    """A non-ASCII Subject as it goes on the wire, reading back exactly as written; None for ASCII.

    The stdlib's folding splits non-ASCII text into encoded words with the spaces between
    them, and readers drop white space between encoded words: "Søndergaard, Tomás" came back
    as "Søndergaard,Tomás". Here every character, spaces included, sits inside encoded words.
    """
    if subject.isascii():
        return None  # folded by the stdlib, which does that right for plain text
    return Header(subject, "utf-8", header_name="Subject").encode(linesep="\r\n", maxlinelen=76)


def _quoted_printable(text: str) -> bytes:
    """`text` quoted-printable, ending on a line boundary (a soft line break if it ends mid-line),
    so that pieces encoded apart join into one body that decodes to the pieces joined.

    A dot that starts a line is written `=2E`: no line of a message starts with a dot, so SMTP
    has nothing to double (RFC 5321 §4.5.2) and no server can take the line for the end of DATA.
    """
    if not text:
        return b""
    latin = text.encode().decode("latin-1")
    encoded = quoprimime.body_encode(latin, maxlinelen=75, eol="\r\n")
    if "\n." in "\n" + encoded:  # rare: 73 wide, so that a line with "=2E" keeps within 76
        encoded = quoprimime.body_encode(latin, maxlinelen=73, eol="\r\n")
        encoded = ("\n" + encoded).replace("\n.", "\n=2E")[1:]
    return (encoded if encoded.endswith("\r\n") else encoded + "=\r\n").encode("ascii")


def _base64(data: bytes) -> bytes:
    return base64.encodebytes(data).replace(b"\n", CRLF)


class _Body:
    """A text or HTML body encoded once: quoted-printable pieces with the recipient's values between."""

    def __init__(self, text: str, slot_key: str, personaliser: Personaliser, *, as_html: bool) -> None:
        if not text.endswith("\n"):
            text += "\n"  # as the stdlib writes a body: ending with a line break
        self.pieces = [
            _quoted_printable(piece) if isinstance(piece, str) else piece for piece in split(text, slot_key)
        ]
        self.personaliser = personaliser
        self.as_html = as_html

    def encoded(self, recipient: Recipient) -> bytes:
        value = self.personaliser.value
        return b"".join(
            piece
            if isinstance(piece, bytes)
            else _quoted_printable(value(piece, recipient, as_html=self.as_html))
            for piece in self.pieces
        )


class _Calendar:
    """A calendar part: its headers and, unless it names each reader as attendee, its body, once."""

    def __init__(self, calendar: CalendarFile, *, attached: bool) -> None:
        part = EmailMessage(policy=WIRE)
        part.set_content(
            calendar.data.decode(),
            subtype="calendar",
            cte="base64",
            params={"method": calendar.method, **({"name": calendar.filename} if attached else {})},
            disposition="attachment" if attached else None,
            filename=calendar.filename if attached else None,
        )
        del part["MIME-Version"]
        headers, _, _ = part.as_bytes(policy=WIRE).partition(CRLF + CRLF)
        self.calendar = calendar
        self.headers = headers + CRLF + CRLF
        self.whole = None if calendar.attendee else self.headers + _base64(_crlf_ended(calendar.data))

    def part(self, name: str | None, email: str) -> bytes:
        if self.whole is not None:
            return self.whole
        data = with_attendee(self.calendar.data, name, email, method=self.calendar.method)
        return self.headers + _base64(_crlf_ended(data))


def _crlf_ended(data: bytes) -> bytes:
    return data if data.endswith(CRLF) else data + CRLF


def _header_block(message: EmailMessage) -> bytes:
    """The headers of `message`, serialised (and folded) by the stdlib, without the blank line."""
    return message.as_bytes(policy=WIRE).partition(CRLF + CRLF)[0] + CRLF


def _to_header(name: str, email: str) -> bytes:
    """The To header naming one recipient; names that need it are quoted or encoded (RFC 2047)."""
    if not name:
        line = f"To: {email}"
    elif name.isascii():
        plain = set(name) <= _PLAIN_NAME and name == name.strip() and "  " not in name
        shown = name if plain else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        line = f"To: {shown} <{email}>"
    else:
        words = "\r\n ".join(_encoded_words(name))
        last = len(words) - words.rfind("\n")  # the length of its last line, with "To: " or " "
        line = f"To: {words}{' ' if last + len(email) < 76 else chr(13) + chr(10) + ' '}<{email}>"
    if len(line) > 78 and name.isascii():  # rare: long enough to fold, as the stdlib does it
        local, _, domain = email.rpartition("@")
        return WIRE.fold_binary("To", str(Address(display_name=name, username=local, domain=domain)))
    return line.encode() + CRLF


def _encoded_words(name: str) -> list[str]:
    """`name` as RFC 2047 encoded words (UTF-8, base64), each within 75 characters, whole characters."""
    chunks, chunk = [], b""
    for character in name:
        encoded = character.encode()
        if len(chunk) + len(encoded) > 45:  # 45 bytes: 60 in base64, 72 with the word's marks
            chunks.append(chunk)
            chunk = b""
        chunk += encoded
    chunks.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(chunk).decode()}?=" for chunk in chunks]


class Composer:
    """Makes each recipient's message from content rendered once; only cheap work per recipient."""

    def __init__(self, content: RenderedContent, settings: Settings, unsubscribe_secret: str | None) -> None:
        self.content = content
        self.settings = settings
        self.personaliser = Personaliser(settings.unsubscribe_url, unsubscribe_secret)
        self._text = _Body(content.text, content.slot_key, self.personaliser, as_html=False)
        self._html = _Body(content.html, content.slot_key, self.personaliser, as_html=True)
        itip = [
            _Calendar(calendar, attached=False)
            for calendar in content.calendars
            if calendar.method != "PUBLISH"
        ]
        attached = [_Calendar(calendar, attached=True) for calendar in content.calendars]
        # "=_" never occurs in a quoted-printable or base64 body, so the boundaries need no scan.
        mixed, alternative = f"=_{clock.unique_token()}", f"=_{clock.unique_token()}"
        self._shared = self._shared_headers()
        self._mime = (
            f'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="{mixed}"\r\n\r\n'
            f'--{mixed}\r\nContent-Type: multipart/alternative; boundary="{alternative}"\r\n\r\n'
        ).encode()
        self._part_start = f"--{alternative}\r\n".encode()
        self._text_headers = b'Content-Type: text/plain; charset="utf-8"\r\n'
        self._html_headers = b'Content-Type: text/html; charset="utf-8"\r\n'
        self._qp = b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        self._itip, self._attached = itip, attached
        self._alternative_end = f"\r\n--{alternative}--\r\n".encode()
        self._mixed_start, self._mixed_end = f"\r\n--{mixed}\r\n".encode(), f"\r\n--{mixed}--\r\n".encode()

    def _shared_headers(self) -> bytes:
        """From, Subject, Reply-To, Content-Language, List-Id and the one-click Post: the same for
        every recipient of this content."""
        sender, mailing = self.settings.sender, self.settings.list_
        headers = EmailMessage(policy=WIRE)
        local, _, domain = sender.email.rpartition("@")
        headers["From"] = Address(display_name=sender.name, username=local, domain=domain)
        subject = encoded_subject(self.content.subject)
        if subject is None:
            headers["Subject"] = self.content.subject
        else:
            headers.set_raw("Subject", subject)
        if sender.reply_to:
            headers["Reply-To"] = sender.reply_to
        headers["Content-Language"] = self.content.language
        if mailing is not None:
            headers["List-Id"] = f"{sender.name} <{mailing.id}>"
            if self.personaliser.unsubscribe_url(None).startswith("https://"):
                headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        return _header_block(headers)

    def personalised(self, recipient: Recipient | None) -> tuple[str, str]:
        """The HTML and text with this recipient's values filled in (None: no one in particular)."""
        content, fill = self.content, self.personaliser.fill
        return (
            fill(content.html, content.slot_key, recipient, as_html=True),
            fill(content.text, content.slot_key, recipient, as_html=False),
        )

    def compose(self, recipient: Recipient, *, deliver_to: str | None = None) -> Outgoing:
        """One recipient's message: text, HTML (and the iTIP calendar) as alternatives, then the
        calendars attached. `deliver_to` sends that recipient's message to another address
        instead (a test send)."""
        to = deliver_to or recipient.email
        name = "" if deliver_to else recipient.name or ""
        message_id = f"<{clock.unique_token()}.{self.content.slug}@{self.settings.sender.domain}>"
        date = format_datetime(clock.utc_now())
        pieces = [
            self._shared,
            _to_header(name, to),
            f"Date: {date}\r\nMessage-ID: {message_id}\r\n".encode(),
            self._unsubscribe_header(recipient),
            self._mime,
            self._part_start,
            self._text_headers,
            self._qp,
            self._text.encoded(recipient),
            CRLF,
            self._part_start,
            self._html_headers,
            self._qp,
            self._html.encoded(recipient),
        ]
        for calendar in self._itip:
            pieces += (CRLF, self._part_start, calendar.part(recipient.name, to))
        pieces.append(self._alternative_end)
        for calendar in self._attached:
            pieces += (self._mixed_start, calendar.part(recipient.name, to))
        pieces.append(self._mixed_end)
        return Outgoing(to, message_id, b"".join(pieces))

    def _unsubscribe_header(self, recipient: Recipient) -> bytes:
        """List-Unsubscribe with this recipient's URL, and the list's mailto."""
        mailing = self.settings.list_
        if mailing is None:
            return b""
        targets = []
        if url := self.personaliser.unsubscribe_url(recipient):
            targets.append(f"<{url}>")
        if mailing.unsubscribe_mailto:
            targets.append(f"<mailto:{mailing.unsubscribe_mailto}?subject=unsubscribe>")
        # Written as is: a URL longer than a line must stay whole, not be RFC 2047-encoded.
        return b"List-Unsubscribe: " + ",\r\n ".join(targets).encode() + CRLF if targets else b""
