"""Spam complaints: RFC 5965 feedback reports (ARF), which a provider sends when a reader
marks our message as spam; the reader is left out at once (`ledger.complain`).

A report is a stranger's word too, so it must name a reader this workspace sent to, in a way
the ledger knows: our VERP address (its Original-Mail-From, the original's Return-Path), our
unsubscribe token in the original's List-Unsubscribe, or else an address (Original-Rcpt-To, the
original's To) that the delivery ledger sent to. Providers often redact the address (Yahoo,
Microsoft), which is why the token and the VERP address come first.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message
from email.parser import BytesHeaderParser

from announcer.inbox.naming import Naming, header_values, message_ids_of
from announcer.inbox.reading import HeadersAsWritten, parts, text_of

_HEADERS = BytesHeaderParser(policy=HeadersAsWritten())


@dataclass(frozen=True)
class Complaint:
    """What a feedback report means: the reader who complained, or why nobody is left out."""

    address: str | None
    feedback_type: str  # abuse, fraud, virus, not-spam, other (lower case)
    why: str


def is_arf(message: Message) -> bool:
    """An RFC 5965 report (multipart/report; report-type=feedback-report)."""
    return message.get_content_type() == "multipart/report" and (
        str(message.get_param("report-type", "")).lower() == "feedback-report"
    )


def read_complaint(message: Message, naming: Naming) -> Complaint:
    report, original = _report_and_original(message)
    kind = str(report.get("Feedback-Type", "")).strip().lower() if report is not None else ""
    if kind != "abuse":
        return Complaint(
            None, kind, f"a feedback report of type {text_of(kind or 'none', 40)}, not a complaint"
        )
    assert report is not None
    reader, token = naming.verp_reader(
        header_values(report, "Original-Mail-From") + header_values(original, "Return-Path")
    )
    if reader is not None:
        return Complaint(reader, kind, "by our VERP address")
    reader, token_2 = naming.unsubscribe_reader(" ".join(header_values(original, "List-Unsubscribe")))
    if reader is not None:
        return Complaint(reader, kind, "by the unsubscribe token of the message complained of")
    reader = naming.known_reader(
        header_values(report, "Original-Rcpt-To") + header_values(original, "To"),
        message_ids_of(original),
    )
    if reader is not None:
        return Complaint(reader, kind, "by its recipient and our message to them")
    if token or token_2:
        return Complaint(None, kind, "carries a token no send of ours wrote")
    return Complaint(None, kind, "names no reader we sent to (the provider may have redacted the address)")


def _report_and_original(message: Message) -> tuple[Message | None, Message]:
    """The machine-readable report's fields, and the original message's headers (empty if absent)."""
    report: Message | None = None
    original: Message | None = None
    for part in parts(message):
        kind = part.get_content_type()
        payload = part.get_payload()
        if kind == "message/feedback-report" and report is None:
            report = _fields(part, payload)
        elif original is not None:
            continue  # the first original is the one reported; what it holds is not looked at
        elif kind == "message/rfc822" and isinstance(payload, list) and payload:
            if isinstance(payload[0], Message):
                original = payload[0]
        elif kind == "text/rfc822-headers":
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                original = _HEADERS.parsebytes(data[:100_000])
    return report, original if original is not None else Message()


def _fields(part: Message, payload: object) -> Message:
    """The report's fields: the parser reads a message/* part as a message of its own."""
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        return payload[0]
    data = part.get_payload(decode=True)  # some senders encode it (base64)
    return _HEADERS.parsebytes(data[:100_000] if isinstance(data, bytes) else b"")
