"""Rendered content to one MIME message per recipient: headers, personalised parts, calendars."""

from __future__ import annotations

from email import policy
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from announcer import clock
from announcer.model.recipient import Recipient
from announcer.model.settings import Settings
from announcer.personalisation import Personaliser
from announcer.render.calendar import with_attendee
from announcer.render.content import CalendarFile, RenderedContent

# CRLF, RFC 2045's 76-character encoded lines, and raw headers (List-Unsubscribe) left as folded.
WIRE = policy.SMTP.clone(max_line_length=76, refold_source="none")


def _mailbox(name: str, email: str) -> Address:
    local, _, domain = email.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def encoded_subject(subject: str) -> str | None:
    """A non-ASCII Subject as it goes on the wire, reading back exactly as written; None for ASCII.

    The stdlib's folding splits non-ASCII text into encoded words with the spaces between
    them, and readers drop white space between encoded words: "Søndergaard, Tomás" came back
    as "Søndergaard,Tomás". Here every character, spaces included, sits inside encoded words.
    """
    if subject.isascii():
        return None  # folded by the stdlib, which does that right for plain text
    return Header(subject, "utf-8", header_name="Subject").encode(linesep="\r\n", maxlinelen=76)


class Composer:
    """Makes each recipient's message from content rendered once; only cheap work per recipient."""

    def __init__(self, content: RenderedContent, settings: Settings, unsubscribe_secret: str | None) -> None:
        self.content = content
        self.settings = settings
        self.personaliser = Personaliser(settings.unsubscribe_url, unsubscribe_secret)
        self.subject = encoded_subject(content.subject)

    def personalised(self, recipient: Recipient | None) -> tuple[str, str]:
        """The HTML and text with this recipient's values filled in (None: no one in particular)."""
        content, fill = self.content, self.personaliser.fill
        return (
            fill(content.html, content.slot_key, recipient, as_html=True),
            fill(content.text, content.slot_key, recipient, as_html=False),
        )

    def compose(self, recipient: Recipient, *, deliver_to: str | None = None) -> EmailMessage:
        """One recipient's message: text and HTML alternatives, then the calendars attached.

        `deliver_to` sends that recipient's message to another address instead (a test send).
        """
        content, sender = self.content, self.settings.sender
        message = EmailMessage(policy=WIRE)
        message["From"] = _mailbox(sender.name, sender.email)
        if deliver_to:
            message["To"] = _mailbox("", deliver_to)
        else:
            message["To"] = _mailbox(recipient.name or "", recipient.email)
        if self.subject is None:
            message["Subject"] = content.subject
        else:
            message.set_raw("Subject", self.subject)
        message["Date"] = format_datetime(clock.utc_now())
        message["Message-ID"] = f"<{clock.unique_token()}.{content.slug}@{sender.domain}>"
        if sender.reply_to:
            message["Reply-To"] = sender.reply_to
        self._list_headers(message, self.personaliser.unsubscribe_url(recipient))
        html, text = self.personalised(recipient)
        message.set_content(text, cte="quoted-printable")
        message.add_alternative(html, subtype="html", cte="quoted-printable")
        attendee = (recipient.name, deliver_to or recipient.email)
        calendars = [(calendar, self._calendar_for(calendar, *attendee)) for calendar in content.calendars]
        for calendar, data in calendars:
            if calendar.method != "PUBLISH":  # iTIP (RFC 6047): the calendar inline too, as servers send it
                params = {"method": calendar.method}
                message.add_alternative(data, subtype="calendar", cte="base64", params=params)
        for calendar, data in calendars:
            # text/calendar with its METHOD, not application/ics: Thunderbird then offers the
            # event (measured: DESIGN.md); base64 keeps the calendar's octets and CRLFs exact.
            message.add_attachment(
                data,
                subtype="calendar",
                cte="base64",
                filename=calendar.filename,
                params={"method": calendar.method, "name": calendar.filename},
            )
        for part in message.walk():
            if part.is_multipart():
                # "=_" never occurs in a quoted-printable or base64 body, so no scan is needed.
                part.set_boundary(f"=_{clock.unique_token()}")
        return message

    @staticmethod
    def _calendar_for(calendar: CalendarFile, name: str | None, email: str) -> str:
        """The calendar as this reader gets it: named as its ATTENDEE where the calendar asks."""
        if not calendar.attendee:
            return calendar.data.decode()
        return with_attendee(calendar.data, name, email, method=calendar.method).decode()

    def _list_headers(self, message: EmailMessage, unsubscribe_url: str) -> None:
        """List-Id, List-Unsubscribe and, for an https URL, RFC 8058 one-click unsubscription."""
        mailing = self.settings.list_
        if mailing is None:
            return
        message["List-Id"] = f"{self.settings.sender.name} <{mailing.id}>"
        targets = []
        if unsubscribe_url:
            targets.append(f"<{unsubscribe_url}>")
        if mailing.unsubscribe_mailto:
            targets.append(f"<mailto:{mailing.unsubscribe_mailto}?subject=unsubscribe>")
        if targets:
            # Set raw: a URL longer than a line must stay whole, not be RFC 2047-encoded.
            message.set_raw("List-Unsubscribe", ",\r\n ".join(targets))
        if unsubscribe_url.startswith("https://"):
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
