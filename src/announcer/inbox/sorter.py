"""The classifier: what one message in the mailbox is, and what it changes in the audience.

In this order, so that what can change the audience is decided by what cannot be forged
cheaply: a delivery status notification (RFC 3464), a feedback report (RFC 5965), an RSVP
answer (an iTIP REPLY), an unsubscription mailed to the list's address, an automatic reply
(RFC 3834; one from a mail server is read as the bounce it may be), a bounce in a server's own
format (flufl.bounce), anything else. A message past a bound is refused and listed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from enum import StrEnum

from announcer.audience.ledger import AudienceLedger, How
from announcer.inbox import arf, dsn, mailto
from announcer.inbox.autoreply import auto_reply_sign
from announcer.inbox.naming import Naming
from announcer.inbox.reading import Refused, parsed, parts, text_of
from announcer.inbox.sources import Stored
from announcer.load.replies import CALENDAR_TYPES, replies_in
from announcer.model.reply import Reply


class Kind(StrEnum):
    """What a message is, as the summary counts it."""

    BOUNCE = "bounce"
    NOTICE = "delivery notice"  # a DSN that is no failure: delayed, relayed, delivered
    COMPLAINT = "complaint"
    UNSUBSCRIPTION = "unsubscription"
    AUTO_REPLY = "automatic reply"
    RSVP = "RSVP answer"
    OTHER = "other"
    UNREADABLE = "unreadable"

    @property
    def handled(self) -> bool:
        """Whether `inbox` deals with this kind itself, so `--move-to` moves it: not what it left
        alone, nor an RSVP answer, which stays where `announcer rsvps` reads it."""
        return self not in (Kind.OTHER, Kind.UNREADABLE, Kind.RSVP)


Change = Callable[[AudienceLedger], object]


@dataclass(frozen=True)
class Verdict:
    """What a message is, what it changes (made once, with the record that it was handled), and
    whether someone should look at it."""

    kind: Kind
    detail: str
    change: Change | None = None
    look: bool = False


@dataclass(frozen=True)
class Context:
    """What the classifier is told about the list."""

    naming: Naming
    unsubscribe_mailto: str | None
    authserv_id: str | None


def sort(stored: Stored, context: Context) -> Verdict:
    """The verdict on one message; never raises for anything the message holds."""
    try:
        message = parsed(stored)
        return _sorted(message, stored, context)
    except Refused as exc:
        return Verdict(Kind.UNREADABLE, f"not read: {exc}", look=True)
    except RecursionError:
        return Verdict(Kind.UNREADABLE, "not read: its parts are nested too deeply", look=True)


def _sorted(message: Message, stored: Stored, context: Context) -> Verdict:
    naming = context.naming
    if dsn.is_dsn(message):
        return _bounce(dsn.read_bounce(message, naming, standard=True))
    if arf.is_arf(message):
        return _complaint(arf.read_complaint(message, naming))
    if _has_calendar(message):
        answers = [item for item in replies_in(stored) if isinstance(item, Reply)]
        if answers:
            said = "; ".join(f"{reply.answer.words} from {reply.attendee}" for reply in answers[:3])
            return Verdict(Kind.RSVP, f"{said} (announcer rsvps counts it)")
    if mailto.is_to(message, context.unsubscribe_mailto):
        return _unsubscription(mailto.read_unsubscription(message, naming, context.authserv_id))
    from_a_server = dsn.looks_like_bounce(message)
    if not from_a_server and (sign := auto_reply_sign(message)):
        return Verdict(Kind.AUTO_REPLY, f"{sign}: {_about(message)}")
    if from_a_server:
        bounce = dsn.read_bounce(message, naming, standard=False)
        if bounce.failed or bounce.address:
            return _bounce(bounce)
        if sign := auto_reply_sign(message):
            return Verdict(Kind.AUTO_REPLY, f"{sign}: {_about(message)}")
        return Verdict(
            Kind.OTHER, f"from a mail server, but no bounce read in it: {_about(message)}", look=True
        )
    return Verdict(Kind.OTHER, f"left alone: {_about(message)}", look=True)


def _bounce(bounce: dsn.Bounce) -> Verdict:
    status = (
        f" ({bounce.status}{': ' + bounce.diagnostic if bounce.diagnostic else ''})" if bounce.status else ""
    )
    if not bounce.failed:
        return Verdict(Kind.NOTICE, bounce.why)
    if bounce.address is None:
        return Verdict(Kind.BOUNCE, f"{bounce.why}{status}: not counted", look=True)
    address, code, diagnostic = bounce.address, bounce.status, bounce.diagnostic
    return Verdict(
        Kind.BOUNCE,
        f"{address}{status}, {bounce.why}",
        lambda ledger: ledger.bounce(address, code, diagnostic),
    )


def _complaint(complaint: arf.Complaint) -> Verdict:
    if complaint.feedback_type != "abuse":
        return Verdict(Kind.OTHER, complaint.why, look=True)
    if complaint.address is None:
        return Verdict(Kind.COMPLAINT, f"{complaint.why}: nobody left out", look=True)
    address, why = complaint.address, complaint.why
    return Verdict(
        Kind.COMPLAINT, f"{address}, {why}: left out", lambda ledger: ledger.complain(address, why)
    )


def _unsubscription(found: mailto.Unsubscription) -> Verdict:
    if found.address is None:
        return Verdict(Kind.UNSUBSCRIPTION, found.why, look=True)
    address, why = found.address, found.why
    return Verdict(
        Kind.UNSUBSCRIPTION,
        f"{address}, {why}: unsubscribed",
        lambda ledger: ledger.unsubscribe(address, How.MAILTO, f"mailed, {why}"),
    )


def _has_calendar(message: Message) -> bool:
    return any(part.get_content_type() in CALENDAR_TYPES for part in parts(message))


def _about(message: Message) -> str:
    """The message in a few words: whom from, and its subject."""
    return f"from {text_of(message.get('From'), 80) or 'nobody'}: {text_of(message.get('Subject'), 80)!r}"
