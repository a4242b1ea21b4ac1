"""A send, start to end: check every input first, render once, stream messages to a transport."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from announcer.composing import compose_invitation
from announcer.errors import Problem, SettingsError
from announcer.loading import event_slug, load_event
from announcer.recipients import open_recipients
from announcer.rendering import Renderer
from announcer.settings import Settings, secret_problems
from announcer.transports.base import Transport


@dataclass(frozen=True)
class SendReport:
    """What a send did."""

    slug: str
    sent: int
    warnings: tuple[Problem, ...]


def send_invitation(
    event_path: Path, to: str, settings: Settings, transport_for: Callable[[str], Transport]
) -> SendReport:
    """One invitation per recipient of `to`; nothing is sent unless every input is sound."""
    if problems := secret_problems(settings):
        raise SettingsError(problems)
    event = load_event(event_path, settings.defaults)
    recipients = open_recipients(to)
    checked = recipients.check()
    slug = event_slug(event_path)
    content = Renderer(settings).render_event(event, slug)
    sent = 0
    with transport_for(slug) as transport:
        for recipient in recipients:
            transport.send(compose_invitation(content, recipient, settings))
            sent += 1
    return SendReport(slug, sent, checked.warnings)
