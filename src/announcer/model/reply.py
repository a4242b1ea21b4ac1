"""An attendee's answer to an invitation, as an iTIP REPLY carries it (RFC 5546 §3.2.3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from announcer.model.text import shown_safely

# The texts of a reply that are printed, and how many characters of each: an address is at most 254.
_SHOWN = {"attendee": 254, "name": 120, "sender": 254, "comment": 300, "source": 300, "doubt": 500}


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
    """One attendee's answer, and where it came from.

    Its texts are a stranger's and end up on the organiser's terminal: they are made fit for one
    line (`shown_safely`) here, as the reply is made, so that no reader of a reply can forget to.
    """

    uid: str  # the event answered; compared, never printed
    attendee: str  # the address answered for, lowercase
    name: str  # as the reply gives it (CN)
    answer: Answer
    stamp: datetime  # when it was answered, in UTC: its DTSTAMP, unless that claims a time after it arrived
    arrived: datetime  # when the mailbox received it, in UTC: of equal stamps, the later arrival counts
    sequence: int  # the version of the invitation answered
    sender: str  # the message's one From address, lowercase ("" if it has none, or several)
    comment: str  # COMMENT, if the attendee wrote one
    source: str  # the file (and message) it was read from
    doubt: str = ""  # why it is not the attendee's own answer ("" when it is)
    genuine: bool = field(init=False, default=False)  # see `__post_init__`

    def __post_init__(self) -> None:
        """Whether the message came from the attendee (its one From address is theirs) is decided
        on the addresses as they came, before they are made fit to show: two addresses that differ
        only in what showing replaces must not pass for one.

        SENT-BY does not make another sender genuine: it is what the message says about itself,
        so whoever can send mail could name themselves the attendee's delegate."""
        genuine = not self.doubt and bool(self.sender) and self.sender == self.attendee
        object.__setattr__(self, "genuine", genuine)
        for name, limit in _SHOWN.items():
            object.__setattr__(self, name, shown_safely(getattr(self, name), limit))
        if not genuine and not self.doubt:
            sent_by = self.sender or "no one named"
            object.__setattr__(self, "doubt", f"answers for {self.attendee} but was sent by {sent_by}")
