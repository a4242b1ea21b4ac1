"""DKIM signatures for outgoing messages (dkimpy), set up once per run."""

from __future__ import annotations

from collections.abc import Callable

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


def dkim_signer(domain: str, selector: str, key: bytes) -> Signer:
    """A function prepending a DKIM-Signature to a serialised message; ValueError if the key cannot sign."""
    import dkim  # only a real send signs: every other command starts without dkimpy's DNS stack

    selector_bytes, domain_bytes = selector.encode(), domain.encode()

    def sign(data: bytes) -> bytes:
        signature: bytes = dkim.sign(
            data, selector_bytes, domain_bytes, key, include_headers=list(SIGNED_HEADERS), linesep=b"\r\n"
        )
        return signature + data

    try:
        sign(b"From: a@example.org\r\nSubject: key check\r\n\r\nbody\r\n")
    except (dkim.DKIMException, ValueError) as exc:
        raise ValueError(f"the DKIM key does not sign: {exc}") from None
    return sign
