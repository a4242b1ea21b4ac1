"""Transports deliver finished messages: a dry run into files, or SMTP.

One registry says what each transport can do and how it is built from the settings, so the
send pipeline never asks which one it has: a new transport is a module, a `TransportName` and
a row in `TRANSPORTS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType

from announcer.deliver.signing import Signer, dkim_signer
from announcer.deliver.transports.base import Transport
from announcer.deliver.transports.dryrun import DryRunTransport
from announcer.deliver.transports.smtp import SMTPServer, SMTPTransport
from announcer.errors import Problem, SettingsError
from announcer.model.settings import Settings


class TransportName(StrEnum):
    """The transports a send can name (`--transport`)."""

    DRY_RUN = "dry-run"
    SMTP = "smtp"


@dataclass(frozen=True)
class Secrets:
    """What a transport may need from the environment, read only when it asks (the send
    pipeline hands it `load.secrets`' readers: deliver/ reads no environment itself)."""

    smtp_password: Callable[[], str | None]
    password_variable: str  # where the password comes from, for the error that names it
    dkim_key: Callable[[], bytes | None]


@dataclass(frozen=True)
class TransportKind:
    """What a transport can do, and how it is made for one run."""

    reaches_people: bool  # its messages reach their readers: a run through it is journaled
    build: Callable[[Settings, Secrets, Path, str], Transport]  # with the outbox and the run's folder
    processes: Callable[[Settings, int], int]  # how many processes share a run of so many messages


FORK_FROM = 500  # messages from which a dry run uses every core (the benchmark shows it pays)


def _dry_run_processes(settings: Settings, total: int) -> int:
    """One per core for a long run: writing files is the work, and each process writes its own."""
    return min(os.cpu_count() or 1, 8) if total >= FORK_FROM else 1


def _smtp_processes(settings: Settings, total: int) -> int:
    """One per connection the server allows."""
    return min(settings.smtp.connections, total) if settings.smtp else 1


def _dry_run(settings: Settings, secrets: Secrets, outbox: Path, folder: str) -> Transport:
    return DryRunTransport(outbox, folder)


def _smtp(settings: Settings, secrets: Secrets, outbox: Path, folder: str) -> Transport:
    """The SMTP transport of `[smtp]`, its password and DKIM key from the environment."""
    smtp = settings.smtp
    if smtp is None:
        raise SettingsError([Problem("announcer.toml", "add an [smtp] table to send with --transport smtp")])
    server = SMTPServer(
        host=smtp.host,
        port=smtp.port,
        security=smtp.security,
        username=smtp.username,
        password=secrets.smtp_password(),
        password_variable=secrets.password_variable,
        ca_file=settings.workspace / smtp.ca_file if smtp.ca_file else None,
        timeout_seconds=smtp.timeout_seconds,
        deadline_seconds=smtp.deadline_seconds,
    )
    return SMTPTransport(
        server,
        signer=_signer(settings, secrets),
        connections=smtp.connections,
    )


def _signer(settings: Settings, secrets: Secrets) -> Signer | None:
    """DKIM signing as `[dkim]` sets it up, or None."""
    key = secrets.dkim_key()
    if settings.dkim is None or key is None:
        return None
    try:
        return dkim_signer(settings.dkim.domain, settings.dkim.selector, key)
    except ValueError as exc:
        raise SettingsError([Problem("announcer.toml", str(exc), field="[dkim]")]) from None


TRANSPORTS: Mapping[TransportName, TransportKind] = MappingProxyType(
    {
        TransportName.DRY_RUN: TransportKind(
            reaches_people=False, build=_dry_run, processes=_dry_run_processes
        ),
        TransportName.SMTP: TransportKind(reaches_people=True, build=_smtp, processes=_smtp_processes),
    }
)
