"""The exactly-once loop, with a transport whose outcomes the test chooses."""

from __future__ import annotations

import ctypes
import errno
import multiprocessing
import os
import pickle
import re
import signal
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import cast

import pytest

from announcer.compose.message import Outgoing
from announcer.deliver.delivery import (
    Deliverer,
    Pace,
    Resend,
    _picklable,
    per_minute,
    stop_between_messages,
)
from announcer.deliver.ledger import Ledger, Outcome
from announcer.deliver.transports.base import Transport
from announcer.deliver.transports.dryrun import DryRunTransport
from announcer.errors import (
    DeliveryError,
    DeliveryFailure,
    InDoubt,
    Problem,
    RecipientsError,
    TemporaryFailure,
)
from announcer.journal_file import JOURNAL_PATH, SCHEMA_VERSION
from announcer.model.recipient import Recipient


class ScriptedTransport(Transport):
    """Answers each send with the next scripted outcome: a reply, or an error to raise."""

    def __init__(self, *outcomes: str | DeliveryError) -> None:
        self.outcomes = list(outcomes)
        self.sent: list[str] = []

    def open(self) -> None: ...

    def close(self) -> None: ...

    def send(self, message: Outgoing, committing: Callable[[], None] = lambda: None) -> str:
        outcome = self.outcomes.pop(0) if self.outcomes else "250 OK"
        if isinstance(outcome, InDoubt):
            committing()
        if isinstance(outcome, DeliveryError):
            raise outcome
        committing()
        self.sent.append(message.to)
        return outcome


def _compose(recipient: Recipient) -> Outgoing:
    data = b"To: " + recipient.email.encode() + b"\r\n\r\n"
    return Outgoing(recipient.email, f"<{recipient.email}>", data, "sender@example.org")


def _deliver(deliverer: Deliverer, *addresses: str) -> None:
    for address in addresses:
        deliverer.deliver(Recipient(address))


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path) as opened:
        yield opened


def test_retries_back_off_doubling(journal: Ledger) -> None:
    waits: list[float] = []
    transport = ScriptedTransport(TemporaryFailure("451 later"), TemporaryFailure("451 later"))
    deliverer = Deliverer(
        transport, _compose, journal=journal, key="k", pace=Pace(3, 2.0), sleep=waits.append
    )
    _deliver(deliverer, "a@example.org")
    assert waits == [2.0, 4.0]
    assert deliverer.summary.delivered == 1
    entry = journal.entry("k", "a@example.org")
    assert entry is not None
    assert entry.outcome is Outcome.DELIVERED


def test_in_doubt_is_reported_and_not_resent_unless_asked(journal: Ledger) -> None:
    first = Deliverer(ScriptedTransport(InDoubt("lost after data")), _compose, journal=journal, key="k")
    _deliver(first, "a@example.org")
    assert first.summary.in_doubt == [("a@example.org", "lost after data")]

    again = ScriptedTransport()
    second = Deliverer(again, _compose, journal=journal, key="k")
    _deliver(second, "a@example.org")
    assert again.sent == []
    assert second.summary.in_doubt[0][0] == "a@example.org"

    asked = ScriptedTransport()
    third = Deliverer(asked, _compose, journal=journal, key="k", resend=Resend.IN_DOUBT)
    _deliver(third, "a@example.org")
    assert asked.sent == ["a@example.org"]


def test_a_doubt_marked_told_is_counted_until_a_new_doubt(journal: Ledger) -> None:
    """A cron job reruns the same send: once a run's doubts are printed (and marked told), the
    runs after count them without telling them (and end complete); until then they are told
    again; a new doubt of the same reader, a line of a later time, is told anew."""
    a, b = Recipient("a@example.org"), Recipient("b@example.org")
    first = Deliverer(ScriptedTransport(InDoubt("lost after data")), _compose, journal=journal, key="k")
    summary = first.deliver_all([a, b])
    assert summary.in_doubt == [("a@example.org", "lost after data")]
    line = journal.entry("k", "a@example.org")
    assert line is not None
    assert summary.doubts == {"a@example.org": line.at}, "the line told, by its time"
    untold = Deliverer(ScriptedTransport(), _compose, journal=journal, key="k").deliver_all([a, b])
    assert untold.doubts == summary.doubts, "never printed, never marked: told again"
    journal.mark_told("k", summary.doubts)
    for _ in range(2):
        again = Deliverer(ScriptedTransport(), _compose, journal=journal, key="k").deliver_all([a, b])
        assert (again.in_doubt, again.in_doubt_before, again.skipped, again.complete) == ([], 1, 1, True)
    other = Deliverer(ScriptedTransport(), _compose, journal=journal, key="other").deliver_all([a])
    assert other.delivered == 1, "a mark is of one send"
    journal.record("k", a, "<a@x>", Outcome.IN_FLIGHT, "killed in DATA")  # a rerun asked for it, then died
    anew = Deliverer(ScriptedTransport(), _compose, journal=journal, key="k").deliver_all([a, b])
    assert [address for address, _ in anew.in_doubt] == ["a@example.org"], "a new doubt is told"
    assert "killed in DATA" in anew.in_doubt[0][1]
    journal.mark_told("k", anew.doubts)
    quiet = Deliverer(ScriptedTransport(), _compose, journal=journal, key="k").deliver_all([a])
    assert (quiet.in_doubt, quiet.in_doubt_before) == ([], 1)


def test_a_transport_that_cannot_go_on_leaves_no_false_doubt(journal: Ledger) -> None:
    deliverer = Deliverer(
        ScriptedTransport(DeliveryError("certificate not trusted")), _compose, journal=journal, key="k"
    )
    with pytest.raises(DeliveryError):
        _deliver(deliverer, "a@example.org")
    entry = journal.entry("k", "a@example.org")
    assert entry is not None
    assert entry.outcome is Outcome.FAILED


def test_pace_spaces_message_starts(journal: Ledger) -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(round(seconds, 3))
        now[0] += seconds

    deliverer = Deliverer(
        ScriptedTransport(), _compose, pace=Pace(per_minute=120), sleep=sleep, clock=lambda: now[0]
    )
    _deliver(deliverer, "a@example.org", "b@example.org", "c@example.org")
    assert waits == [0.5, 0.5]


def _outcomes_on_disk(workspace: Path) -> dict[str, str]:
    """The journal's lines as another process reads them."""
    with sqlite3.connect(workspace / JOURNAL_PATH) as db:
        return dict(db.execute("SELECT recipient, outcome FROM deliveries").fetchall())


def test_a_delivery_is_committed_with_the_next_messages_in_flight_one_commit_a_message(
    tmp_path: Path,
) -> None:
    seen_as_b_goes: list[dict[str, str]] = []

    class Watched(ScriptedTransport):
        def send(self, message: Outgoing, committing: Callable[[], None] = lambda: None) -> str:
            if message.to == "b@example.org":
                seen_as_b_goes.append(_outcomes_on_disk(tmp_path))
            return super().send(message, committing)

    with Ledger(tmp_path) as journal:
        statements: list[str] = []
        cast("sqlite3.Connection", journal._db).set_trace_callback(statements.append)
        Deliverer(Watched(), _compose, journal=journal, key="k").deliver_all(
            [Recipient("a@example.org"), Recipient("b@example.org")]
        )
    assert seen_as_b_goes == [{"a@example.org": "in-flight"}], "a kill now leaves a in doubt, as before"
    assert _delivery_commits(statements) == [
        [("a@example.org", "in-flight")],
        [("a@example.org", "delivered"), ("b@example.org", "in-flight")],
        [("b@example.org", "delivered")],  # with the run's end (its reservations released)
    ]
    assert _outcomes_on_disk(tmp_path) == {"a@example.org": "delivered", "b@example.org": "delivered"}


def _delivery_commits(statements: list[str]) -> list[list[tuple[str, str]]]:
    """The journal's lines (recipient, outcome) that each commit wrote, from SQLite's trace."""
    commits: list[list[tuple[str, str]]] = []
    open_transaction: list[tuple[str, str]] | None = None
    for statement in statements:
        written = statement.startswith("INSERT INTO deliveries ")  # one line or several
        line = re.findall(r"\('k', '([^']+)', '[^']*', '([^']+)'", statement) if written else []
        if statement == "BEGIN IMMEDIATE":
            open_transaction = []
        elif statement == "COMMIT" and open_transaction is not None:
            commits += [open_transaction] if open_transaction else []
            open_transaction = None
        elif open_transaction is not None:
            open_transaction += line
        elif line:
            commits.append(line)
    return commits


def test_a_run_stopped_by_ctrl_c_reports_the_delivery_its_journal_could_not_write(tmp_path: Path) -> None:
    """b is delivered, then the journal's file system goes read-only and Ctrl-C is pressed: the
    run stops, its last write fails, and b is named as having the message (the journal, which
    holds it in flight, shows it in doubt)."""
    with Ledger(tmp_path) as journal:

        class GoneReadOnly(ScriptedTransport):
            def send(self, message: Outgoing, committing: Callable[[], None] = lambda: None) -> str:
                reply = super().send(message, committing)
                if message.to == "b@example.org":
                    journal._db.execute("PRAGMA query_only = 1")  # SQLite refuses every write
                    os.kill(os.getpid(), signal.SIGINT)
                return reply

        notices: list[str] = []
        people = [Recipient(f"{name}@example.org") for name in "abc"]
        summary = Deliverer(GoneReadOnly(), _compose, journal=journal, key="k").deliver_all(
            people, announce=notices.append
        )
        assert _outcomes_on_disk(tmp_path) == {"a@example.org": "delivered", "b@example.org": "in-flight"}
        journal._db.execute("PRAGMA query_only = 0")  # writable again: the line that waits goes at close
    assert summary.delivered == 2
    assert summary.interrupted
    assert summary.journal_error is not None
    assert "attempt to write a readonly database" in summary.journal_error
    assert summary.unrecorded == [
        ("b@example.org", "has the message (250 OK); the journal shows it in doubt: leave it so")
    ]
    assert notices[-1].startswith("not in the journal: b@example.org has the message")
    assert _outcomes_on_disk(tmp_path) == {"a@example.org": "delivered", "b@example.org": "delivered"}


def test_a_paced_run_writes_the_last_delivery_before_it_waits(tmp_path: Path) -> None:
    now = [0.0]
    at_each_wait: list[dict[str, str]] = []

    def sleep(seconds: float) -> None:
        at_each_wait.append(_outcomes_on_disk(tmp_path))
        now[0] += seconds

    with Ledger(tmp_path) as journal:
        pace = Pace(per_minute=60)
        deliverer = Deliverer(ScriptedTransport(), _compose, journal=journal, key="k", pace=pace, sleep=sleep)
        deliverer.clock = lambda: now[0]
        deliverer.deliver_all([Recipient("a@example.org"), Recipient("b@example.org")])
    assert at_each_wait == [{"a@example.org": "delivered"}], "never left in flight while the run waits"


def test_failure_reply_is_kept(journal: Ledger) -> None:
    failure: DeliveryFailure = TemporaryFailure("452 full")
    deliverer = Deliverer(
        ScriptedTransport(failure), _compose, journal=journal, key="k", pace=Pace(retries=0)
    )
    _deliver(deliverer, "a@example.org")
    assert deliverer.summary.failed == [("a@example.org", "452 full")]


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        ("120/min", 120.0),
        ("120", 120.0),
        ("2/s", 120.0),
        ("2/sec", 120.0),
        ("7200/h", 120.0),
        (" 1.5 / hour ", 0.025),
    ],
)
def test_rates_are_read_as_messages_per_minute(rate: str, expected: float) -> None:
    assert per_minute(rate) == pytest.approx(expected)


@pytest.mark.parametrize("rate", ["fast", "-5/min", "5/day", "", "5/min/s"])
def test_a_rate_that_is_not_one_is_refused(rate: str) -> None:
    with pytest.raises(ValueError, match="give a rate like 120/min"):
        per_minute(rate)


@pytest.mark.parametrize("rate", ["0/min", "0.5/h", "1001/s", "9" * 400 + "/s"])
def test_a_rate_past_what_a_pace_can_keep_says_the_range(rate: str) -> None:
    with pytest.raises(ValueError, match="give a rate from 1/h to 1,000/s"):
        per_minute(rate)


class _InterruptedAt(ScriptedTransport):
    """Ctrl-C arrives while the second message is being sent."""

    def send(self, message: Outgoing, committing: Callable[[], None] = lambda: None) -> str:
        reply = super().send(message, committing)
        if len(self.sent) == 2:
            os.kill(os.getpid(), signal.SIGINT)
        return reply


@pytest.fixture
def own_sigint() -> Iterator[Callable[[int, object], None]]:
    """A SIGINT handler of the caller's own, as a program embedding announcer (or `nohup`, which
    ignores it) has: a send must put back the handler that was there, not Python's default."""

    def handler(number: int, frame: object) -> None:
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGINT, handler)
    try:
        yield handler
    finally:
        signal.signal(signal.SIGINT, before)


def test_ctrl_c_finishes_the_message_in_hand_then_stops(own_sigint: Callable[[int, object], None]) -> None:
    transport = _InterruptedAt()
    notices: list[str] = []
    deliverer = Deliverer(transport, _compose)
    summary = deliverer.deliver_all(
        [Recipient(f"person{number}@example.org") for number in range(5)], announce=notices.append
    )
    assert transport.sent == ["person0@example.org", "person1@example.org"]
    assert summary.interrupted
    assert summary.delivered == 2
    assert notices == ["stopping after the current message (Ctrl-C again to stop at once)"]
    assert signal.getsignal(signal.SIGINT) is own_sigint, "the handler that was there is put back"


class _Lanes(ScriptedTransport):
    """Several connections at once: records which thread sent what, and how many overlapped.

    The first `connections` messages wait for one another (a barrier), so that every connection
    is provably busy at once, however the threads are scheduled."""

    def __init__(self, connections: int, *outcomes: str | DeliveryError) -> None:
        super().__init__(*outcomes)
        self.connections = connections
        self.lock = threading.Lock()
        self.busy = 0
        self.most_at_once = 0
        self.started = 0
        self.together = threading.Barrier(connections)

    def send(self, message: Outgoing, committing: Callable[[], None] = lambda: None) -> str:
        with self.lock:
            self.busy += 1
            self.most_at_once = max(self.most_at_once, self.busy)
            outcome = self.outcomes.pop(0) if self.outcomes else "250 OK"
            self.started += 1
            first = self.started <= self.connections
        try:
            if first:
                self.together.wait(timeout=30)
            if isinstance(outcome, DeliveryError):
                raise outcome
            committing()
            with self.lock:
                self.sent.append(message.to)
            return outcome
        finally:
            with self.lock:
                self.busy -= 1


def _people(count: int) -> list[Recipient]:
    return [Recipient(f"person{number:03d}@example.org") for number in range(count)]


def test_several_connections_deliver_everyone_once_and_journal_each(journal: Ledger) -> None:
    transport = _Lanes(4)
    advanced: list[None] = []
    summary = Deliverer(transport, _compose, journal=journal, key="k").deliver_all(
        _people(250), advance=lambda: advanced.append(None)
    )
    assert summary.complete
    assert summary.delivered == 250
    assert sorted(transport.sent) == [person.email for person in _people(250)]
    assert transport.most_at_once == 4, "four messages on their way at once"
    assert len(advanced) == 250
    assert {entry.outcome for entry in journal.entries("k")} == {Outcome.DELIVERED}
    assert len(list(journal.entries("k"))) == 250


def test_a_connection_that_cannot_go_on_stops_every_lane_and_nothing_is_left_reserved(
    journal: Ledger,
) -> None:
    transport = _Lanes(4, *["250 OK"] * 30, DeliveryError("certificate not trusted"))
    deliverer = Deliverer(transport, _compose, journal=journal, key="k")
    with pytest.raises(DeliveryError, match="certificate not trusted"):
        deliverer.deliver_all(_people(250))
    entries = {entry.recipient: entry.outcome for entry in journal.entries("k")}
    assert len(transport.sent) < 250, "the run stopped"
    delivered = sorted(address for address, outcome in entries.items() if outcome is Outcome.DELIVERED)
    assert delivered == sorted(transport.sent)
    assert Outcome.IN_FLIGHT not in entries.values()
    rerun = _Lanes(4)
    summary = Deliverer(rerun, _compose, journal=journal, key="k").deliver_all(_people(250))
    assert sorted(transport.sent + rerun.sent) == [person.email for person in _people(250)]
    assert summary.skipped == len(transport.sent)


def test_a_batch_reserved_when_the_machine_went_down_is_in_doubt_never_sent_again(tmp_path: Path) -> None:
    with Ledger(tmp_path) as journal:
        journal.record("k", "a@example.org", "<a@x>", Outcome.DELIVERED, "250 OK")
        journal.reserve("k", ["b@example.org", "c@example.org"])  # then the power went
        journal.record("k", "b@example.org", "<b@x>", Outcome.DELIVERED, "250 OK")
    with sqlite3.connect(tmp_path / JOURNAL_PATH) as db:  # as it reads after a reboot
        db.execute("UPDATE reservations SET boot = 'the boot before'")
    with Ledger(tmp_path) as journal:
        transport = ScriptedTransport()
        deliverer = Deliverer(transport, _compose, journal=journal, key="k")
        summary = deliverer.deliver_all([Recipient(f"{name}@example.org") for name in "abcd"])
    assert transport.sent == ["d@example.org"]
    assert summary.skipped == 2, "a, and b: its delivery reached the disk after the reservation"
    assert [address for address, _ in summary.in_doubt] == ["c@example.org"]
    assert "whether it went is unknown" in summary.in_doubt[0][1]
    with Ledger(tmp_path) as journal:
        journal.mark_told("k", summary.doubts)  # printed
        rerun = Deliverer(ScriptedTransport(), _compose, journal=journal, key="k")
        summary = rerun.deliver_all([Recipient(f"{name}@example.org") for name in "abcd"])
    assert (summary.in_doubt, summary.in_doubt_before, summary.skipped) == ([], 1, 3), "told once"


def test_a_batch_reserved_by_a_killed_run_on_this_boot_is_simply_sent(tmp_path: Path) -> None:
    with Ledger(tmp_path) as journal:
        journal.reserve("k", ["b@example.org", "c@example.org"])  # killed before it began
        journal.record("k", "b@example.org", "<b@x>", Outcome.DELIVERED, "250 OK")
    with Ledger(tmp_path) as journal:
        transport = ScriptedTransport()
        summary = Deliverer(transport, _compose, journal=journal, key="k").deliver_all(
            [Recipient("b@example.org"), Recipient("c@example.org")]
        )
        assert transport.sent == ["c@example.org"]
        assert summary.complete
        assert summary.skipped == 1
        assert journal.entry("k", "c@example.org").outcome is Outcome.DELIVERED  # type: ignore[union-attr]
    with sqlite3.connect(tmp_path / JOURNAL_PATH) as db:
        assert db.execute("SELECT count(*) FROM reservations").fetchone() == (0,), "released at the end"


def test_a_journal_written_before_reservations_is_read_and_upgraded(tmp_path: Path) -> None:
    with Ledger(tmp_path) as journal:
        journal.record("k", "a@example.org", "<a@x>", Outcome.DELIVERED, "250 OK")
    with sqlite3.connect(tmp_path / JOURNAL_PATH) as db:
        db.execute("DROP TABLE reservations")
        db.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    with Ledger(tmp_path) as journal:
        assert journal.entry("k", "a@example.org").outcome is Outcome.DELIVERED  # type: ignore[union-attr]
        journal.reserve("k", ["b@example.org"])
    with sqlite3.connect(tmp_path / JOURNAL_PATH) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (str(SCHEMA_VERSION),)


def _people_in_order(count: int) -> list[Recipient]:
    return [Recipient(f"person{number:04d}@example.org", f"Person {number}") for number in range(count)]


def test_a_long_dry_run_is_written_by_several_processes_each_message_once_in_list_order(
    tmp_path: Path,
) -> None:
    people = _people_in_order(1000)
    summary = Deliverer(DryRunTransport(tmp_path, "event"), _compose, processes=2).deliver_all(people)
    assert summary.complete
    assert summary.delivered == 1000
    written = sorted((tmp_path / "event").iterdir())
    assert [path.name for path in written] == [f"{n + 1:04d}-{p.email}.eml" for n, p in enumerate(people)]
    assert all(
        path.read_bytes() == b"To: " + p.email.encode() + b"\r\n\r\n"
        for path, p in zip(written, people, strict=True)
    )
    assert [path.name for path in tmp_path.iterdir()] == ["event"], "no staging folder left"


def test_a_write_that_fails_in_a_forked_process_stops_the_run_and_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Path.write_bytes

    def disk_full_at_600(self: Path, data: bytes) -> int:
        if self.name.startswith("0600-"):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", disk_full_at_600)  # the forked processes inherit it
    deliverer = Deliverer(DryRunTransport(tmp_path, "event"), _compose, processes=2)
    with pytest.raises(
        DeliveryError, match=r"0600-person0599@example\.org\.eml: cannot write: No space left"
    ):
        deliverer.deliver_all(_people_in_order(1000))
    assert list(tmp_path.iterdir()) == [], "nothing published, the staging folder removed"


def test_ctrl_c_stops_a_forked_dry_run_between_batches_and_publishes_nothing(
    tmp_path: Path, own_sigint: Callable[[int, object], None]
) -> None:
    """Ctrl-C reaches the parent as recipient 300 is composed; no message past it is composed
    before the parent has heard it (and so told its sending processes): none starts after."""
    parent = os.getpid()
    heard = multiprocessing.get_context("fork").Event()

    def compose(recipient: Recipient) -> Outgoing:
        number = int(recipient.email[6:10])
        if number == 300:
            os.kill(parent, signal.SIGINT)  # as a Ctrl-C in the terminal reaches the parent
        if number >= 300:
            assert heard.wait(30), "Ctrl-C was not heard"
        return _compose(recipient)

    summary = Deliverer(DryRunTransport(tmp_path, "event"), compose, processes=2).deliver_all(
        _people_in_order(5000), announce=lambda text: heard.set()
    )
    assert summary.interrupted
    assert 0 < summary.delivered <= 302, "each process stopped after the message in its hand"
    assert list(tmp_path.iterdir()) == [], "an interrupted dry run publishes nothing"
    assert signal.getsignal(signal.SIGINT) is own_sigint, "the handler that was there is put back"


def test_the_first_ctrl_c_after_a_sending_process_failed_still_finishes_the_messages_in_hand() -> None:
    """A failed process tells the others to stop through the byte Ctrl-C also sets; the user's
    first Ctrl-C after it is still a first (finish what is in hand), not a second (stop at once)."""
    notices: list[str] = []
    shared = multiprocessing.get_context("fork").RawValue(ctypes.c_bool, False)
    with stop_between_messages(notices.append) as stop:
        stop.shared = shared
        shared.value = True  # a sending process failed: the others stop between messages
        os.kill(os.getpid(), signal.SIGINT)
    assert notices == ["stopping after the current message (Ctrl-C again to stop at once)"]


class _InterruptedLanes(_Lanes):
    """Four connections; Ctrl-C arrives during the tenth message, which ends only once it was
    heard (`heard`); records whether the line was dropped under a message still on its way."""

    def __init__(self) -> None:
        super().__init__(4)
        self.dropped_busy = False
        self.pressed = False
        self.heard = threading.Event()

    def send(self, message: Outgoing, committing: Callable[[], None] = lambda: None) -> str:
        with self.lock:  # once, from the first to see nine sent (four lanes may pass nine together)
            press = len(self.sent) >= 9 and not self.pressed
            self.pressed = self.pressed or press
        if press:
            os.kill(os.getpid(), signal.SIGINT)
            assert self.heard.wait(30), "Ctrl-C was not heard"
        return super().send(message, committing)

    def abort(self) -> None:
        self.dropped_busy = self.busy > 0


def test_ctrl_c_on_several_connections_finishes_every_message_in_hand(journal: Ledger) -> None:
    transport = _InterruptedLanes()
    summary = Deliverer(transport, _compose, journal=journal, key="k").deliver_all(
        _people(250), announce=lambda text: transport.heard.set()
    )
    assert summary.interrupted
    assert not transport.dropped_busy, "no connection dropped under a message on its way"
    assert summary.in_doubt == []
    assert summary.delivered == len(transport.sent) < 250
    assert {entry.outcome for entry in journal.entries("k")} == {Outcome.DELIVERED}


def test_an_error_in_a_sending_process_reaches_the_parent_whole() -> None:
    """A sending process hands its error to the parent pickled: a list's problems keep their
    file and line, and an error that cannot be pickled still arrives, as its words."""
    problem = Problem("recipients/list.csv", "'x@' is not a valid email address", line=7, field="email")
    travelled = pickle.loads(pickle.dumps(_picklable(RecipientsError([problem]))))
    assert isinstance(travelled, RecipientsError)
    assert travelled.problems == (problem,)

    class Odd(Exception):
        def __init__(self, one: str, two: str) -> None:
            super().__init__(f"{one} {two}")

    arrived = _picklable(Odd("cannot", "pickle"))
    assert isinstance(arrived, DeliveryError)
    assert str(arrived) == "Odd: cannot pickle"
