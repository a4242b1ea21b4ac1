"""How a reader is named where their address must not show: the unsubscribe URL's token and
the VERP bounce address. Both are an HMAC of the address under the workspace's secret, so only
the workspace can make them and the audience ledger (`tokens` table) reads them back."""

from __future__ import annotations

import hashlib
import hmac
from base64 import b32encode, urlsafe_b64encode


def _digest(address: str, secret: str, use: bytes = b"") -> bytes:
    """The HMAC of one address for one use: a token of one use says nothing of the other's."""
    return hmac.new(secret.encode(), use + address.lower().encode(), hashlib.sha256).digest()


def unsubscribe_token(address: str, secret: str) -> str:
    """An opaque per-address token for the unsubscribe URL (24 characters, URL-safe)."""
    return urlsafe_b64encode(_digest(address, secret)[:18]).decode()


def verp_token(address: str, secret: str) -> str:
    """The per-address part of a VERP bounce address: lower-case letters and digits only, as
    some servers change the case of a local part on the way back (24 characters)."""
    return b32encode(_digest(address, secret, b"verp\0")[:15]).decode().lower()


def verp_address(bounce_address: str, address: str, secret: str) -> str:
    """`bounces@example.org` → `bounces+<token>@example.org` for this reader (RFC 5233's detail)."""
    local, _, domain = bounce_address.rpartition("@")
    return f"{local}+{verp_token(address, secret)}@{domain}"


def verp_token_of(bounce_address: str, recipient: str) -> str | None:
    """The token a bounce's recipient carries, if it is a VERP form of `bounce_address`."""
    local, _, domain = bounce_address.lower().rpartition("@")
    their_local, _, their_domain = recipient.strip().strip("<>").lower().rpartition("@")
    prefix = f"{local}+"
    if their_domain != domain or not their_local.startswith(prefix):
        return None
    token = their_local[len(prefix) :]
    return token if len(token) == 24 and token.isalnum() and token.isascii() else None
