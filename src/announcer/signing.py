"""DKIM signatures for outgoing messages (dkimpy), set up once per run."""

from __future__ import annotations

from collections.abc import Callable

import dkim

from announcer.errors import Problem, SettingsError
from announcer.settings import Settings, dkim_key

Signer = Callable[[bytes], bytes]

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"mime-version",
    b"content-type",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)


def dkim_signer(settings: Settings) -> Signer | None:
    """A function that prepends a DKIM-Signature to a serialised message, or None without [dkim]."""
    key = dkim_key(settings)
    if settings.dkim is None or key is None:
        return None
    selector, domain = settings.dkim.selector.encode(), settings.dkim.domain.encode()

    def sign(data: bytes) -> bytes:
        signature: bytes = dkim.sign(
            data, selector, domain, key, include_headers=list(SIGNED_HEADERS), linesep=b"\r\n"
        )
        return signature + data

    try:
        sign(b"From: a@example.org\r\nSubject: key check\r\n\r\nbody\r\n")
    except (dkim.DKIMException, ValueError) as exc:
        raise SettingsError(
            [Problem("announcer.toml", f"the DKIM key does not sign: {exc}", field="[dkim]")]
        ) from None
    return sign
