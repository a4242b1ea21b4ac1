"""Servers that hang, trickle and refuse; journals that cannot be trusted; leftovers of killed runs."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from announcer.compose.message import Outgoing
from announcer.deliver.delivery import Deliverer
from announcer.deliver.journal import JOURNAL_PATH, Journal, Outcome
from announcer.deliver.transports.base import Transport
from announcer.model.recipient import Recipient
from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, write
from tests.scripted_smtp import Fault, Script, scripted_smtp


def _configure(port: int, **extra: object) -> None:
    lines = ["\n[smtp]", 'host = "127.0.0.1"', f"port = {port}", 'security = "none"']
    lines += [f"{key} = {value}" for key, value in extra.items()]
    with Path("announcer.toml").open("a") as settings:
        settings.write("\n".join(lines) + "\n")


def _send(cli: CLI) -> tuple[int, str, str, float]:
    started = time.monotonic()
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--transport", "smtp")
    return code, out, err, time.monotonic() - started


def _journal_outcomes() -> dict[str, Outcome]:
    with Journal(Path.cwd(), lock=False) as journal:
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
    script = Script("hang-after-data")
    with scripted_smtp(script) as port:
        _configure(port, timeout_seconds=60, deadline_seconds=120)
        command = [sys.executable, "-m", "announcer", "send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS]
        process = subprocess.Popen(
            [*command, "--transport", "smtp"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 30
        while not script.data_complete:
            assert time.monotonic() < deadline
            assert process.poll() is None, process.communicate()
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        time.sleep(0.3)
        assert process.poll() is None, "the first Ctrl-C waits for the message in hand"
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        _, err = process.communicate(timeout=10)
        assert time.monotonic() - started < 3, "the second one does not wait for the server"
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
        return Outgoing(recipient.email, "<m@example.org>", b"")

    with Journal(tmp_path) as journal:
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
    Journal(Path.cwd(), lock=False).close()
    with sqlite3.connect(JOURNAL_PATH) as db:
        db.execute("UPDATE meta SET value = '7' WHERE key = 'schema'")
    code, _, err, _ = _send(cli)
    assert code == 1
    assert "written by another version of announcer (journal schema 7, this one reads 2)" in err


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
