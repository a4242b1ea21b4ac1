"""Servers that hang, trickle and refuse; journals that cannot be trusted; leftovers of killed runs."""

from __future__ import annotations

import multiprocessing
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from announcer.compose.message import Outgoing
from announcer.deliver.delivery import Deliverer
from announcer.deliver.ledger import Ledger, Outcome
from announcer.deliver.transports.base import Transport
from announcer.journal_file import JOURNAL_PATH, SCHEMA_VERSION, JournalFile
from announcer.model.recipient import Recipient
from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, write
from tests.scripted_smtp import Fault, Hold, Script, scripted_smtp


def _configure(port: int, **extra: object) -> None:
    lines = ["\n[smtp]", 'host = "127.0.0.1"', f"port = {port}", 'security = "none"']
    lines += [f"{key} = {value}" for key, value in extra.items()]
    with Path("announcer.toml").open("a") as settings:
        settings.write("\n".join(lines) + "\n")


def _send(cli: CLI) -> tuple[int, str, str, float]:
    started = time.monotonic()
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--transport", "smtp", "--past")
    return code, out, err, time.monotonic() - started


def _journal_outcomes() -> dict[str, Outcome]:
    with Ledger(Path.cwd(), lock=False) as journal:
        return {entry.recipient: entry.outcome for entry in journal.entries("")}


@pytest.mark.parametrize("fault", ["trickle-after-data", "hang-after-data"])
def test_a_slow_server_costs_a_deadline_then_the_run_gives_up(cli: CLI, fault: Fault) -> None:
    script = Script(fault, trickle_seconds=0.4)
    with scripted_smtp(script) as port:
        _configure(port, timeout_seconds=5, deadline_seconds=1, retries=0, give_up_after=2)
        code, out, err, seconds = _send(cli)
    assert code == 3, out + err
    assert seconds < 10, "two deadlines of a second, not a read timeout per byte"
    assert "no answer within 1 s" in err
    assert "the server keeps failing (2 recipients in a row" in err
    assert "run the same command again to send the rest" in err
    outcomes = _journal_outcomes()
    in_doubt = [address for address, outcome in outcomes.items() if outcome is Outcome.IN_FLIGHT]
    assert in_doubt == script.data_complete, "in doubt exactly those whose DATA was complete"
    assert len(outcomes) == 2, "the rest were never tried: a re-run sends to them"


def test_a_server_refusing_every_recipient_is_given_up_on(cli: CLI) -> None:
    script = Script("421-at-rcpt")
    with scripted_smtp(script) as port:
        _configure(port, retries=2, retry_delay_seconds=0.01, give_up_after=3)
        code, out, err, _ = _send(cli)
    assert code == 3, out + err
    assert "sent 0 of 5 by SMTP" in out
    assert err.count("failed: ") == 3
    assert "the server keeps failing (3 recipients in a row, the last: 421 4.7.0 try again later)" in err
    assert set(_journal_outcomes().values()) == {Outcome.FAILED}, "failed, not in doubt: a re-run retries"


def test_a_server_that_never_greets_is_a_clear_error(cli: CLI) -> None:
    with scripted_smtp(Script("hang-at-greeting")) as port:
        _configure(port, timeout_seconds=1)
        code, _, err, seconds = _send(cli)
    assert code == 3
    assert f"error: 127.0.0.1:{port}: cannot connect: " in err
    assert seconds < 10


def test_a_second_ctrl_c_stops_at_once(workspace: Path) -> None:
    """The first message is held after its dot (no answer comes); Ctrl-C is pressed, heard, and
    pressed again: the run ends without waiting for the server, the message in hand in doubt."""
    hold = Hold(at=1)
    script = Script(hold=hold)
    with scripted_smtp(script) as port:
        _configure(port, timeout_seconds=60, deadline_seconds=120)
        command = [sys.executable, "-m", "announcer", "send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS]
        process = subprocess.Popen(
            [*command, "--transport", "smtp", "--past"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert hold.reached.wait(30), process.communicate()
            process.send_signal(signal.SIGINT)
            assert process.stderr is not None
            heard = ""
            while "stopping after the current message" not in heard:  # the first one was heard
                heard = process.stderr.readline()
                assert heard, "the run ended at the first Ctrl-C"
            assert process.poll() is None, "the first Ctrl-C waits for the message in hand"
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)  # the server would hold it for ever
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    assert process.returncode == 3, err
    assert "stopped at once" in err
    assert "Traceback" not in err
    assert _journal_outcomes() == {"asa.lindqvist@example.org": Outcome.IN_FLIGHT}, (
        "the one in hand: in doubt"
    )


class _KilledAt(Transport):
    """A transport whose process dies (here: an exception no one handles) before or after the dot."""

    def __init__(self, after_commit: bool) -> None:
        self.after_commit = after_commit

    def open(self) -> None: ...

    def close(self) -> None: ...

    def send(self, message: Outgoing, committing: Callable[[], None] = lambda: None) -> str:
        if self.after_commit:
            committing()
        raise SystemExit("killed")


@pytest.mark.parametrize(("after_commit", "expected"), [(False, None), (True, Outcome.IN_FLIGHT)])
def test_only_a_message_past_its_final_dot_is_in_doubt(
    tmp_path: Path, after_commit: bool, expected: Outcome | None
) -> None:
    def compose(recipient: Recipient) -> Outgoing:
        return Outgoing(recipient.email, "<m@example.org>", b"", "s@example.org")

    with Ledger(tmp_path) as journal:
        deliverer = Deliverer(_KilledAt(after_commit), compose, journal=journal, key="k")
        with pytest.raises(SystemExit):
            deliverer.deliver(Recipient("a@example.org"))
        entry = journal.entry("k", "a@example.org")
    assert (entry.outcome if entry else None) is expected


def test_an_empty_journal_stops_the_send_and_status_explains(cli: CLI) -> None:
    write(Path(JOURNAL_PATH), "")
    code, out, err, _ = _send(cli)
    assert code == 1, out + err
    assert "the journal is empty, so it cannot say who already has which message" in err
    for verb in (("status", EXAMPLE_EVENT), ("check", EXAMPLE_EVENT), ("render", EXAMPLE_EVENT)):
        code, out, err = cli(*verb)
        assert code == 1, verb
        assert "the journal is empty" in err
        assert "Traceback" not in err


def test_a_journal_that_is_not_one_is_refused(cli: CLI) -> None:
    write(Path(JOURNAL_PATH), "this is not a database\n" * 100)
    code, _, err = cli("status", EXAMPLE_EVENT)
    assert code == 1
    assert "cannot open the journal: file is not a database" in err


def test_a_journal_of_a_newer_version_is_refused(cli: CLI) -> None:
    Ledger(Path.cwd(), lock=False).close()
    with sqlite3.connect(JOURNAL_PATH) as db:
        db.execute("UPDATE meta SET value = '7' WHERE key = 'schema'")
    code, _, err, _ = _send(cli)
    assert code == 1
    said = f"written by another version of announcer (journal schema 7, this one reads {SCHEMA_VERSION})"
    assert said in err


def test_a_journal_of_announcer_0_1_is_read_and_kept(cli: CLI, tmp_path: Path) -> None:
    Path(JOURNAL_PATH).parent.mkdir(parents=True)
    with sqlite3.connect(JOURNAL_PATH) as db:
        db.executescript(
            "CREATE TABLE deliveries (key TEXT NOT NULL, recipient TEXT NOT NULL, message_id TEXT NOT NULL,"
            " outcome TEXT NOT NULL, reply TEXT NOT NULL DEFAULT '', at TEXT NOT NULL,"
            " PRIMARY KEY (key, recipient));"
            "CREATE TABLE sequences (uid TEXT PRIMARY KEY, sequence INTEGER NOT NULL,"
            " fingerprint TEXT NOT NULL);"
            "INSERT INTO deliveries VALUES ('invitation:2026-03-06-car-t-cell-therapy@example.org:0',"
            " 'asa.lindqvist@example.org', '<m>', 'delivered', '250 OK', '2026-02-20T09:00:00+00:00');"
        )
    code, out, _ = cli("status", EXAMPLE_EVENT)
    assert code == 0
    assert "invitation (SEQUENCE 0): 1 delivered" in out


def test_a_killed_dry_run_leaves_nothing_behind_after_the_next(cli: CLI) -> None:
    dead, alive = 2**22 + 12345, os.getppid()
    for pid in (dead, alive):
        write(Path(f"outbox/.2026-03-06-car-t-cell-therapy.partial-{pid}/0001-a.eml"), "half")
    write(Path(f"outbox/.2026-03-06-car-t-cell-therapy.retired-{dead}/0001-a.eml"), "old")
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS)
    assert code == 0, out + err
    left = sorted(path.name for path in Path("outbox").iterdir())
    assert left == [f".2026-03-06-car-t-cell-therapy.partial-{alive}", "2026-03-06-car-t-cell-therapy"], (
        "a dead run's folders are removed; a running one's are not touched"
    )


def test_a_write_sqlite_rolled_back_itself_is_said_in_its_own_words(tmp_path: Path) -> None:
    """On a full disk or an I/O error SQLite may roll the whole transaction back itself: the
    error that says why is the one raised, never a ROLLBACK's "no transaction is active"."""

    def a_write_sqlite_gave_up(journal: JournalFile) -> None:
        with journal.transaction() as db:
            db.execute("INSERT INTO meta (key, value) VALUES ('k', 'v')")
            db.execute("ROLLBACK")  # as SQLite does itself on SQLITE_FULL while spilling its cache
            raise sqlite3.OperationalError("database or disk is full")

    journal = JournalFile(tmp_path)
    with pytest.raises(sqlite3.OperationalError, match="database or disk is full"):
        a_write_sqlite_gave_up(journal)
    journal.close()


_FULL = multiprocessing.get_context("fork").Event()  # forked sending processes see it too
# How a journal's writes start failing, in SQLite's own words: the disk full (SQLite's page limit
# set to the database's size: SQLITE_FULL at the first write that needs a page; small pages make
# that soon), or the file system gone read-only (after an I/O error): every write refused.
_FAILING = {
    "disk-full": ("PRAGMA max_page_count = {pages}", "database or disk is full"),
    "read-only": ("PRAGMA query_only = 1", "attempt to write a readonly database"),
}


class _FillingUp(sqlite3.Connection):
    """A journal's connection whose writes fail, as `how` says, once `_FULL` is set."""

    how = "disk-full"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        super().execute("PRAGMA page_size = 512")  # takes effect in a new database only
        self.filled = False

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
        self._fill()
        return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:
        self._fill()
        return super().executemany(sql, parameters)

    def _fill(self) -> None:
        if _FULL.is_set() and not self.filled:
            self.filled = True
            (pages,) = super().execute("PRAGMA page_count").fetchone()
            super().execute(_FAILING[self.how][0].format(pages=pages))


@pytest.fixture(params=list(_FAILING))
def failing_journal(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Journals opened from now on fail to write once `_FULL` is set; yields SQLite's words."""
    connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *args, **kw: connect(*args, **kw, factory=_FillingUp))
    monkeypatch.setattr(_FillingUp, "how", request.param)
    _FULL.clear()
    yield _FAILING[request.param][1]
    _FULL.clear()


@pytest.mark.parametrize("connections", [1, 4])
def test_a_journal_that_fails_mid_send_says_what_went_and_a_rerun_doubles_nobody(
    cli: CLI, failing_journal: str, connections: int
) -> None:
    people = [f"person{number:02d}@example.org" for number in range(40)]
    write(Path("recipients/many.csv"), "email\n" + "\n".join(people) + "\n")
    script = Script(hold=Hold(at=10))  # the tenth message is held after its dot: then the disk fills

    def fill_at_the_tenth() -> None:
        assert script.hold is not None
        if script.hold.reached.wait(60):
            _FULL.set()
            script.hold.release.set()

    filler = threading.Thread(target=fill_at_the_tenth, daemon=True)
    with scripted_smtp(script) as port:
        _configure(port, connections=connections, retry_delay_seconds=0.01)
        filler.start()
        code, out, err = cli(
            "send", EXAMPLE_EVENT, "--to", "recipients/many.csv", "--transport", "smtp", "--past"
        )
        filler.join()
        assert code == 3, out + err
        assert "Traceback" not in err
        copies = script.copies()
        sent = re.search(r"sent (\d+) of 40 by SMTP", out)
        assert sent, out
        assert int(sent[1]) == sum(copies.values()), "what went is what the server kept"
        assert 1 <= int(sent[1]) < 40, "the journal failed mid-send"
        assert f"cannot write: {failing_journal}: the send stopped there" in err
        _FULL.clear()  # the disk has room again

        journal = _journal_outcomes()
        for address in people:
            kept, standing = copies[address], journal.get(address)
            if standing is Outcome.DELIVERED:
                assert kept == 1, address
            elif standing is Outcome.IN_FLIGHT:
                assert kept <= 1, address
            else:
                assert kept == 0, (address, standing)
            if kept and standing is not Outcome.DELIVERED:  # the journal does not know: said so
                assert f"not in the journal: {address} has the message" in err, err

        script.hold = None
        code, out, err = cli(
            "send", EXAMPLE_EVENT, "--to", "recipients/many.csv", "--transport", "smtp", "--past"
        )
        in_doubt = set(re.findall(r"in doubt: (\S+):", err))
        assert in_doubt == {a for a, outcome in journal.items() if outcome is Outcome.IN_FLIGHT}
        assert code == (3 if in_doubt else 0), out + err
        copies = script.copies()
        assert max(copies.values()) == 1, "nobody receives the message twice"
        assert {a for a in people if copies[a] == 0} <= in_doubt, "only those in doubt may lack it"
