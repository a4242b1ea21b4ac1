"""A send, start to end: check every input first, render once, deliver each message once."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from announcer.calendar import schedule_fingerprint
from announcer.composing import compose_message
from announcer.delivery import Deliverer, Pace, Resend, Summary, stop_between_messages
from announcer.digest import Window, choose_events
from announcer.errors import Problem, RecipientsError, SettingsError
from announcer.journal import Journal, delivery_key, read_sequences
from announcer.loading import event_slug, load_event
from announcer.model import check_address
from announcer.recipients import Checked, Recipient, RecipientList, SingleAddress, open_recipients
from announcer.rendering import RenderedContent, Renderer, event_uid
from announcer.settings import Settings, secret_problems, smtp_password
from announcer.signing import dkim_signer
from announcer.transports.base import Transport
from announcer.transports.dryrun import DryRunTransport
from announcer.transports.smtp import SMTPTransport

TransportName = Literal["dry-run", "smtp"]
Recipients = RecipientList | SingleAddress


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


@dataclass(frozen=True)
class Hooks:
    """How a send talks to its user: notices, and the progress of the run."""

    announce: Callable[[str], None] = lambda text: None
    start: Callable[[int], None] = lambda total: None
    advance: Callable[[], None] = lambda: None


def send_invitation(
    event_path: Path,
    to: str,
    settings: Settings,
    options: SendOptions = SendOptions(),
    hooks: Hooks = Hooks(),
) -> SendReport:
    """One invitation per recipient of `to`; nothing is sent unless every input is sound.

    A real send (SMTP) is journaled: a re-run skips whoever already has the message, and a
    change of time or place since the last real send makes this one an update (SEQUENCE + 1).
    """
    _check_secrets(settings)
    event = load_event(event_path, settings.defaults)
    recipients, checked = _checked(to)
    slug = event_slug(event_path)
    uid, fingerprint = event_uid(slug, settings), schedule_fingerprint(event)
    with _journal(settings, options) as journal:
        sequence = (
            journal.sequence(uid, fingerprint)
            if journal
            else read_sequences(settings.workspace, {uid: fingerprint})[uid]
        )
        content = Renderer(settings).render_event(event, slug, sequence=sequence)
        if journal is not None:
            journal.settle_sequence(uid, sequence, fingerprint)
        key = delivery_key("invitation" if sequence == 0 else "update", uid, sequence)
        return _deliver(content, key, recipients, checked, settings, options, journal, hooks)


def send_digest(
    events_dir: Path,
    window: Window,
    to: str,
    settings: Settings,
    options: SendOptions = SendOptions(),
    hooks: Hooks = Hooks(),
    *,
    allow_empty: bool = False,
) -> SendReport | None:
    """One digest of the events starting in `window`; None (nothing sent) when there are none.

    Each event's calendar carries the UID and SEQUENCE of its own invitation, so adding it from
    the digest and from the invitation gives one calendar entry.
    """
    _check_secrets(settings)
    listed = choose_events(events_dir, window, settings.defaults)
    if not listed and not allow_empty:
        return None
    recipients, checked = _checked(to)
    uids = {item.slug: event_uid(item.slug, settings) for item in listed}
    current = read_sequences(
        settings.workspace, {uids[item.slug]: schedule_fingerprint(item.event) for item in listed}
    )
    sequences = {slug: current[uid] for slug, uid in uids.items()}
    content = Renderer(settings).render_digest(window, listed, sequences)
    with _journal(settings, options) as journal:
        return _deliver(
            content,
            delivery_key("digest", content.uid, 0),
            recipients,
            checked,
            settings,
            options,
            journal,
            hooks,
        )


def _check_secrets(settings: Settings) -> None:
    if problems := secret_problems(settings):
        raise SettingsError(problems)


def _checked(to: str) -> tuple[Recipients, Checked]:
    """The recipients of `to`, read in full once so that a bad list sends nothing."""
    recipients = open_recipients(to)
    return recipients, recipients.check()


def _journal(settings: Settings, options: SendOptions) -> AbstractContextManager[Journal | None]:
    """The workspace's journal for a real send; none for a dry run or a test send."""
    if options.transport == "smtp" and options.test_to is None:
        return Journal(settings.workspace)
    return nullcontext()


def _deliver(
    content: RenderedContent,
    key: str,
    recipients: Recipients,
    checked: Checked,
    settings: Settings,
    options: SendOptions,
    journal: Journal | None,
    hooks: Hooks,
) -> SendReport:
    """Stream one message per recipient (only the first, for a test send) into the transport."""
    test_to = check_address_option(options.test_to)
    transport = make_transport(settings, options, f"{content.slug}-test" if test_to else content.slug)
    smtp = settings.smtp
    pace = (
        Pace(smtp.retries, smtp.retry_delay_seconds, options.per_minute)
        if smtp
        else Pace(per_minute=options.per_minute)
    )
    deliverer = Deliverer(transport, journal=journal, key=key, pace=pace, resend=options.resend)
    total = 1 if test_to else checked.count
    hooks.start(total)
    try:
        with transport, stop_between_messages(hooks.announce) as stop:
            for recipient in recipients:
                if stop.requested:
                    raise _Stopped
                deliverer.deliver(recipient, _composer(content, recipient, settings, test_to))
                hooks.advance()
                if test_to:
                    break
    except _Stopped:
        deliverer.summary.interrupted = True
    return SendReport(content.slug, key, total, deliverer.summary, checked.warnings)


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
