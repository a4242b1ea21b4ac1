"""Secrets, read from the environment (or the DKIM key file) and from nowhere else."""

from __future__ import annotations

import os

from announcer.errors import Problem, SettingsError
from announcer.load.files import open_file
from announcer.model.settings import Settings

UNSUBSCRIBE_SECRET_VARIABLE = "ANNOUNCER_UNSUBSCRIBE_SECRET"  # noqa: S105 (a name, not a secret)
SMTP_PASSWORD_VARIABLE = "ANNOUNCER_SMTP_PASSWORD"  # noqa: S105
DKIM_KEY_VARIABLE = "ANNOUNCER_DKIM_PRIVATE_KEY"
IMAP_PASSWORD_VARIABLE = "ANNOUNCER_IMAP_PASSWORD"  # noqa: S105


def unsubscribe_secret(settings: Settings) -> str | None:
    """The secret behind each reader's tokens: `{token}` in the unsubscribe URL, the mailto's
    subject and the VERP bounce address; None when the settings ask for no token."""
    asking = _asking_for_tokens(settings)
    if asking is None:
        return None
    secret = os.environ.get(UNSUBSCRIBE_SECRET_VARIABLE, "")
    if not secret:
        raise SettingsError(
            [Problem("announcer.toml", f"set {UNSUBSCRIBE_SECRET_VARIABLE} in the environment", field=asking)]
        )
    return secret


def _asking_for_tokens(settings: Settings) -> str | None:
    """What in the settings makes a token for each reader (as an error names it), or None."""
    url = settings.unsubscribe_url
    if url is not None and "{token}" in url:
        return "[list].unsubscribe_url holds {token}"
    if settings.list_ is not None and settings.list_.bounce_address is not None:
        return "[list].bounce_address is set (each reader's bounce address carries their token)"
    return None


def secret_problems(settings: Settings) -> list[Problem]:
    """Secrets the settings call for that the environment does not hold."""
    try:
        unsubscribe_secret(settings)
    except SettingsError as exc:
        return list(exc.problems)
    return []


def smtp_password(settings: Settings) -> str | None:
    """The SMTP password, from the environment only; required when a username is set."""
    if settings.smtp is None or settings.smtp.username is None:
        return None
    password = os.environ.get(SMTP_PASSWORD_VARIABLE)
    if not password:
        raise _settings_error("[smtp].username is set", f"set {SMTP_PASSWORD_VARIABLE} in the environment")
    return password


def imap_password() -> str:
    """The password of the IMAP mailbox `inbox` and `rsvps` read, from the environment only."""
    password = os.environ.get(IMAP_PASSWORD_VARIABLE)
    if not password:
        raise _settings_error("--mailbox imaps://…", f"set {IMAP_PASSWORD_VARIABLE} in the environment")
    return password


MAX_KEY_BYTES = 64 * 1024  # an RSA key of 16,384 bits takes 13 KB as PEM


def dkim_key(settings: Settings) -> bytes | None:
    """The DKIM private key (PEM): from `[dkim].key_file`, else from the environment."""
    if settings.dkim is None:
        return None
    if settings.dkim.key_file is not None:
        path = settings.workspace / settings.dkim.key_file
        with open_file(path, SettingsError) as key_file:  # a regular file, not a pipe that never ends
            try:
                return key_file.read(MAX_KEY_BYTES)
            except OSError as exc:
                raise _settings_error("[dkim].key_file", f"cannot read {path}: {exc.strerror}") from None
    key = os.environ.get(DKIM_KEY_VARIABLE)
    if not key:
        raise _settings_error("[dkim]", f"set key_file, or {DKIM_KEY_VARIABLE} in the environment")
    return key.encode()


def _settings_error(field: str, message: str) -> SettingsError:
    return SettingsError([Problem("announcer.toml", message, field=field)])
