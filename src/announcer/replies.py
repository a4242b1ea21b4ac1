"""Counting the answers to one event: the latest answer of each attendee, and what to doubt.

A reply counts when it is for this event and its one From address is the attendee's own (the
loader decides which attendee a message answers for, and why one is not genuine). Of several
answers of one attendee the latest counts: by DTSTAMP, which the loader does not believe when it
claims a time after the message arrived; of equal stamps, the later arrival; of equal arrivals, the
later in the mailbox. Everything else is reported, never silently dropped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from announcer.errors import Problem
from announcer.model.reply import Answer, Reply


@dataclass
class Tally:
    """The answers to one event, and the replies that were not counted."""

    answers: dict[str, Reply] = field(default_factory=dict)  # the latest genuine answer per attendee
    forged: list[Reply] = field(default_factory=list)  # not the attendee's own (each says why: `doubt`)
    replaced: int = 0  # earlier answers of an attendee who answered again
    other_events: Counter[str] = field(default_factory=Counter)  # UID → replies for other events
    problems: list[Problem] = field(default_factory=list)  # messages not read, or refused, and why
    sequence: int = 0  # the version of the event the last real send carried
    invited: list[str] | None = None  # whom the journal says received the event (None: not known)

    def count(self, answer: Answer) -> int:
        return sum(1 for reply in self.answers.values() if reply.answer is answer)

    @property
    def room(self) -> int:
        """Chairs to plan for: everyone who said yes or maybe."""
        return self.count(Answer.ACCEPTED) + self.count(Answer.TENTATIVE)

    @property
    def lunch(self) -> int:
        """Lunches to order: everyone who said yes."""
        return self.count(Answer.ACCEPTED)

    @property
    def outdated(self) -> list[Reply]:
        """Answers to an earlier version (before the time or place changed)."""
        return [reply for reply in self.answers.values() if reply.sequence < self.sequence]

    @property
    def uninvited(self) -> list[Reply]:
        """Answers from people the journal does not know as recipients of the event."""
        if self.invited is None:
            return []
        known = set(self.invited)
        return [reply for reply in self.answers.values() if reply.attendee not in known]

    @property
    def unanswered(self) -> list[str] | None:
        """Who received the event and has not answered (None when the journal does not know)."""
        if self.invited is None:
            return None
        return [address for address in self.invited if address not in self.answers]


def tally(found: Iterable[Reply | Problem], uid: str, sequence: int, invited: list[str] | None) -> Tally:
    """The answers to the event `uid` among the replies `found` (in the mailbox's order)."""
    result = Tally(sequence=sequence, invited=invited)
    for item in found:
        if isinstance(item, Problem):
            result.problems.append(item)
        elif item.uid != uid:
            result.other_events[item.uid] += 1
        elif not item.genuine:
            result.forged.append(item)
        else:
            earlier = result.answers.get(item.attendee)
            if earlier is not None:
                result.replaced += 1
                if _recency(earlier) > _recency(item):
                    continue  # the one counted is later; of equals, the later in the mailbox wins
            result.answers[item.attendee] = item
    return result


def _recency(reply: Reply) -> tuple[datetime, datetime]:
    """What orders an attendee's answers: when answered, then when arrived (not SEQUENCE: the
    sender sets it, and a stamp of equal worth must not let them pick the winner)."""
    return reply.stamp, reply.arrived
