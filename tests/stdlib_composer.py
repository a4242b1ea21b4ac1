"""The reference: one recipient's message built the plain stdlib way (one `EmailMessage` each).

The composer assembles the same message from parts encoded once; tests compare the two part
by part, and the benchmark measures this as its naive baseline.
"""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from announcer import clock
from announcer.audience.tokens import unsubscribe_token
from announcer.compose.headers import WIRE, unstructured
from announcer.compose.personalise import Personaliser
from announcer.model.recipient import Recipient
from announcer.model.settings import Settings
from announcer.render.calendar import with_attendee
from announcer.render.content import RenderedContent


def _mailbox(name: str, email: str) -> Address:
    local, _, domain = email.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def stdlib_message(
    content: RenderedContent, settings: Settings, recipient: Recipient, secret: str | None = None
) -> EmailMessage:
    """The message for `recipient`, every part encoded for this recipient alone."""
    personaliser = Personaliser(settings.unsubscribe_url, secret)
    sender = settings.sender
    message = EmailMessage(policy=WIRE)
    message["From"] = _mailbox(sender.name, sender.email)
    message["To"] = _mailbox(recipient.name or "", recipient.email)
    message.set_raw("Subject", unstructured("Subject", content.subject).decode()[len("Subject: ") : -2])
    message["Date"] = format_datetime(clock.utc_now())
    message["Message-ID"] = f"<{clock.unique_token()}.{content.slug}@{sender.domain}>"
    if sender.reply_to:
        message["Reply-To"] = sender.reply_to
    mailing = settings.list_
    unsubscribe_url = personaliser.unsubscribe_url(recipient)
    if mailing is not None:
        message["List-Id"] = f"{sender.name} <{mailing.id}>"
        targets = [f"<{unsubscribe_url}>"] if unsubscribe_url else []
        if mailing.unsubscribe_mailto:
            subject = (
                f"unsubscribe%20{unsubscribe_token(recipient.email, secret)}" if secret else "unsubscribe"
            )
            targets.append(f"<mailto:{mailing.unsubscribe_mailto}?subject={subject}>")
        if targets:
            message.set_raw("List-Unsubscribe", ",\r\n ".join(targets))
        if unsubscribe_url.startswith("https://"):
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    customer = mailing.id if mailing else sender.domain
    message.set_raw(
        "Feedback-ID", f"{content.slug}:{customer}:{content.kind}:announcer"
    )  # one line, as Gmail reads it
    fill = personaliser.fill
    message.set_content(
        fill(content.text, content.slot_key, recipient, as_html=False), cte="quoted-printable"
    )
    message.add_alternative(
        fill(content.html, content.slot_key, recipient, as_html=True), subtype="html", cte="quoted-printable"
    )
    calendars = [
        (
            calendar,
            (
                with_attendee(calendar.data, recipient.name, recipient.email, method=calendar.method)
                if calendar.attendee
                else calendar.data
            ).decode(),
        )
        for calendar in content.calendars
    ]
    for calendar, data in calendars:
        if calendar.method != "PUBLISH":
            message.add_alternative(
                data, subtype="calendar", cte="base64", params={"method": calendar.method}
            )
    for calendar, data in calendars:
        if not calendar.acted_on:  # a file to open: application/ics
            message.add_attachment(
                data.encode(), maintype="application", subtype="ics", cte="base64", filename=calendar.filename
            )
            continue
        message.add_attachment(
            data,
            subtype="calendar",
            cte="base64",
            filename=calendar.filename,
            params={"method": calendar.method, "name": calendar.filename},
        )
    message["Content-Language"] = content.language  # after the parts: setting content clears Content-*
    return message
