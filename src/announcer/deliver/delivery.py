"""Messages to a transport exactly once: journal first, retries with back-off, a steady pace."""

from __future__ import annotations

import itertools
import multiprocessing
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from multiprocessing.pool import AsyncResult
from multiprocessing.synchronize import Event as EventType
from types import FrameType
from typing import TypeVar

from announcer.compose.message import Outgoing
from announcer.deliver.journal import Entry, Journal, Outcome
from announcer.deliver.lanes import Lanes
from announcer.deliver.transports.base import Transport
from announcer.errors import DeliveryError, InDoubt, JournalError, PermanentFailure, TemporaryFailure
from announcer.model.recipient import Recipient

_RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|min|h|hour))?\s*")
_PER_MINUTE = {"s": 60.0, "sec": 60.0, "min": 1.0, "h": 1 / 60, "hour": 1 / 60}


class Resend(StrEnum):
    """Whom a re-run sends to again, besides those never reached."""

    NOBODY = "nobody"  # skip the delivered, report the in doubt
    IN_DOUBT = "in-doubt"  # also those an interrupted run left in doubt
    EVERYONE = "everyone"


def per_minute(rate: str) -> float:
    """A rate like `120/min`, `2/s` or `5000/h` (a bare number: per minute) as messages per minute."""
    match = _RATE.fullmatch(rate)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{rate!r}: give a rate like 120/min")
    return float(match.group(1)) * _PER_MINUTE[match.group(2) or "min"]


@dataclass(frozen=True)
class Pace:
    """How hard to try and how fast to go."""

    retries: int = 4
    retry_delay: float = 5.0  # seconds before the first retry; doubled for each next one
    per_minute: float | None = None
    give_up_after: int = 5  # recipients in a row failed for now or in doubt: the server is not well


@dataclass
class Summary:
    """How a run went, recipient by recipient where it matters."""

    delivered: int = 0
    skipped: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    in_doubt: list[tuple[str, str]] = field(default_factory=list)
    interrupted: bool = False
    gave_up: str | None = None  # why the run stopped early: the server kept failing

    @property
    def complete(self) -> bool:
        return not (self.failed or self.in_doubt or self.interrupted)


class _Stopped(Exception):
    """Raised inside the transport's context when the user asked to stop, or the server keeps failing."""


class Deliverer:
    """Delivers one message per recipient through a transport, recording each step in the journal.

    The journal is written before a message goes out (in flight) and after (delivered or
    failed); a crash between the two leaves that one recipient in doubt, never re-sent unasked.
    Recipients go in batches, each reserved in the journal first (see `Journal.reserve`), and
    over as many connections as the transport keeps, each message composed by the thread that
    sends it, once the journal says it is wanted.
    """

    def __init__(
        self,
        transport: Transport,
        compose: Callable[[Recipient], Outgoing],
        *,
        journal: Journal | None = None,
        key: str = "",
        pace: Pace = Pace(),
        resend: Resend = Resend.NOBODY,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        processes: int = 1,
    ) -> None:
        self.transport = transport
        self.processes = processes  # a transport that forks (a dry run) may be driven from this many
        self.compose = compose
        self.journal = journal
        self.key = key
        self.pace = pace
        self.resend = resend
        self.sleep = sleep
        self.clock = clock
        self.summary = Summary()
        self._last_start: float | None = None
        self._failures_in_a_row = 0
        self._stop = StopRequest()
        self._left_unsent = False
        self._lock = threading.Lock()  # the summary and the pace, shared by the sending threads

    def deliver_all(
        self,
        recipients: Iterable[Recipient],
        *,
        announce: Callable[[str], None] = lambda text: None,
        advance: Callable[[], None] = lambda: None,
    ) -> Summary:
        """Deliver to each recipient, inside the transport; Ctrl-C stops between messages.

        A run that stops early leaves the transport aborted (a dry run then publishes nothing).
        """
        count = self.transport.connections
        lanes = Lanes(count, partial(self._send, advance=advance), ahead=2 * count) if count > 1 else None
        try:
            with self.transport, stop_between_messages(announce) as self._stop:
                try:
                    if self.processes > 1 and self.transport.forks and self.journal is None:
                        self._deliver_forked(recipients, advance)
                    else:
                        self._deliver_batches(recipients, lanes, advance)
                except _Stopped:
                    if lanes is not None:  # asked to stop: the messages in hand finish first
                        lanes.drop()
                        lanes.join()
                    raise
                finally:
                    if lanes is not None:  # on an error: what has not started never will
                        lanes.drop()
        except _Stopped:
            self.summary.interrupted = True
        finally:
            if lanes is not None:  # the transport is closed or aborted: the threads end at once
                lanes.join()
            if self.journal is not None:
                with suppress(JournalError):  # left, they are this boot's: not in doubt, only untidy
                    self.journal.release(self.key)
        return self.summary

    def _deliver_batches(
        self, recipients: Iterable[Recipient], lanes: Lanes[Recipient] | None, advance: Callable[[], None]
    ) -> None:
        """Reserve each batch, then send it: inline, or handed to the sending threads."""
        for batch in _batches(iter(recipients), self._batch_size()):
            wanted = []
            known = self._journal_lines(batch)
            for recipient in batch:
                if self._settled_before(recipient, known.get(recipient.email.lower())):
                    advance()
                else:
                    wanted.append(recipient)
            if self.journal is not None and wanted:
                self.journal.reserve(self.key, [recipient.email for recipient in wanted])
            for recipient in wanted:
                if self._stopping():
                    raise _Stopped
                if lanes is None:
                    self._send(recipient, advance)
                else:
                    lanes.put(recipient)
        if lanes is not None:
            lanes.finish()
        if self._left_unsent:
            raise _Stopped

    def _deliver_forked(self, recipients: Iterable[Recipient], advance: Callable[[], None]) -> None:
        """On every core: forked processes compose and write batches of the list, each message
        numbered in the list's order; at most two batches a process wait their turn, and Ctrl-C
        stops between batches (what was not written is never published)."""
        global _FORKED
        context = multiprocessing.get_context("fork")
        stop = context.Event()
        _FORKED = (self.compose, self.transport, stop)
        pending: deque[AsyncResult[int]] = deque()

        def settle(result: AsyncResult[int]) -> None:
            written = result.get()
            self.summary.delivered += written
            for _ in range(written):
                advance()

        pool = context.Pool(self.processes, initializer=_leave_interrupts_to_the_parent)
        try:
            for batch in _batches(enumerate(recipients, 1), _FORKED_BATCH):
                if self._stopping():
                    raise _Stopped
                pending.append(pool.apply_async(_write_batch, (batch,)))
                if len(pending) >= 2 * self.processes:
                    settle(pending.popleft())
            while pending:
                settle(pending.popleft())
        finally:
            # Batches not begun are skipped, and each process ends by itself: a process killed
            # (Pool.terminate) while it hands back a result leaves the result queue locked for good.
            stop.set()
            pool.close()
            pool.join()
            _FORKED = None

    def _batch_size(self) -> int:
        """Recipients reserved at a time: 100, or about ten seconds' worth at a slow pace."""
        if self.pace.per_minute is None:
            return _BATCH
        return max(1, min(_BATCH, int(self.pace.per_minute / 6)))

    def _stopping(self) -> bool:
        return self._stop.requested or self.summary.gave_up is not None

    def deliver(self, recipient: Recipient) -> None:
        """Send `recipient` their message unless the journal says it already went (or may have)."""
        if self.journal is None or not self._settled_before(
            recipient, self.journal.entry(self.key, recipient.email)
        ):
            self._send(recipient)

    def _send(self, recipient: Recipient, advance: Callable[[], None] = lambda: None) -> None:
        """Send one message (unless the run is stopping), then `advance` the progress shown."""
        if self._stopping():  # asked to stop while this one waited its turn: it never starts
            self._left_unsent = True
            return
        self._try(recipient)
        with self._lock:
            advance()

    def _try(self, recipient: Recipient) -> None:
        """Compose and send one message, retrying what may be retried, journaling each step."""
        message = self.compose(recipient)
        message_id = message.message_id
        in_flight = lambda: self._write(recipient, message_id, Outcome.IN_FLIGHT, "")  # noqa: E731
        for attempt in range(self.pace.retries + 1):
            self._keep_pace()
            try:
                reply = self.transport.send(message, in_flight)
            except TemporaryFailure as failure:
                self._write(recipient, message_id, Outcome.FAILED, failure.reply)
                if attempt < self.pace.retries:
                    self.sleep(self.pace.retry_delay * 2**attempt)
                    continue
                self._count_failure(recipient, failure.reply, self.summary.failed)
            except PermanentFailure as failure:
                self._write(recipient, message_id, Outcome.FAILED, failure.reply)
                with self._lock:
                    self.summary.failed.append((recipient.email, failure.reply))
            except InDoubt as doubt:
                self._write(recipient, message_id, Outcome.IN_FLIGHT, doubt.reply)
                self._count_failure(recipient, doubt.reply, self.summary.in_doubt)
            except DeliveryError as error:  # the transport cannot go on (a reconnect refused)
                self._write(recipient, message_id, Outcome.FAILED, str(error))
                raise
            else:
                self._write(recipient, message_id, Outcome.DELIVERED, reply)
                with self._lock:
                    self.summary.delivered += 1
                    self._failures_in_a_row = 0
            return

    def _count_failure(self, recipient: Recipient, reply: str, listed: list[tuple[str, str]]) -> None:
        """A recipient left failed for now or in doubt; after `give_up_after` in a row, the run stops."""
        with self._lock:
            listed.append((recipient.email, reply))
            self._failures_in_a_row += 1
            if self._failures_in_a_row >= self.pace.give_up_after:
                self.summary.gave_up = f"{self._failures_in_a_row} recipients in a row, the last: {reply}"

    def _journal_lines(self, batch: list[Recipient]) -> dict[str, Entry]:
        """What the journal holds of this batch, unless it is not asked (no journal, `--resend`)."""
        if self.journal is None or self.resend is Resend.EVERYONE:
            return {}
        return self.journal.entries_of(self.key, [recipient.email for recipient in batch])

    def _settled_before(self, recipient: Recipient, entry: Entry | None) -> bool:
        """Whether an earlier run already settled this recipient, as its journal `entry` says
        (counted as skipped or in doubt)."""
        if entry is None or self.resend is Resend.EVERYONE:
            return False
        if entry.outcome is Outcome.DELIVERED:
            self.summary.skipped += 1
            return True
        if entry.outcome is Outcome.IN_FLIGHT and self.resend is not Resend.IN_DOUBT:
            reason = entry.reply or "an earlier run stopped while sending it"
            self.summary.in_doubt.append((recipient.email, f"in doubt since {entry.at}: {reason}"))
            return True
        return False

    def _write(self, recipient: Recipient, message_id: str, outcome: Outcome, reply: str) -> None:
        if self.journal is not None:
            self.journal.record(self.key, recipient.email, message_id, outcome, reply)

    def _keep_pace(self) -> None:
        """Wait so that no more than `per_minute` messages start in any minute."""
        if self.pace.per_minute is None:
            return
        gap = 60.0 / self.pace.per_minute
        with self._lock:
            now = self.clock()
            if self._last_start is not None and now - self._last_start < gap:
                self.sleep(gap - (now - self._last_start))
                now = self.clock()
            self._last_start = now


_BATCH = 100
_FORKED_BATCH = 200
# What forked processes compose and write with: set before the pool forks, so never pickled.
_FORKED: tuple[Callable[[Recipient], Outgoing], Transport, EventType] | None = None
T = TypeVar("T")


def _batches(items: Iterator[T], size: int) -> Iterator[list[T]]:
    while batch := list(itertools.islice(items, size)):
        yield batch


def _write_batch(batch: list[tuple[int, Recipient]]) -> int:
    """In a forked process: compose and write each numbered recipient's message."""
    assert _FORKED is not None
    compose, transport, stop = _FORKED
    if stop.is_set():  # the run stopped while this batch waited its turn
        return 0
    for number, recipient in batch:
        transport.write(number, compose(recipient))
    return len(batch)


def _leave_interrupts_to_the_parent() -> None:
    """Ctrl-C reaches the whole process group: the parent decides when to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class StopRequest:
    """Set by the first Ctrl-C (or SIGTERM): finish the message in hand, then stop."""

    def __init__(self) -> None:
        self.requested = False


@contextmanager
def stop_between_messages(announce: Callable[[str], None]) -> Iterator[StopRequest]:
    """Ctrl-C stops after the current message, so none is half-sent; a second Ctrl-C stops at once."""
    stop = StopRequest()

    def handle(number: int, frame: FrameType | None) -> None:
        if stop.requested and number == signal.SIGINT:
            raise KeyboardInterrupt
        stop.requested = True
        announce("stopping after the current message (Ctrl-C again to stop at once)")

    previous = {number: signal.signal(number, handle) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
