"""Automatic replies (RFC 3834): out-of-office notices and their kind. Never a bounce: the
reader's mailbox exists and answers; they are listed, and nothing changes."""

from __future__ import annotations

import re
from email.message import Message

from announcer.inbox.reading import text_of

_SUBJECTS = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?(reply|response|antwort)|autoreply|"
    r"auto:|vacation|on vacation|abwesenheit|frånvaro|fraanvaro|absence|réponse automatique|"
    r"respuesta automática|risposta automatica|afwezig)",
    re.IGNORECASE,
)


def auto_reply_sign(message: Message) -> str:
    """What marks the message as an automatic reply ("" if nothing does)."""
    submitted = str(message.get("Auto-Submitted", "")).split(";", 1)[0].strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {text_of(submitted, 40)}"
    for header in ("X-Autoreply", "X-Autorespond"):
        if message.get(header) is not None:
            return header
    if str(message.get("Precedence", "")).strip().lower() == "auto_reply":
        return "Precedence: auto_reply"
    subject = text_of(message.get("Subject"), 200)
    if _SUBJECTS.match(subject):
        return f"its subject ({subject[:60]})"
    return ""
