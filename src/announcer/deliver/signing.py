"""DKIM signatures for outgoing messages (dkimpy), set up once per run."""

from __future__ import annotations

from collections.abc import Callable

Signer = Callable[[bytes], bytes]

# Every header we write that a reader or a mailbox provider acts on. RFC 8058 §4 requires the
# signature to cover List-Unsubscribe and List-Unsubscribe-Post; those and Feedback-ID are named
# once more than they occur (RFC 6376 §8.15), so that a header added on the way (a second,
# forged unsubscribe address above ours) breaks the signature instead of riding on it. A header
# named but absent (Reply-To unset) is signed as absent: adding it breaks the signature too.
_ONCE = (b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"mime-version", b"content-type")
_OVERSIGNED = (b"list-id", b"list-unsubscribe", b"list-unsubscribe-post", b"feedback-id")
SIGNED_HEADERS = (*_ONCE, *_OVERSIGNED, *_OVERSIGNED)


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
