"""Messages to a transport exactly once: journal first, retries with back-off, a steady pace."""

from __future__ import annotations

import ctypes
import itertools
import multiprocessing
import os
import pickle
import re
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import TypeVar, cast

from announcer.compose.message import Outgoing
from announcer.deliver.lanes import Lanes
from announcer.deliver.ledger import Entry, Ledger, Outcome
from announcer.deliver.transports.base import Transport
from announcer.errors import DeliveryError, InDoubt, JournalError, PermanentFailure, TemporaryFailure
from announcer.model.recipient import Recipient
from announcer.model.text import excerpt

_RATE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(?:/\s*(s|sec|min|h|hour))?\s*")
_PER_MINUTE = {"s": 60.0, "sec": 60.0, "min": 1.0, "h": 1 / 60, "hour": 1 / 60}


class Resend(StrEnum):
    """Whom a re-run sends to again, besides those never reached."""

    NOBODY = "nobody"  # skip the delivered, report the in doubt
    IN_DOUBT = "in-doubt"  # also those an interrupted run left in doubt
    EVERYONE = "everyone"


# The rates a pace may keep, in messages a minute: one slower than one an hour waits for hours
# between two messages (and past what a sleep can wait), one faster than 1,000 a second is none.
SLOWEST_RATE, FASTEST_RATE = 1 / 60, 60_000.0


def per_minute(rate: str) -> float:
    """A rate like `120/min`, `2/s` or `5000/h` (a bare number: per minute) as messages per minute,
    from one an hour to 1,000 a second."""
    match = _RATE.fullmatch(rate)
    if not match:
        raise ValueError(f"{excerpt(rate)}: give a rate like 120/min")
    value = float(match.group(1)) * _PER_MINUTE[match.group(2) or "min"]
    if not SLOWEST_RATE <= value <= FASTEST_RATE:  # nan and inf too
        raise ValueError(f"{excerpt(rate)}: give a rate from 1/h to {FASTEST_RATE / 60:,.0f}/s")
    return value


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
    elsewhere: int = 0  # held by a run on another machine of a shared journal: its share
    failed: list[tuple[str, str]] = field(default_factory=list)
    in_doubt: list[tuple[str, str]] = field(default_factory=list)
    in_doubt_before: int = 0  # in doubt since an earlier run, which told them: counted, not told again
    # Of `in_doubt`, each address (lower case) with the time of its line: for `Ledger.mark_told`
    # once the user has read them.
    doubts: dict[str, str] = field(default_factory=dict)
    interrupted: bool = False
    gave_up: str | None = None  # why the run stopped early: the server kept failing
    journal_error: str | None = None  # why the run stopped early: the journal could not be written
    # Outcomes the journal could not record (address, what happened): it shows them as it had them.
    unrecorded: list[tuple[str, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return not (self.failed or self.in_doubt or self.interrupted or self.journal_error)

    @property
    def anything_went(self) -> bool:
        """Whether any message was handed to the server this run (delivered, refused or in doubt)."""
        return bool(self.delivered or self.failed or self.in_doubt or self.unrecorded)


def stopped_by_journal(error: str) -> str:
    """What a run says when its journal cannot be written after something went."""
    return (
        f"{error}: the send stopped there, as nothing goes out that the journal cannot record; "
        "once it can be written, run the same command again to send the rest"
    )


class _Stopped(Exception):
    """Raised inside the transport's context when the user asked to stop, or the server keeps failing."""


class Deliverer:
    """Delivers one message per recipient through a transport, recording each step in the journal.

    The journal is written before a message goes out (in flight) and after (delivered or
    failed); a crash between the two leaves that one recipient in doubt, never re-sent unasked.
    Recipients go in batches, each reserved in the journal first (see `Ledger.reserve`), and
    over as many connections as the transport keeps, each message composed by the thread that
    sends it, once the journal says it is wanted.
    """

    def __init__(
        self,
        transport: Transport,
        compose: Callable[[Recipient], Outgoing],
        *,
        journal: Ledger | None = None,
        key: str = "",
        pace: Pace = Pace(),
        resend: Resend = Resend.NOBODY,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        processes: int = 1,
    ) -> None:
        self.transport = transport
        self.processes = processes  # a dry run's writers, or connections each in a process of its own
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
        self._told: set[tuple[str, str]] = set()  # doubts an earlier run told (address, line's time)
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
        lanes: Lanes[Recipient] | None = None
        lost: JournalError | None = None
        try:
            with self.transport, stop_between_messages(announce) as self._stop:
                shares = self.transport.split(self.processes) if self.processes > 1 else []
                if shares:
                    self._deliver_in_processes(recipients, shares, advance)
                else:
                    if (count := self.transport.connections) > 1:
                        lanes = Lanes(count, partial(self._send, advance=advance), ahead=2 * count)
                    self._deliver_batches(recipients, lanes, advance)
        except _Stopped:
            self.summary.interrupted = True
        except JournalError as error:
            lost = error
        finally:
            if lanes is not None:  # the transport is closed or aborted: the threads end at once
                lanes.join()
            if self.journal is not None:
                with suppress(JournalError):  # left, they are this boot's: not in doubt, only untidy
                    self.journal.release(self.key)
        lost = lost or self._unwritten()
        if lost is not None:
            self._lost(lost)
        if self.summary.journal_error is not None:
            self._tell_lost(announce, lost)
        return self.summary

    def _unwritten(self) -> JournalError | None:
        """Why the lines that still wait at the run's end cannot be written, if they cannot: a run
        stopped otherwise (Ctrl-C, another process's failure) may end with one in hand."""
        if self.journal is None or not self.journal.unwritten():
            return None
        try:
            self.journal.flush()
        except JournalError as error:
            return error
        return None

    def _lost(self, error: JournalError) -> None:
        """The journal could not be written, so the run stopped: the summary says why, and which
        outcomes the journal does not know (those still waiting to be written)."""
        self.summary.journal_error = str(error)
        self.summary.interrupted = True
        if self.journal is None:
            return
        with suppress(JournalError):
            self.journal.flush()  # once more: there may be room again
        for entry in self.journal.unwritten():
            if entry.outcome is Outcome.DELIVERED:  # its in-flight line went before its dot
                said = f"has the message ({entry.reply}); the journal shows it in doubt: leave it so"
            elif entry.outcome is Outcome.FAILED:
                said = f"does not have it ({entry.reply})"
            else:  # in doubt: the journal holds it in flight, and the summary lists it
                continue
            self.summary.unrecorded.append((entry.recipient, said))

    def _tell_lost(self, announce: Callable[[str], None], error: JournalError | None) -> None:
        """Say what the journal does not know; if nothing went out, the run failed as a whole."""
        summary = self.summary
        if not summary.anything_went:
            raise error or JournalError(str(summary.journal_error))  # nothing was sent: as it is
        announce(stopped_by_journal(str(summary.journal_error)))
        for address, said in summary.unrecorded:
            announce(f"not in the journal: {address} {said}")

    def _deliver_batches(
        self, recipients: Iterable[Recipient], lanes: Lanes[Recipient] | None, advance: Callable[[], None]
    ) -> None:
        """Reserve each batch, then send it: inline, or handed to the sending threads."""
        try:
            for batch in _batches(iter(recipients), self._batch_size()):
                wanted = []
                known = self._journal_lines(batch)
                for recipient in batch:
                    if self._settled_before(recipient, self._final(known.get(recipient.email.lower()))):
                        advance()
                    else:
                        wanted.append(recipient)
                if self.journal is not None and wanted:
                    wanted = self._claim(wanted)
                for recipient in wanted:
                    if self._stopping():
                        raise _Stopped
                    if lanes is None:
                        self._send(recipient, advance)
                    else:
                        lanes.put(recipient)
            if lanes is not None:
                lanes.finish()
        except BaseException as error:
            if lanes is not None:
                lanes.drop()  # what waits never starts
                if isinstance(error, _Stopped | JournalError):  # the messages in hand finish first
                    lanes.join()
            raise
        if self._left_unsent:
            raise _Stopped

    def _deliver_in_processes(
        self, recipients: Iterable[Recipient], shares: list[Transport], advance: Callable[[], None]
    ) -> None:
        """Each share of the transport in a forked process of its own, so that none waits for
        another to compose or journal (each has its own interpreter): the list is dealt out in
        turn, and each process sends its share as a one-connection run does, with its own journal
        connection, telling this one how many it has settled. Ctrl-C here stops them all between
        messages; the first error stops the others, and is raised once all have ended."""
        context = multiprocessing.get_context("fork")
        stop = context.RawValue(ctypes.c_bool, False)
        self._stop.shared = stop  # Ctrl-C sets it itself: no lane starts a message after it
        lanes: dict[Connection, BaseProcess] = {}
        for number, transport in enumerate(shares):
            receiving, sending = context.Pipe(duplex=False)
            share = itertools.islice(recipients, number, None, len(shares))
            lane = context.Process(
                target=self._lane, args=(transport, share, stop, sending, os.getpid()), name=f"send-{number}"
            )
            lane.start()
            sending.close()
            lanes[receiving] = lane
        error: BaseException | None = None
        stopped = False
        try:
            while lanes:
                if self._stopping():
                    stop.value = True
                for pipe in cast("list[Connection]", wait(list(lanes), timeout=0.1)):
                    kind, found = _heard(pipe, self.journal is not None)
                    if isinstance(found, int):
                        for _ in range(found):
                            advance()
                        continue
                    lanes.pop(pipe).join()
                    if isinstance(found, Summary):
                        self._add(found)
                        stopped = stopped or kind == "stopped"
                        if found.journal_error is not None:  # the others cannot write it either
                            stop.value = True
                    else:
                        error = error or found
                        stop.value = True
        except BaseException:  # a second Ctrl-C: stop at once (what is in flight stays in doubt)
            for left in lanes.values():
                left.kill()
            raise
        finally:
            for left in lanes.values():
                left.join()
        if error is not None:
            raise error
        if stopped:
            raise _Stopped

    def _lane(
        self,
        transport: Transport,
        share: Iterator[Recipient],
        stop: ctypes.c_bool,
        parent: Connection,
        pid: int,
    ) -> None:
        """In a forked process: send this share as a one-connection run, and tell the parent."""
        for number in (signal.SIGINT, signal.SIGTERM):  # to the whole group: the parent tells us
            signal.signal(number, signal.SIG_IGN)
        _end_with(pid)
        said: _Said
        lost: JournalError | None = None
        settled = _Tally(parent)
        try:
            with self.journal.of_its_own() if self.journal else nullcontext() as journal:
                lane = Deliverer(
                    transport,
                    self.compose,
                    journal=journal,
                    key=self.key,
                    pace=self.pace,
                    resend=self.resend,
                    sleep=self.sleep,
                    clock=self.clock,
                )
                lane._stop = StopRequest(stop)
                try:
                    with transport:
                        lane._deliver_batches(share, None, settled)
                    said = ("done", lane.summary)
                except _Stopped:
                    said = ("stopped", lane.summary)
                except JournalError as error:
                    lost = error
                if lost := lost or lane._unwritten():  # told as a stop: what this lane sent is the run's
                    lane._lost(lost)
                    said = ("stopped", lane.summary)
        except BaseException as error:  # told to the parent, which raises it
            said = ("error", _picklable(error))
        try:
            settled.tell()
            parent.send(said)
        finally:
            os._exit(0)  # nothing of the parent's (its journal, its progress) is closed from here

    def _add(self, lane: Summary) -> None:
        """A sending process's summary, added to the run's."""
        self.summary.delivered += lane.delivered
        self.summary.skipped += lane.skipped
        self.summary.elsewhere += lane.elsewhere
        self.summary.failed += lane.failed
        self.summary.in_doubt += lane.in_doubt
        self.summary.in_doubt_before += lane.in_doubt_before
        self.summary.doubts |= lane.doubts
        self.summary.gave_up = self.summary.gave_up or lane.gave_up
        self.summary.journal_error = self.summary.journal_error or lane.journal_error
        self.summary.unrecorded += lane.unrecorded

    def _batch_size(self) -> int:
        """Recipients reserved at a time: 100, or about ten seconds' worth at a slow pace."""
        if self.pace.per_minute is None:
            return _BATCH
        return max(1, min(_BATCH, int(self.pace.per_minute / 6)))

    def _stopping(self) -> bool:
        return self._stop.requested or self.summary.gave_up is not None

    def deliver(self, recipient: Recipient) -> None:
        """Send `recipient` their message unless the journal says it already went (or may have)."""
        if not self._settled_before(recipient, self._journal_lines([recipient]).get(recipient.email.lower())):
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
        """Compose and send one message, retrying what may be retried, journaling each step.

        Each outcome is counted in the summary whether or not the journal can record it: a run
        stopped by the journal still says what it sent."""
        message = self.compose(recipient)
        message_id = message.message_id
        for attempt in range(self.pace.retries + 1):
            self._keep_pace()
            try:
                reply = self.transport.send(message, partial(self._in_flight, recipient, message_id))
            except TemporaryFailure as failure:
                final = attempt == self.pace.retries
                try:
                    self._write(recipient, message_id, Outcome.FAILED, failure.reply)
                except JournalError:
                    final = True  # never retried unrecorded
                    raise
                finally:
                    if final:
                        self._count_failure(recipient, failure.reply, self.summary.failed)
                if not final:
                    self._wait(self.pace.retry_delay * 2**attempt)
                    continue
            except PermanentFailure as failure:
                with self._lock:
                    self.summary.failed.append((recipient.email, failure.reply))
                self._write(recipient, message_id, Outcome.FAILED, failure.reply)
            except InDoubt as doubt:
                self._count_failure(recipient, doubt.reply, self.summary.in_doubt)
                if at := self._write(recipient, message_id, Outcome.IN_FLIGHT, doubt.reply):
                    with self._lock:
                        self.summary.doubts[recipient.email.lower()] = at
            except DeliveryError as error:  # the transport cannot go on (a reconnect refused)
                self._write(recipient, message_id, Outcome.FAILED, str(error))
                raise
            else:  # written with the next line: one commit a message (see `Ledger.record`)
                with self._lock:
                    self.summary.delivered += 1
                    self._failures_in_a_row = 0
                self._write(recipient, message_id, Outcome.DELIVERED, reply, later=True)
            return

    def _in_flight(self, recipient: Recipient, message_id: str) -> None:
        """The line written just before the final dot; if it cannot be, the dot never goes."""
        if self.journal is not None:
            self.journal.record(self.key, recipient, message_id, Outcome.IN_FLIGHT, "")

    def _count_failure(self, recipient: Recipient, reply: str, listed: list[tuple[str, str]]) -> None:
        """A recipient left failed for now or in doubt; after `give_up_after` in a row, the run stops."""
        with self._lock:
            listed.append((recipient.email, reply))
            self._failures_in_a_row += 1
            if self._failures_in_a_row >= self.pace.give_up_after:
                self.summary.gave_up = f"{self._failures_in_a_row} recipients in a row, the last: {reply}"

    def _claim(self, wanted: list[Recipient]) -> list[Recipient]:
        """Reserve these recipients; of a journal other machines share, keep those this run
        holds, and of them those no other run settled before letting them go (read after the
        claim, so none is sent twice), the rest counted as another run's share."""
        assert self.journal is not None
        held = set(self.journal.reserve(self.key, [recipient.email for recipient in wanted]))
        if not self.journal.shared:
            return wanted
        ours = [recipient for recipient in wanted if recipient.email.lower() in held]
        self.summary.elsewhere += len(wanted) - len(ours)
        known = self._journal_lines(ours)
        return [r for r in ours if not self._settled_before(r, known.get(r.email.lower()))]

    def _final(self, entry: Entry | None) -> Entry | None:
        """A line as it may be judged before the claim: in a shared journal a line in flight may
        be a live run's message on its way (its share, not in doubt), which only the claim tells
        (see `_claim`); a delivered or failed line is final either way."""
        if entry is not None and entry.outcome is Outcome.IN_FLIGHT and self.journal and self.journal.shared:
            return None
        return entry

    def _journal_lines(self, batch: list[Recipient]) -> dict[str, Entry]:
        """What the journal holds of this batch, unless it is not asked (no journal, `--resend`)."""
        if self.journal is None or self.resend is Resend.EVERYONE:
            return {}
        known = self.journal.entries_of(self.key, [recipient.email for recipient in batch])
        doubts = [entry.recipient for entry in known.values() if entry.outcome is Outcome.IN_FLIGHT]
        if doubts and self.resend is Resend.NOBODY:  # with --resend-in-doubt they go again
            self._told |= self.journal.told(self.key, doubts)
        return known

    def _settled_before(self, recipient: Recipient, entry: Entry | None) -> bool:
        """Whether an earlier run already settled this recipient, as its journal `entry` says
        (counted as skipped or in doubt)."""
        if entry is None or self.resend is Resend.EVERYONE:
            return False
        if entry.outcome is Outcome.DELIVERED:
            self.summary.skipped += 1
            return True
        if entry.outcome is Outcome.IN_FLIGHT and self.resend is not Resend.IN_DOUBT:
            if (entry.recipient, entry.at) in self._told:
                self.summary.in_doubt_before += 1
            else:
                reason = entry.reply or "an earlier run stopped while sending it"
                self.summary.in_doubt.append((recipient.email, f"in doubt since {entry.at}: {reason}"))
                self.summary.doubts[entry.recipient] = entry.at
            return True
        return False

    def _write(
        self, recipient: Recipient, message_id: str, outcome: Outcome, reply: str, *, later: bool = False
    ) -> str | None:
        """Record an outcome (returns the line's time); one the journal cannot take now waits
        for its next write, and is reported (`Summary.unrecorded`) if that never comes."""
        if self.journal is None:
            return None
        try:
            return self.journal.record(self.key, recipient, message_id, outcome, reply, later=later)
        except JournalError:
            self.journal.record(self.key, recipient, message_id, outcome, reply, later=True)
            raise

    def _wait(self, seconds: float) -> None:
        """Sleep, with the journal's line that waits for the next one written first: no one is
        left in flight while the run waits (see `Ledger.record`)."""
        if self.journal is not None:
            self.journal.flush()
        self.sleep(seconds)

    def _keep_pace(self) -> None:
        """Wait so that no more than `per_minute` messages start in any minute."""
        if self.pace.per_minute is None:
            return
        gap = 60.0 / self.pace.per_minute
        with self._lock:
            now = self.clock()
            if self._last_start is not None and now - self._last_start < gap:
                self._wait(gap - (now - self._last_start))
                now = self.clock()
            self._last_start = now


_BATCH = 100
T = TypeVar("T")


def _batches(items: Iterator[T], size: int) -> Iterator[list[T]]:
    while batch := list(itertools.islice(items, size)):
        yield batch


# What a sending process tells the parent: how many more recipients it settled, then (done or
# stopped, its summary) or (error, the error).
_Said = tuple[str, "int | Summary | BaseException"]


class _Tally:
    """In a sending process: the recipients settled, told to the parent ten times a second."""

    def __init__(self, parent: Connection) -> None:
        self.parent = parent
        self.count = 0
        self.told_at = time.monotonic()

    def __call__(self) -> None:
        self.count += 1
        if (now := time.monotonic()) - self.told_at >= 0.1:
            self.tell()
            self.told_at = now

    def tell(self) -> None:
        if self.count:
            self.parent.send(("settled", self.count))
            self.count = 0


def _heard(pipe: Connection, journaled: bool) -> _Said:
    """What a sending process said; an error if it ended without a word (it was killed)."""
    try:
        said: _Said = pipe.recv()
        return said
    except (EOFError, OSError):
        rerun = (
            "the journal knows who has the message: run the send again"
            if journaled
            else "nothing was written to the outbox: run it again"
        )
        return "error", DeliveryError(
            f"a sending process ended before its share of the list was sent (was it killed?); {rerun}"
        )


def _picklable(error: BaseException) -> BaseException:
    """`error` as it can travel to the parent process."""
    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301 (our own object, read back at once)
    except Exception:  # whatever pickling raises
        return DeliveryError(f"{type(error).__name__}: {error}")
    return error


def _end_with(pid: int) -> None:
    """This process is killed when the parent process `pid` ends, however it ends, so that it
    never sends on alone (Linux; elsewhere it finishes its share, holding the send lock)."""
    with suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != pid:  # the parent ended before that took hold
        os._exit(1)


_PR_SET_PDEATHSIG = 1


class StopRequest:
    """Set by the first Ctrl-C (or SIGTERM): finish the message in hand, then stop.

    Sending processes of their own read it as `shared`, a byte of shared memory that the signal
    handler sets itself, so that none starts a message once Ctrl-C was heard. A byte, not an
    Event: an Event's lock may be held by the very code the signal interrupted."""

    def __init__(self, shared: ctypes.c_bool | None = None) -> None:
        self.asked = False  # by the user, here (a lane that failed also sets `shared`)
        self.shared = shared

    @property
    def requested(self) -> bool:
        return self.asked or (self.shared is not None and self.shared.value)

    def ask(self) -> None:
        self.asked = True
        if self.shared is not None:
            self.shared.value = True


@contextmanager
def stop_between_messages(announce: Callable[[str], None]) -> Iterator[StopRequest]:
    """Ctrl-C stops after the current message, so none is half-sent; a second Ctrl-C stops at once."""
    stop = StopRequest()

    def handle(number: int, frame: FrameType | None) -> None:
        if stop.asked and number == signal.SIGINT:  # the user's second: not the first after a failure
            raise KeyboardInterrupt
        stop.ask()
        announce("stopping after the current message (Ctrl-C again to stop at once)")

    previous = {number: signal.signal(number, handle) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
