"""Unsubscriptions mailed to the list's `[list] unsubscribe_mailto`.

Our List-Unsubscribe mailto carries the reader's token in its subject (`unsubscribe TOKEN`), so
a mail client's "unsubscribe" names the reader exactly, whoever's account sends it: the token
is one only this workspace can make, and the ledger knows whom it names.

A message without a token is honoured only if its sender is verified, as the receiving server
found it: the topmost Authentication-Results header (RFC 8601) must be the one `[inbox]
authserv_id` names (the receiving server writes its own on top, and removes any claiming its
name from arriving mail, as RFC 8601 §5 asks), and say `dmarc=pass` for the From's domain, or
`dkim=pass` for a signature of the From's domain (or a domain it is under). Anything else is a
forgery as far as announcer can tell: listed, never applied. Without `authserv_id`, only a
token unsubscribes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message

from announcer.inbox.naming import Naming, addresses_in, header_values
from announcer.inbox.reading import body_text, parts, text_of

MAX_BODY_CHARS = 10_000  # of the first text part looked at for a token
_RESULT = re.compile(r"\b(dkim|dmarc)\s*=\s*([a-z]+)\b([^;]*)", re.IGNORECASE)
_PROPERTY = re.compile(r"\bheader\.(d|i|from)\s*=\s*\"?@?([A-Za-z0-9.-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Unsubscription:
    """Whom a mailed unsubscription names, and how; or why it is not applied."""

    address: str | None
    why: str


def is_to(message: Message, mailto: str | None) -> bool:
    """Whether the message was addressed to the unsubscribe address."""
    if not mailto:
        return False
    wanted = mailto.lower()
    return wanted in addresses_in(header_values(message, "To", "Cc", "Delivered-To", "X-Original-To"))


def read_unsubscription(message: Message, naming: Naming, authserv_id: str | None) -> Unsubscription:
    subject = text_of(message.get("Subject"), 500)
    reader, token = naming.unsubscribe_reader(subject)
    if token is None:
        reader, token = naming.unsubscribe_reader(_first_text(message))
    if reader is not None:
        return Unsubscription(reader, "by the token in it")
    if token is not None:
        return Unsubscription(None, "its token is none a send of ours wrote: not applied")
    senders = addresses_in(header_values(message, "From"))
    if len(senders) != 1:
        return Unsubscription(None, "no token, and no one From address: not applied")
    sender = senders[0]
    if not authserv_id:
        return Unsubscription(
            None, f"no token, from {sender}: not applied (set [inbox] authserv_id to honour verified senders)"
        )
    if not verified(message, sender, authserv_id):
        return Unsubscription(None, f"no token, and {sender} is not verified by {authserv_id}: not applied")
    return Unsubscription(sender, f"from {sender}, verified by {authserv_id}")


def verified(message: Message, sender: str, authserv_id: str) -> bool:
    """Whether the receiving server's own Authentication-Results say `sender`'s domain sent it."""
    domain = sender.rpartition("@")[2]
    for value in _our_results(message, authserv_id):
        for method, result, properties in _RESULT.findall(value):
            if result.lower() != "pass":
                continue
            for name, found in _PROPERTY.findall(properties):
                found = found.lower().rstrip(".")
                if method.lower() == "dmarc" and name.lower() == "from" and found == domain:
                    return True
                if method.lower() == "dkim" and name.lower() in ("d", "i") and _aligned(found, domain):
                    return True
    return False


def _aligned(signer: str, domain: str) -> bool:
    """DMARC's relaxed alignment, without a public suffix list: the same domain, or one it is
    under (a signature of example.org covers news.example.org) but never a bare top-level one."""
    return "." in signer and (domain == signer or domain.endswith("." + signer))


def _our_results(message: Message, authserv_id: str) -> list[str]:
    """The Authentication-Results headers on top that carry `authserv_id`: none if the topmost
    does not (then whoever wrote them is not the server we trust)."""
    ours: list[str] = []
    for value in (str(header) for header in message.get_all("Authentication-Results") or []):
        server = value.split(";", 1)[0].split()
        if not server or server[0].lower() != authserv_id.lower():
            break
        ours.append(value)
    return ours


def _first_text(message: Message) -> str:
    for part in parts(message):
        if part.get_content_type() == "text/plain":
            return body_text(part, MAX_BODY_CHARS)
    return ""
