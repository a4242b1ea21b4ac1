"""A send, start to end: check every input first, render once, deliver each message once."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from announcer.calendar import schedule_fingerprint
from announcer.composing import compose_message
from announcer.delivery import Deliverer, Pace, Resend, Summary, stop_between_messages
from announcer.errors import Problem, RecipientsError, SettingsError
from announcer.journal import Journal, delivery_key, read_sequence
from announcer.loading import event_slug, load_event
from announcer.model import check_address
from announcer.recipients import Recipient, open_recipients
from announcer.rendering import RenderedContent, Renderer, event_uid
from announcer.settings import Settings, secret_problems, smtp_password
from announcer.signing import dkim_signer
from announcer.transports.base import Transport
from announcer.transports.dryrun import DryRunTransport
from announcer.transports.smtp import SMTPTransport

TransportName = Literal["dry-run", "smtp"]


@dataclass(frozen=True)
class SendOptions:
    """How to send: through which transport, how fast, and whom to send to again."""

    transport: TransportName = "dry-run"
    outbox: Path = Path("outbox")
    resend: Resend = Resend.NOBODY
    per_minute: float | None = None
    test_to: str | None = None


@dataclass(frozen=True)
class SendReport:
    """What a send did."""

    slug: str
    key: str
    recipients: int
    summary: Summary
    warnings: tuple[Problem, ...] = field(default_factory=tuple)


class _Stopped(Exception):
    """Raised inside the transport's context when the user asked to stop."""


def make_transport(settings: Settings, options: SendOptions, folder: str) -> Transport:
    """The transport the options name, with its secrets read from the environment."""
    if options.transport == "dry-run":
        return DryRunTransport(options.outbox, folder)
    if settings.smtp is None:
        raise SettingsError([Problem("announcer.toml", "add an [smtp] table to send with --transport smtp")])
    return SMTPTransport(
        settings.smtp,
        envelope_sender=settings.sender.email,
        password=smtp_password(settings),
        workspace=settings.workspace,
        signer=dkim_signer(settings),
    )


def send_invitation(
    event_path: Path,
    to: str,
    settings: Settings,
    options: SendOptions = SendOptions(),
    *,
    announce: Callable[[str], None] = lambda text: None,
    start: Callable[[int], None] = lambda total: None,
    advance: Callable[[], None] = lambda: None,
) -> SendReport:
    """One invitation per recipient of `to`; nothing is sent unless every input is sound.

    A real send (SMTP) is journaled: a re-run skips whoever already has the message.
    `announce` receives notices for the user; `start` the number of recipients, and `advance`
    is called after each one.
    """
    if problems := secret_problems(settings):
        raise SettingsError(problems)
    event = load_event(event_path, settings.defaults)
    recipients = open_recipients(to)
    checked = recipients.check()
    test_to = check_address_option(options.test_to)
    slug = event_slug(event_path)
    uid, fingerprint = event_uid(slug, settings), schedule_fingerprint(event)
    transport = make_transport(settings, options, f"{slug}-test" if test_to else slug)
    real = options.transport == "smtp" and test_to is None

    with ExitStack() as stack:
        journal = stack.enter_context(Journal(settings.workspace)) if real else None
        sequence = (
            journal.sequence(uid, fingerprint)
            if journal
            else read_sequence(settings.workspace, uid, fingerprint)
        )
        key = delivery_key("invitation" if sequence == 0 else "update", uid, sequence)
        content = Renderer(settings).render_event(event, slug, sequence=sequence)
        if journal is not None:
            journal.settle_sequence(uid, sequence, fingerprint)
        smtp = settings.smtp
        pace = (
            Pace(smtp.retries, smtp.retry_delay_seconds, options.per_minute)
            if smtp
            else Pace(per_minute=options.per_minute)
        )
        deliverer = Deliverer(transport, journal=journal, key=key, pace=pace, resend=options.resend)
        total = 1 if test_to else checked.count
        start(total)
        try:
            with transport, stop_between_messages(announce) as stop:
                for recipient in recipients:
                    if stop.requested:
                        raise _Stopped
                    deliverer.deliver(recipient, _composer(content, recipient, settings, test_to))
                    advance()
                    if test_to:
                        break
        except _Stopped:
            deliverer.summary.interrupted = True
    return SendReport(slug, key, total, deliverer.summary, checked.warnings)


def _composer(
    content: RenderedContent, recipient: Recipient, settings: Settings, test_to: str | None
) -> Callable[[], EmailMessage]:
    """Composing waits until the journal says the message is wanted."""

    def compose() -> EmailMessage:
        return compose_message(content, recipient, settings, deliver_to=test_to)

    return compose


def check_address_option(address: str | None) -> str | None:
    """`--test-to`, checked like any recipient."""
    if address is None:
        return None
    try:
        return check_address(address)
    except ValueError as exc:
        raise RecipientsError([Problem("--test-to", str(exc))]) from None
