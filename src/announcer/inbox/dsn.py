"""Delivery status notifications: which reader a bounce is about, and whether it is one.

A DSN is a stranger's word: anyone can send one. So a bounce only ever adds to a reader's bounce
score (`audience.bounces`), never unsubscribes; and it names its reader in one of two ways:

- exactly, by our VERP address: the DSN went to `bounces+TOKEN@…`, the envelope sender of one
  reader's message, and the token is one a send of this workspace wrote (`ledger.address_of`);
- else by its Final-Recipient or Original-Recipient (RFC 3464), only if the delivery ledger sent
  to that address.

`Action: failed` is a bounce; delayed, delivered, relayed and expanded are not (a delay notice
says the server is still trying). A DSN that is not RFC 3464's (Exim's, qmail's, Exchange's
older forms) is read with flufl.bounce's detectors, which know the formats real servers send.
"""

from __future__ import annotations

import copy
import logging
import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

from flufl.bounce import all_failures

from announcer.inbox.naming import ENVELOPE_HEADERS, Naming, addresses_in, header_values, quoted_message_ids
from announcer.inbox.reading import parts, text_of

# flufl.bounce logs a detector's failure with its traceback (on stderr, when nothing else
# handles its log): a stranger's message must never print one. `_heuristic` says it in words.
logging.getLogger("flufl.bounce").addHandler(logging.NullHandler())
logging.getLogger("flufl.bounce").propagate = False

MAX_RECIPIENTS = 50  # per-recipient blocks read of one DSN: ours go to one reader each
_STATUS = re.compile(r"\b([245])\.(\d{1,3})\.(\d{1,3})\b")
_BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailer|mdaemon)@", re.IGNORECASE)
_BOUNCE_SUBJECTS = re.compile(
    r"undeliver|delivery (status notification|has failed|failure)|failure notice|returned mail|"
    r"mail delivery (failed|failure|subsystem)|could not be delivered|unzustellbar|olevererbar|"
    r"non remis|nicht zugestellt",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Recipient:
    """One recipient a DSN reports on."""

    address: str  # Original-Recipient if given, else Final-Recipient (lower case); "" if neither
    action: str  # failed, delayed, delivered, relayed, expanded (lower case)
    status: str  # RFC 3463's `5.1.1`, "" if it gives none
    diagnostic: str


@dataclass(frozen=True)
class Bounce:
    """What a DSN means for the audience: the reader and the failure, or why nothing is done."""

    address: str | None  # the reader whose bounce counts; None: nothing counts
    status: str
    diagnostic: str
    failed: bool  # a failure (not a delay or a success notice)
    why: str  # how the reader was found, or why none was


def is_dsn(message: Message) -> bool:
    """An RFC 3464 report (multipart/report; report-type=delivery-status)."""
    return message.get_content_type() == "multipart/report" and (
        str(message.get_param("report-type", "")).lower() == "delivery-status"
    )


def looks_like_bounce(message: Message) -> bool:
    """A message a mail server sent about a failed delivery, in a form not RFC 3464's."""
    senders = addresses_in(header_values(message, "From"))
    if any(_BOUNCE_SENDERS.match(sender) for sender in senders):
        return True
    return bool(_BOUNCE_SUBJECTS.search(text_of(message.get("Subject"), 200)))


def recipients(message: Message) -> list[Recipient]:
    """The per-recipient blocks of an RFC 3464 report (at most MAX_RECIPIENTS)."""
    found: list[Recipient] = []
    for part in parts(message):
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        for block in blocks[1 : MAX_RECIPIENTS + 1]:  # the first holds the per-message fields
            if not isinstance(block, Message):
                continue
            original = addresses_in(header_values(block, "Original-Recipient"))
            final = addresses_in(header_values(block, "Final-Recipient"))
            status = _STATUS.search(str(block.get("Status", "")))
            found.append(
                Recipient(
                    address=(original or final or [""])[0],
                    action=str(block.get("Action", "")).strip().lower(),
                    status=".".join(status.groups()) if status else "",
                    diagnostic=text_of(block.get("Diagnostic-Code", ""), 200),
                )
            )
        break  # one report a message
    return found


def read_bounce(message: Message, naming: Naming, *, standard: bool) -> Bounce:
    """The bounce a DSN (`standard`: RFC 3464's; else any server's, through flufl.bounce) counts."""
    reported = recipients(message) if standard else _heuristic(message)
    failures = [recipient for recipient in reported if recipient.action == "failed"]
    if not failures:
        what = ", ".join(sorted({recipient.action or "no action" for recipient in reported}))
        return Bounce(None, "", "", False, f"not a failure ({what or 'it names no recipient'})")
    reader, token = naming.verp_reader(header_values(message, *ENVELOPE_HEADERS))
    if token is not None:
        failure = failures[0]
        if reader is None:
            return Bounce(
                None, failure.status, failure.diagnostic, True, "to a VERP address no send of ours wrote"
            )
        return Bounce(reader, failure.status, failure.diagnostic, True, "by our VERP address")
    quoted = quoted_message_ids(parts(message))
    for failure in failures:
        known = naming.known_reader([failure.address], quoted) if failure.address else None
        if known is not None:
            return Bounce(
                known, failure.status, failure.diagnostic, True, "by its recipient and our message to them"
            )
    named = ", ".join(failure.address for failure in failures if failure.address) or "nobody"
    return Bounce(
        None,
        failures[0].status,
        failures[0].diagnostic,
        True,
        f"names {named}, but returns no message we sent there (anyone can write an address)",
    )


def _heuristic(message: Message) -> list[Recipient]:
    """The recipients flufl.bounce's detectors find, as failed (permanent: 5.0.0, else 4.0.0)."""
    if not getaddresses([str(message.get("From", ""))]):
        # Without a From, one of flufl.bounce's detectors (Yale's) fails, and a detector failing
        # stops the ones after it (qmail's, Postfix's own): they read a copy with an empty From.
        message = copy.deepcopy(message)
        del message["From"]
        message["From"] = "<>"
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a detector failing on a stranger's message reads nothing
        return []
    return [
        *(Recipient(_address(value), "failed", "5.0.0", "") for value in sorted(permanent)[:MAX_RECIPIENTS]),
        *(Recipient(_address(value), "delayed", "4.0.0", "") for value in sorted(temporary)[:MAX_RECIPIENTS]),
    ]


def _address(value: bytes | str) -> str:
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    return text.strip().strip("<>").lower()[:320]
