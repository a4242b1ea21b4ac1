"""serve's group commit: the one-click POSTs of one turn of the event loop are written in one
transaction of the real audience ledger, each answered once it is committed, none if it failed."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from announcer.audience.ledger import Audience, AudienceLedger, How, Standing
from announcer.errors import JournalError
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
