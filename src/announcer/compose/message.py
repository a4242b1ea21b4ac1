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
from email.message import EmailMessage
from email.utils import format_datetime

from announcer import clock
from announcer.audience.tokens import unsubscribe_token, verp_address
from announcer.compose import headers
from announcer.compose.headers import CRLF, WIRE
from announcer.compose.personalise import Personaliser
from announcer.model.recipient import Recipient
from announcer.model.settings import MailingList, Sender
from announcer.render.calendar import with_attendee
from announcer.render.content import CalendarFile, RenderedContent
from announcer.render.slots import split


@dataclass(frozen=True)
class Outgoing:
    """One recipient's message: its envelope (whom it goes to, where a bounce goes back to), its
    Message-ID, its bytes."""

    to: str
    message_id: str
    data: bytes
    envelope_sender: str  # SMTP's MAIL FROM: the reader's VERP address, or the sender's own

    @property
    def message(self) -> EmailMessage:
        """The message parsed back (for the preview and tests)."""
        return message_from_bytes(self.data, policy=policy.default)


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
        self.slot_key = slot_key
        self.as_html = as_html

    def encoded(self, recipient: Recipient) -> bytes:
        value = self.personaliser.value
        return b"".join(
            piece
            if isinstance(piece, bytes)
            else _quoted_printable(value(piece, self.slot_key, recipient, as_html=self.as_html))
            for piece in self.pieces
        )


class _Calendar:
    """A calendar part: its headers and, unless it names each reader as attendee, its body, once."""

    def __init__(self, calendar: CalendarFile, *, attached: bool) -> None:
        part = EmailMessage(policy=WIRE)
        if calendar.acted_on:
            part.set_content(
                calendar.data.decode(),
                subtype="calendar",
                cte="base64",
                params={"method": calendar.method, **({"name": calendar.filename} if attached else {})},
                disposition="attachment" if attached else None,
                filename=calendar.filename if attached else None,
            )
        else:  # a file to open, which no mail program takes for the message's calendar
            part.set_content(
                calendar.data, maintype="application", subtype="ics", cte="base64", filename=calendar.filename
            )
        del part["MIME-Version"]
        head, _, _ = part.as_bytes(policy=WIRE).partition(CRLF + CRLF)
        self.calendar = calendar
        self.headers = head + CRLF + CRLF
        self.whole = None if calendar.attendee else self.headers + _base64(_crlf_ended(calendar.data))

    def part(self, name: str | None, email: str) -> bytes:
        if self.whole is not None:
            return self.whole
        data = with_attendee(self.calendar.data, name, email, method=self.calendar.method)
        return self.headers + _base64(_crlf_ended(data))


def _crlf_ended(data: bytes) -> bytes:
    return data if data.endswith(CRLF) else data + CRLF


class Composer:
    """Makes each recipient's message from content rendered once; only cheap work per recipient."""

    def __init__(
        self,
        content: RenderedContent,
        sender: Sender,
        mailing: MailingList | None,
        unsubscribe_secret: str | None,
    ) -> None:
        """`sender` and `mailing` (the settings' `[sender]` and `[list]`) are all it reads of them."""
        self.content = content
        self.sender = sender
        self.mailing = mailing
        self.personaliser = Personaliser(mailing.unsubscribe_url if mailing else None, unsubscribe_secret)
        self._secret = unsubscribe_secret
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
        """From, Subject, Reply-To, Content-Language, List-Id, the one-click Post and Feedback-ID:
        the same for every recipient of this content. Text from the files goes through `headers`
        alone."""
        sender, mailing = self.sender, self.mailing
        lines = [
            headers.mailbox("From", sender.name, sender.email),
            headers.unstructured("Subject", self.content.subject),
        ]
        if sender.reply_to:
            lines.append(f"Reply-To: {sender.reply_to}\r\n".encode())
        lines.append(f"Content-Language: {self.content.language}\r\n".encode())
        if mailing is not None:
            lines.append(headers.mailbox("List-Id", sender.name, mailing.id))
            if self.personaliser.unsubscribe_url(None).startswith("https://"):
                lines.append(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n")
        customer = mailing.id if mailing is not None else sender.domain
        lines.append(headers.feedback_id(self.content.slug, customer, self.content.kind.value))
        return b"".join(lines)

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
        message_id = f"<{clock.unique_token()}.{self.content.slug}@{self.sender.domain}>"
        date = format_datetime(clock.utc_now())
        pieces = [
            self._shared,
            headers.mailbox("To", name, to),
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
        return Outgoing(to, message_id, b"".join(pieces), self._envelope_sender(to))

    def _envelope_sender(self, to: str) -> str:
        """Where a bounce goes: with `[list] bounce_address` the reader's own VERP address, so
        that it names them even when the server's report does not; else the sender."""
        mailing = self.mailing
        if mailing is None or mailing.bounce_address is None:
            return self.sender.email
        if not self._secret:  # every verb that writes to someone reads the secret first
            raise ValueError("a bounce address needs a secret")
        return verp_address(mailing.bounce_address, to, self._secret)

    def _unsubscribe_header(self, recipient: Recipient) -> bytes:
        """List-Unsubscribe with this recipient's URL, and the list's mailto with their token."""
        mailing = self.mailing
        if mailing is None:
            return b""
        targets = []
        if url := self.personaliser.unsubscribe_url(recipient):
            targets.append(f"<{url}>")
        if mailing.unsubscribe_mailto:
            token = unsubscribe_token(recipient.email, self._secret) if self._secret else None
            targets.append(f"<{headers.mailto_unsubscribe(mailing.unsubscribe_mailto, token)}>")
        # Written as is: a URL longer than a line must stay whole, not be RFC 2047-encoded.
        return b"List-Unsubscribe: " + ",\r\n ".join(targets).encode() + CRLF if targets else b""
