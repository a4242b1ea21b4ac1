"""Exactly once, for what the earlier suite let through: an address's case, what reaches the disk
before a batch goes out, and a healthy run that meets scattered failures."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from announcer.deliver.delivery import Deliverer, Pace
from announcer.deliver.ledger import Ledger
from announcer.errors import TemporaryFailure
from announcer.model.recipient import Recipient
from tests.test_delivery import ScriptedTransport, _compose


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger(tmp_path) as opened:
        yield opened


@pytest.mark.parametrize("written", ["Anna.Berg@Example.org", "ANNA.BERG@EXAMPLE.ORG"])
def test_an_address_in_another_case_is_the_same_reader_on_every_rerun(journal: Ledger, written: str) -> None:
    first = ScriptedTransport()
    Deliverer(first, _compose, journal=journal, key="invitation:x:0").deliver_all([Recipient(written)])
    assert first.sent == [written]
    again = ScriptedTransport()
    for shown in (written, written.lower(), "anna.berg@example.org"):
        summary = Deliverer(again, _compose, journal=journal, key="invitation:x:0").deliver_all(
            [Recipient(shown)]
        )
        assert summary.skipped == 1, shown
    assert again.sent == [], "sent again to a reader the journal has, written in another case"


def test_a_batch_is_reserved_on_the_disk_itself_before_it_goes_out(tmp_path: Path) -> None:
    """A power cut after the batch went must find it reserved: the reservation is synced
    (synchronous=FULL), not left in the disk's cache as ordinary lines are."""
    with Ledger(tmp_path) as journal:
        statements: list[str] = []
        cast("sqlite3.Connection", journal._db).set_trace_callback(statements.append)
        journal.reserve("invitation:x:0", ["a@example.org", "b@example.org"])
        cast("sqlite3.Connection", journal._db).set_trace_callback(None)
    reserving = next(index for index, sql in enumerate(statements) if "INTO reservations" in sql)
    settings = [sql for sql in statements[:reserving] if sql.upper().startswith("PRAGMA SYNCHRONOUS")]
    assert settings, statements
    level = settings[-1].upper().replace(" ", "").removeprefix("PRAGMASYNCHRONOUS=")
    assert level in ("FULL", "2", "EXTRA", "3"), f"the reservation waits for the disk: {statements}"
    committed = next(index for index, sql in enumerate(statements) if sql.upper() == "COMMIT")
    assert committed > reserving
    restored = [sql for sql in statements[committed:] if sql.upper().startswith("PRAGMA SYNCHRONOUS")]
    assert restored, statements
    assert restored[0].upper().endswith("NORMAL"), "ordinary lines stay cheap"
    with sqlite3.connect(tmp_path / ".announcer" / "journal.sqlite") as reader:
        assert reader.execute("SELECT count(*) FROM reservations").fetchone() == (2,)


def test_scattered_temporary_failures_never_stop_a_healthy_run(journal: Ledger) -> None:
    """give_up_after counts failures in a row: one success between them starts the count again."""
    failure = TemporaryFailure("451 4.3.0 try again later")
    outcomes: list[str | TemporaryFailure] = []
    for _ in range(6):  # six rounds of two failures (each recipient, no retries) then a success
        outcomes += [failure, failure, "250 OK"]
    transport = ScriptedTransport(*outcomes)
    pace = Pace(retries=0, retry_delay=0, give_up_after=3)
    readers = [Recipient(f"r{number}@example.org") for number in range(18)]
    summary = Deliverer(transport, _compose, journal=journal, key="digest:x:0", pace=pace).deliver_all(
        readers
    )
    assert summary.gave_up is None, summary.gave_up
    assert summary.delivered == 6
    assert len(summary.failed) == 12
    three_in_a_row = ScriptedTransport(failure, failure, failure)
    stopped = Deliverer(three_in_a_row, _compose, journal=journal, key="digest:y:0", pace=pace).deliver_all(
        readers
    )
    assert stopped.gave_up is not None
    assert stopped.delivered == 0
