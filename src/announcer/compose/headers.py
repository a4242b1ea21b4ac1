"""Header fields on the wire, built so that whatever text they carry reads back as that text.

Mail readers decode RFC 2047 encoded words wherever they find `=?`, leniently (white space
inside the word, any charset, a payload that decodes to a line break), and so does the stdlib
when it is handed a value to write. A header is therefore never built by handing input text to
a parser: text is written as it is only when it is printable ASCII holding no `=?` (nothing
there for a reader to decode), and otherwise wholly as encoded words of our own, so that a
reader decodes exactly the characters it was given and nothing can become a line or a header.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from email import policy
from email.header import Header
from urllib.parse import quote

# CRLF, RFC 2045's 76-character encoded lines, and raw headers (List-Unsubscribe) left as folded.
WIRE = policy.SMTP.clone(max_line_length=76, refold_source="none")
CRLF = b"\r\n"
LINE = 76  # characters an encoded header keeps within, as the bodies' encoded lines do
FOLDED = 78  # characters RFC 5322 asks a header line to keep within
# Every header a message of ours carries (DKIM-Signature when it is signed), in lower case: a
# reader that finds another has decoded one out of the text, which this module exists to prevent.
HEADERS_WRITTEN = frozenset(
    (
        "from", "to", "subject", "date", "message-id", "reply-to", "content-language", "list-id",
        "list-unsubscribe", "list-unsubscribe-post", "feedback-id", "mime-version", "content-type",
        "dkim-signature",
    )
)  # fmt: skip
FEEDBACK_SENDER = "announcer"  # Feedback-ID's last field: who sends (Gmail's SenderId)
_NOT_IN_A_FEEDBACK_FIELD = re.compile(r"[^A-Za-z0-9._-]+")
# A display name written as it is: letters, digits, spaces and RFC 5322's atext punctuation.
_ATOM_TEXT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?: [A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def one_line(text: str) -> str:
    """`text` with every control character, lone surrogate and line or paragraph separator shown as U+FFFD.

    The model refuses them in anything that reaches a header; this makes the header safe by
    itself, whatever reaches it.
    """
    if text.isascii() and text.isprintable():
        return text
    return "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") else c for c in text)


def literal(text: str) -> bool:
    """Whether `text` may stand in a header as written: printable ASCII, nothing to decode."""
    return text.isascii() and text.isprintable() and "=?" not in text


def encoded_words(text: str) -> list[str]:
    """`text` as RFC 2047 encoded words (UTF-8, base64), each within 75 characters, whole characters."""
    chunks, chunk = [], b""
    for character in one_line(text):
        encoded = character.encode()
        if len(chunk) + len(encoded) > 45:  # 45 bytes: 60 in base64, 72 with the word's marks
            chunks.append(chunk)
            chunk = b""
        chunk += encoded
    chunks.append(chunk)
    return [f"=?utf-8?b?{base64.b64encode(chunk).decode()}?=" for chunk in chunks]


def unstructured(field: str, text: str) -> bytes:
    """`Field: text` folded for the wire (a Subject): literal text folded at its spaces, any other
    wholly in encoded words, spaces included (readers drop the white space between encoded words,
    so words left outside would lose their spaces)."""
    text = one_line(text)
    if literal(text):
        return WIRE.fold_binary(*WIRE.header_store_parse(field, text))  # nothing in it to decode
    return (
        f"{field}: " + Header(text, "utf-8", header_name=field).encode(linesep="\r\n", maxlinelen=LINE)
    ).encode("ascii") + CRLF


def mailbox(field: str, name: str, address: str) -> bytes:
    """`Field: name <address>` (a From, a To, a List-Id): the name as an atom, a quoted string or
    encoded words, whichever reads back as written and keeps the line within bounds."""
    name = one_line(name)
    if not name:
        return f"{field}: {address}".encode() + CRLF
    if literal(name):
        shown = (
            name if _ATOM_TEXT.fullmatch(name) else '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        )
        line = f"{field}: {shown} <{address}>"
        if len(line) <= FOLDED:
            return line.encode() + CRLF
    lines = [
        f"{field}: {word}" if index == 0 else f" {word}" for index, word in enumerate(encoded_words(name))
    ]
    if len(lines[-1]) + len(address) + 3 > FOLDED:
        lines.append("")
    lines[-1] += f" <{address}>"
    return "\r\n".join(lines).encode() + CRLF


def feedback_id(campaign: str, customer: str, mail_type: str) -> bytes:
    """`Feedback-ID: campaign:customer:mailtype:announcer` for Gmail's complaint feedback loop,
    which reports spam complaints counted by each field. Each field is plain letters, digits and
    `._-` (a colon would split it), at most 60 characters: names of sends, never of readers."""
    fields = [
        _NOT_IN_A_FEEDBACK_FIELD.sub("-", field).strip("-")[:60] or "-"
        for field in (campaign, customer, mail_type)
    ]
    return f"Feedback-ID: {':'.join(fields)}:{FEEDBACK_SENDER}".encode() + CRLF


def mailto_unsubscribe(address: str, token: str | None) -> str:
    """The List-Unsubscribe mailto (RFC 6068, RFC 2369): `subject=unsubscribe%20TOKEN` when the
    reader has a token, so whoever's account mails it, the inbox knows whom it unsubscribes."""
    subject = quote(f"unsubscribe {token}" if token else "unsubscribe", safe="")
    return f"mailto:{quote(address, safe=_MAILTO_ADDRESS)}?subject={subject}"


# What an address keeps as it is in a mailto: RFC 6068's unreserved and those of its some-delims
# that nothing reading a List-Unsubscribe takes for its own; the rest is percent-encoded, as
# RFC 6068 allows anywhere: `#%&/=?^`{|}` and also `,` (which separates the header's URIs), `()`
# (a header comment) and `;:`.
_MAILTO_ADDRESS = "!$'*+@"
