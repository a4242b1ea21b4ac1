"""Rendered content to one MIME message per recipient; only cheap substitutions happen here."""

from __future__ import annotations

from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime

from announcer import factories
from announcer.recipients import Recipient
from announcer.rendering import RenderedContent
from announcer.settings import Settings

# CRLF, RFC 2045's 76-character encoded lines, and raw headers (List-Unsubscribe) left as folded.
WIRE = policy.SMTP.clone(max_line_length=76, refold_source="none")


def _mailbox(name: str, email: str) -> Address:
    local, _, domain = email.rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def compose_message(
    content: RenderedContent,
    recipient: Recipient,
    settings: Settings,
    *,
    deliver_to: str | None = None,
) -> EmailMessage:
    """One recipient's message: text and HTML alternatives, then the calendars attached.

    `deliver_to` sends that recipient's message to another address instead (a test send).
    """
    unsubscribe_url = settings.unsubscribe_url_for(recipient.email) or ""
    message = EmailMessage(policy=WIRE)
    sender = settings.sender
    message["From"] = _mailbox(sender.name, sender.email)
    if deliver_to:
        message["To"] = _mailbox("", deliver_to)
    else:
        message["To"] = _mailbox(recipient.name or "", recipient.email)
    message["Subject"] = content.subject
    message["Date"] = format_datetime(factories.utc_now())
    message["Message-ID"] = f"<{factories.unique_token()}.{content.slug}@{sender.domain}>"
    if sender.reply_to:
        message["Reply-To"] = sender.reply_to
    _list_headers(message, settings, unsubscribe_url)
    html, text = content.personalised(recipient, unsubscribe_url)
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    for calendar in content.calendars:
        message.add_attachment(
            calendar.data,
            maintype="application",
            subtype="ics",
            filename=calendar.filename,
            params={"name": calendar.filename},
        )
    return message


def _list_headers(message: EmailMessage, settings: Settings, unsubscribe_url: str) -> None:
    """List-Id, List-Unsubscribe and, for an https URL, RFC 8058 one-click unsubscription."""
    mailing = settings.list_
    if mailing is None:
        return
    message["List-Id"] = f"{settings.sender.name} <{mailing.id}>"
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
