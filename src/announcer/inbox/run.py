"""One run of `inbox` over a mailbox: each message sorted and handled once, however often it
runs and wherever it is killed.

A message is known by its Message-ID (`reading.message_key`). Its change to the audience and the
record that it was handled are one transaction (`AudienceLedger.claim`), so a kill leaves both or
neither, and a message handled before is passed over (and, with `--move-to`, moved now if a
kill came between the record and the move). Nothing is deleted: `--move-to` moves what was
handled, by kind, never what was left alone or not read.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from announcer.audience.ledger import AudienceLedger
from announcer.inbox.reading import MAX_MESSAGE_BYTES, Refused, headers_of, message_key
from announcer.inbox.sorter import Context, Kind, Verdict, sort
from announcer.inbox.sources import Mailbox
from announcer.model.text import shown_safely

MOVE_BATCH = 100  # handled messages moved at once as the run goes: what it holds stays bounded


@dataclass(frozen=True)
class Handled:
    """One message this run handled, as the summary lists it."""

    source: str
    verdict: Verdict


@dataclass
class Summary:
    """What a run found of each kind, what it moved, and what needs a look."""

    counts: Counter[Kind] = field(default_factory=Counter)
    needs_look: int = 0  # each said to `each` as it came: a mailbox of any size keeps no list
    before: int = 0  # handled by an earlier run
    moved: int = 0


def read_inbox(
    mailbox: Mailbox,
    ledger: AudienceLedger,
    context: Context,
    *,
    move_to: str | None = None,
    each: Callable[[Handled], None] = lambda handled: None,
) -> Summary:
    """Sort and handle every message of `mailbox` not handled before; `each` hears of each one."""
    summary = Summary()
    to_move: list[str] = []
    for stored in mailbox.messages(MAX_MESSAGE_BYTES):
        try:
            key = message_key(headers_of(stored), stored)
        except Refused:
            key = message_key(None, stored)
        outcome = ledger.handled_as(key)
        if outcome is None:
            verdict = sort(stored, context)
            if not ledger.claim(key, f"{verdict.kind.value}: {verdict.detail}", verdict.change):
                continue  # another run took it meanwhile
            summary.counts[verdict.kind] += 1
            summary.needs_look += verdict.look
            each(Handled(shown_safely(stored.source, 300), verdict))
            moves = verdict.kind.handled
        else:
            summary.before += 1
            moves = outcome.split(":", 1)[0] in _HANDLED_KINDS
        if move_to and moves and stored.handle:
            to_move.append(stored.handle)
            if len(to_move) == MOVE_BATCH:
                mailbox.move(to_move, move_to)
                summary.moved += len(to_move)
                to_move.clear()
    if move_to and to_move:
        mailbox.move(to_move, move_to)
        summary.moved += len(to_move)
    return summary


_HANDLED_KINDS = frozenset(kind.value for kind in Kind if kind.handled)
