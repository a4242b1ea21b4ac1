"""The journal's two stores: the delivery ledger keeps who each reader is, the calendar history
only what was sent, and lifecycle alone decides the next SEQUENCE; old journals upgraded in place."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from announcer.deliver.ledger import Ledger, Outcome, received
from announcer.history import CalendarHistory, NoHistory, Sent, history
from announcer.journal_file import JOURNAL_PATH, SCHEMA_VERSION, JournalFile
from announcer.lifecycle import CANCELLED, next_sequence
from announcer.model.recipient import Recipient
from tests.helpers import CLI, EXAMPLE_EVENT, configure_smtp, read_message, write
from tests.smtp_server import Server, smtp_server

UID = "2026-03-06-car-t-cell-therapy@example.org"
# The tables of a journal of schema 2 (announcer before readers were kept), as it created them.
_SCHEMA_2 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE deliveries (
    key TEXT NOT NULL,
    recipient TEXT NOT NULL,
    message_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reply TEXT NOT NULL DEFAULT '',
    at TEXT NOT NULL,
    PRIMARY KEY (key, recipient)
);
CREATE TABLE sequences (
    uid TEXT PRIMARY KEY,
    sequence INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    snapshot TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE reservations (
    key TEXT NOT NULL,
    recipient TEXT NOT NULL,
    boot TEXT NOT NULL,
    at TEXT NOT NULL,
    PRIMARY KEY (key, recipient)
);
INSERT INTO meta VALUES ('schema', '2');
"""


@pytest.fixture
def plain_server(workspace: Path) -> Iterator[Server]:
    with smtp_server() as server:
        configure_smtp(server)
        yield server


def _greeting(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    text: str = body.get_content()
    return next(line for line in text.splitlines() if line.rstrip().endswith(","))


def _events(message: EmailMessage) -> list[Any]:
    """The VEVENTs of the message's calendar parts (inline and attached)."""
    return [
        event
        for part in message.walk()
        if part.get_content_type() == "text/calendar"
        for event in Calendar.from_ical(part.get_content()).walk("VEVENT")
    ]


def _attendees(message: EmailMessage) -> list[tuple[str, str | None]]:
    """Each ATTENDEE of the message's calendar parts: its address and CN."""
    return [(str(event["ATTENDEE"]), event["ATTENDEE"].params.get("CN")) for event in _events(message)]


# End to end: a real send to readers written by name, in their languages, then `cancel` -----------


def test_a_cancellation_to_those_who_have_it_greets_each_as_their_invitation_did(
    cli: CLI, plain_server: Server
) -> None:
    code, out, err = cli(
        "send",
        EXAMPLE_EVENT,
        "--to",
        "recipients/multilingual.csv",
        "--transport",
        "smtp",
        "--past",
        "--rsvp",
    )
    assert code == 0, out + err
    code, out, err = cli(
        "cancel", EXAMPLE_EVENT, "--transport", "smtp", "--past"
    )  # no --to: the ledger's readers
    assert code == 0, out + err
    assert "sent 3 of 3 by SMTP" in out
    invitations = {item.rcpt_tos[0]: item.message for item in plain_server.handler.received[:3]}
    cancellations = {item.rcpt_tos[0]: item.message for item in plain_server.handler.received[3:]}
    assert sorted(cancellations) == sorted(invitations)
    assert str(cancellations["lars.berg@example.org"]["To"]) == "Lars Berg <lars.berg@example.org>"
    assert _greeting(cancellations["lars.berg@example.org"]) == "Hej,"
    assert _greeting(cancellations["anna.schmidt@example.org"]) == "Guten Tag Anna Schmidt,"
    assert _greeting(cancellations["maria.rossi@example.org"]) == "Dear Maria Rossi,"
    for address, cancelled in cancellations.items():
        invited = invitations[address]
        assert str(cancelled["To"]) == str(invited["To"]), address
        assert cancelled["Content-Language"] == invited["Content-Language"], address
        assert _greeting(cancelled) == _greeting(invited), address
        assert {cn for _, cn in _attendees(cancelled)} == {cn for _, cn in _attendees(invited)} != {None}


def test_a_real_send_keeps_each_reader_s_name_language_and_zone(cli: CLI, plain_server: Server) -> None:
    write(
        Path("recipients/zoned.csv"),
        "email,name,language,timezone\n"
        "Asa.Lindqvist@Example.org,Åsa Lindqvist,sv,America/New_York\n"
        "chen.wei@example.org,,,\n",
    )
    code, out, err = cli(
        "send", EXAMPLE_EVENT, "--to", "recipients/zoned.csv", "--transport", "smtp", "--past"
    )
    assert code == 0, out + err
    assert received(Path.cwd(), UID) == [
        Recipient(
            "asa.lindqvist@example.org", "Åsa Lindqvist", language="sv", timezone=ZoneInfo("America/New_York")
        ),
        Recipient("chen.wei@example.org"),
    ]


# The ledger ---------------------------------------------------------------------------------------


def test_the_ledger_returns_each_reader_as_their_latest_message_found_them(tmp_path: Path) -> None:
    asa = Recipient("Asa@Example.org", "Åsa Lindqvist", language="sv", timezone=ZoneInfo("Europe/Stockholm"))
    with Ledger(tmp_path) as ledger:
        ledger.record(f"invitation:{UID}:0", "asa@example.org", "<1@x>", Outcome.DELIVERED, "250 OK")
        ledger.record(f"update:{UID}:1", asa, "<2@x>", Outcome.DELIVERED, "250 OK")
        ledger.record(f"update:{UID}:1", "bo@example.org", "<3@x>", Outcome.FAILED, "550 no")
        ledger.record(f"reminder-1d:{UID}:0", "asa@example.org", "<4@x>", Outcome.DELIVERED, "250 OK")
        ledger.record(
            f"cancellation:{UID}:2", Recipient("cy@example.org", "Cy"), "<5@x>", Outcome.DELIVERED, ""
        )
        readers = ledger.received(UID)
    # One who knows no more than an address (a line of schema 2) never hides the one who does;
    # a failed delivery and a cancellation give nobody the event.
    assert readers == [
        Recipient("asa@example.org", "Åsa Lindqvist", language="sv", timezone=ZoneInfo("Europe/Stockholm"))
    ]
    assert received(tmp_path, UID) == readers


def test_a_reader_s_zone_this_machine_no_longer_knows_is_none_not_an_error(tmp_path: Path) -> None:
    with Ledger(tmp_path) as ledger:
        ledger.record(f"invitation:{UID}:0", Recipient("a@example.org", "A"), "<1@x>", Outcome.DELIVERED, "")
    with sqlite3.connect(tmp_path / JOURNAL_PATH) as db:
        db.execute("UPDATE deliveries SET timezone = 'Mars/Olympus_Mons', language = 'sv'")
    assert received(tmp_path, UID) == [Recipient("a@example.org", "A", language="sv")]


# Old journals --------------------------------------------------------------------------------------


def _journal_of_schema_2(workspace: Path) -> None:
    path = workspace / JOURNAL_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(_SCHEMA_2)
        for address in ("lars.berg@example.org", "Maria.Rossi@example.org".lower()):
            db.execute(
                "INSERT INTO deliveries VALUES (?, ?, ?, 'delivered', '250 OK', '2026-02-01T09:00:00+00:00')",
                (f"invitation:{UID}:0", address, f"<{address}>"),
            )
        db.execute("INSERT INTO sequences VALUES (?, 0, 'fingerprint of schema 2', '{}')", (UID,))
    db.close()


def test_a_journal_of_schema_2_is_upgraded_in_place_and_its_readers_are_still_reached(cli: CLI) -> None:
    _journal_of_schema_2(Path.cwd())
    code, out, err = cli("cancel", EXAMPLE_EVENT, "--outbox", "cancelled")  # a dry run: read, upgraded
    assert code == 0, out + err
    assert "wrote 2 messages" in out
    written = sorted(Path("cancelled").rglob("*.eml"))
    messages = {str(read_message(path)["To"]): read_message(path) for path in written}
    assert sorted(messages) == ["lars.berg@example.org", "maria.rossi@example.org"], "bare, as before"
    for message in messages.values():
        assert _greeting(message) == "Dear colleague,", "greeted as before: the journal knew no name"
        assert {event["SEQUENCE"] for event in _events(message)} == {1}, "one above the old journal's"
    with sqlite3.connect(JOURNAL_PATH) as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() == (str(SCHEMA_VERSION),)
        columns = [row[1] for row in db.execute("PRAGMA table_info(deliveries)")]
        assert columns[-4:] == ["name", "language", "timezone", "sender"]
        assert db.execute("SELECT DISTINCT name, language, timezone FROM deliveries").fetchall() == [
            ("", "", "")
        ]
    db.close()
    assert "invitation (SEQUENCE 0): 2 delivered, 0 failed, 0 in doubt" in cli("status", EXAMPLE_EVENT)[1]


def test_a_journal_of_a_newer_schema_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    JournalFile(tmp_path).close()
    with sqlite3.connect(tmp_path / JOURNAL_PATH) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION + 1),))
        db.execute("ALTER TABLE deliveries DROP COLUMN timezone")  # as a later version might
        db.execute("CREATE TABLE later (key TEXT)")  # and a table of its own: still "another version"
    db.close()
    newer = rf"journal schema {SCHEMA_VERSION + 1}, this one reads {SCHEMA_VERSION}"
    with pytest.raises(Exception, match=newer), history(tmp_path):
        pass
    with sqlite3.connect(tmp_path / JOURNAL_PATH) as db:
        assert "timezone" not in [row[1] for row in db.execute("PRAGMA table_info(deliveries)")]
    db.close()


# The calendar history stores; lifecycle decides --------------------------------------------------


def test_the_history_stores_and_returns_the_last_send_and_decides_nothing(tmp_path: Path) -> None:
    assert NoHistory().last(UID) is None
    with Ledger(tmp_path) as ledger:
        calendar = CalendarHistory(ledger.file)
        assert calendar.last(UID) is None
        calendar.settle(UID, Sent(4, "moved"), {"Place": "Room 2"}, {"Place": "Room 1"}, rsvp=True)
        assert calendar.last(UID) is not None
        assert calendar.last(UID)[:3] == (4, "moved", "")  # type: ignore[index]
        assert calendar.told(UID) == ({"Place": "Room 2"}, {"Place": "Room 1"})
        assert calendar.asks_replies(UID)
        assert not hasattr(calendar, "sequence"), "the rule that raises SEQUENCE lives in lifecycle"
    with history(tmp_path) as read:
        last = read.last(UID)
        assert last is not None
        assert last[:3] == (4, "moved", ""), "read back in one row, with what it said"
        assert (last.said, last.before, last.rsvp) == ({"Place": "Room 2"}, {"Place": "Room 1"}, True)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", CANCELLED]), max_size=12))
def test_sequence_rises_exactly_when_what_is_sent_changes(fingerprints: list[str]) -> None:
    last: Sent | None = None
    for fingerprint in fingerprints:
        sequence = next_sequence(last, fingerprint)
        if last is None:
            assert sequence == 0
        else:
            assert sequence == last.sequence + (fingerprint != last.fingerprint)
        last = Sent(sequence, fingerprint)
    changes = sum(1 for before, after in itertools.pairwise(fingerprints) if before != after)
    assert (last.sequence if last else 0) == changes
