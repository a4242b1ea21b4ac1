"""serve's group commit: the one-click POSTs of one turn of the event loop are written in one
transaction of the real audience ledger, each answered once it is committed, none if it failed."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from announcer.audience.ledger import Audience, AudienceLedger, How, Standing
from announcer.errors import JournalError, PostgresError
from announcer.journal_file import use_database
from announcer.serve.batches import Batches

LIST = "onkpat-seminars.example.org"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[AudienceLedger]:
    with Audience(tmp_path, LIST) as opened:
        yield opened


@pytest.fixture
def transactions(ledger: AudienceLedger, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many unsubscriptions each transaction of `together` made, in turn (the real ones run)."""
    counted: list[int] = []
    made: list[str] = []
    real_together, real_unsubscribe = ledger.together, ledger.unsubscribe

    def unsubscribe(address: str, how: How, detail: str = "") -> Standing:
        made.append(address)
        return real_unsubscribe(address, how, detail)

    def together(changes: Callable[[AudienceLedger], object]) -> None:
        real_together(changes)
        counted.append(len(made))
        made.clear()

    monkeypatch.setattr(ledger, "unsubscribe", unsubscribe)
    monkeypatch.setattr(ledger, "together", together)
    return counted


def _leave(address: str) -> Callable[[AudienceLedger], str]:
    return lambda ledger: ledger.unsubscribe(address, How.ONE_CLICK).address


def _undo(address: str) -> Callable[[AudienceLedger], str]:
    return lambda ledger: ledger.restore(address, How.WEB_PAGE, "undone on the unsubscribe page").address


async def _burst(batches: Batches[str], count: int) -> list[str]:
    return await asyncio.gather(*(batches.run(_leave(f"reader{n}@example.org")) for n in range(count)))


def test_a_burst_is_one_transaction_and_each_is_answered(
    ledger: AudienceLedger, transactions: list[int]
) -> None:
    answers = asyncio.run(_burst(Batches(ledger), 100))
    assert answers == [f"reader{n}@example.org" for n in range(100)]
    assert transactions == [100]
    assert len(ledger.left_out()) == 100


def test_a_burst_larger_than_a_batch_takes_several(ledger: AudienceLedger, transactions: list[int]) -> None:
    asyncio.run(_burst(Batches(ledger, largest=10), 25))
    assert transactions == [10, 10, 5]
    assert len(ledger.left_out()) == 25


def test_a_change_alone_waits_for_no_other(ledger: AudienceLedger, transactions: list[int]) -> None:
    async def one_after_another() -> None:
        batches: Batches[str] = Batches(ledger)
        for n in range(3):
            await batches.run(_leave(f"reader{n}@example.org"))

    asyncio.run(one_after_another())
    assert transactions == [1, 1, 1]


def test_a_failure_answers_each_of_its_batch_and_makes_none_of_it(ledger: AudienceLedger) -> None:
    def busy(_ledger: AudienceLedger) -> str:
        raise JournalError("journal.sqlite: cannot write the audience: database is locked")

    async def burst() -> list[str | BaseException]:
        batches: Batches[str] = Batches(ledger)
        changes = [_leave("a@example.org"), busy, _leave("b@example.org")]
        answers: list[str | BaseException] = await asyncio.gather(
            *(batches.run(change) for change in changes), return_exceptions=True
        )
        return answers

    answers = asyncio.run(burst())
    assert all(isinstance(answer, JournalError) for answer in answers)
    assert ledger.left_out() == {}


def test_a_commit_held_by_a_locked_file_leaves_the_loop_free(ledger: AudienceLedger) -> None:
    """A send holds the journal file (SQLite's write lock, taken here as a send takes it): the
    batch waits for it in its thread, the event loop turns on, and the change is made once
    the lock is let go."""
    send = sqlite3.connect(ledger.file.path, isolation_level=None)

    async def while_held() -> str:
        batches: Batches[str] = Batches(ledger)
        try:
            send.execute("BEGIN IMMEDIATE")
            waiting = asyncio.ensure_future(batches.run(_leave("a@example.org")))
            for _ in range(20):  # turns of the loop: each would wait for the commit, were it here
                await asyncio.sleep(0)
            assert not waiting.done()
            send.execute("ROLLBACK")
            return await waiting
        finally:
            batches.close()

    try:
        assert asyncio.run(while_held()) == "a@example.org"
    finally:
        send.close()
    assert set(ledger.left_out()) == {"a@example.org"}


def test_a_change_answered_while_it_waited_is_never_made_and_few_may_wait(ledger: AudienceLedger) -> None:
    """The worker is stuck (a database that hangs): the requests that wait meanwhile are answered
    503 once their time runs out (the guard cancels them) and are left out when the worker is
    free again, so a reader told 'try again' is not unsubscribed behind their back; and beyond
    `waiting` changes the 503 comes at once, so the queue stays bounded."""
    started, free = threading.Event(), threading.Event()

    def stuck(ledger: AudienceLedger) -> str:
        started.set()
        free.wait()
        return ledger.unsubscribe("first@example.org", How.ONE_CLICK).address

    async def while_stuck() -> list[str | BaseException]:
        batches: Batches[str] = Batches(ledger, largest=4)
        try:
            first = asyncio.ensure_future(batches.run(stuck))
            await asyncio.to_thread(started.wait)
            waiting = [asyncio.ensure_future(batches.run(_leave(f"r{n}@example.org"))) for n in range(20)]
            await asyncio.sleep(0)  # a turn: each has asked, or been refused
            for request in waiting:
                request.cancel()  # what the guard does to a request whose time ran out
            answers: list[str | BaseException] = await asyncio.gather(*waiting, return_exceptions=True)
            free.set()
            answers += [await first, await batches.run(_leave("after@example.org"))]
            return answers
        finally:
            free.set()
            batches.close()

    answers = asyncio.run(while_stuck())
    assert sum(isinstance(answer, JournalError) for answer in answers) == 20 - 4 * 4
    assert sum(isinstance(answer, asyncio.CancelledError) for answer in answers) == 4 * 4
    assert set(ledger.left_out()) == {"first@example.org", "after@example.org"}


def test_a_session_the_server_will_no_longer_serve_is_replaced(tmp_path: Path, postgres: str) -> None:
    """After a failover the name may still lead to a standby that answers read-only (25006):
    the change is made on a new session, at the new primary, rather than 503 for ever."""
    use_database(tmp_path, postgres)
    with Audience(tmp_path, LIST) as ledger:
        ledger.file.db.execute("SET default_transaction_read_only = on")  # as a standby answers
        batches: Batches[str] = Batches(ledger)
        try:
            assert asyncio.run(batches.run(_leave("a@example.org"))) == "a@example.org"
        finally:
            batches.close()
        assert set(ledger.left_out()) == {"a@example.org"}


def test_a_batch_whose_commit_may_have_been_made_is_not_made_again(
    tmp_path: Path, postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The COMMIT reached the server, and the dropped connection took its answer: made again on
    the new connection, an unsubscribe and its undo in one batch would be logged twice (and an
    organiser's restore in between undone). Each request gets its 503 instead, and the next
    finds a new connection."""
    use_database(tmp_path, postgres)
    with Audience(tmp_path, LIST) as ledger:
        real_together = ledger.together
        session = ledger.file.db.execute("SELECT pg_backend_pid()").fetchone()[0]
        transactions: list[int] = []

        def together(changes: Callable[[AudienceLedger], object]) -> None:
            real_together(changes)  # committed on the server
            transactions.append(1)
            if len(transactions) == 1:  # the server goes down before its answer arrives
                with psycopg.connect(postgres, autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", (session,))
                try:
                    ledger.file.db.execute("SELECT 1")
                except PostgresError as exc:
                    raise JournalError(f"cannot write the audience: {exc}") from None

        monkeypatch.setattr(ledger, "together", together)

        async def undone_at_once() -> list[str | BaseException]:
            batches: Batches[str] = Batches(ledger)
            try:
                answers: list[str | BaseException] = list(
                    await asyncio.gather(
                        batches.run(_leave("a@example.org")),
                        batches.run(_undo("a@example.org")),
                        return_exceptions=True,
                    )
                )
                answers.append(await batches.run(_leave("b@example.org")))
                return answers
            finally:
                batches.close()

        answers = asyncio.run(undone_at_once())
        assert [type(answer) for answer in answers[:2]] == [JournalError, JournalError]
        assert answers[2] == "b@example.org"
        assert len(ledger.log("a@example.org")) == 2  # the unsubscribe and its undo, once each
        assert set(ledger.left_out()) == {"b@example.org"}
