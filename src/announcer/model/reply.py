"""An attendee's answer to an invitation, as an iTIP REPLY carries it (RFC 5546 §3.2.3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Answer(StrEnum):
    """The PARTSTAT values a reply to an event may carry (RFC 5545 §3.2.12)."""

    ACCEPTED = "ACCEPTED"
    TENTATIVE = "TENTATIVE"
    DECLINED = "DECLINED"
    DELEGATED = "DELEGATED"

    @property
    def words(self) -> str:
        """How an organiser says it."""
        return {"ACCEPTED": "yes", "TENTATIVE": "maybe", "DECLINED": "no", "DELEGATED": "sent someone else"}[
            self.value
        ]


@dataclass(frozen=True)
class Reply:
    """One attendee's answer, and where it came from."""

    uid: str
    attendee: str  # the address answered for, lowercase
    name: str  # as the reply gives it (CN), shown safely
    answer: Answer
    stamp: datetime  # DTSTAMP, in UTC: the latest answer of an attendee counts
    sequence: int  # the version of the invitation answered
    sender: str  # the message's From address, lowercase ("" if none)
    sent_by: str  # SENT-BY: who may answer on the attendee's behalf, lowercase ("" if none)
    comment: str  # COMMENT, if the attendee wrote one
    source: str  # the file (and message) it was read from

    @property
    def genuine(self) -> bool:
        """Whether the message came from the attendee (or the one they let answer for them)."""
        return bool(self.sender) and self.sender in (self.attendee, self.sent_by)
