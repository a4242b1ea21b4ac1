"""announcer inbox killed (SIGKILL) at random points over a Maildir of a few hundred messages,
and run again until it is done: each message handled once, each bounce counted once (the log
says so), nothing lost, nothing moved twice.

The clock of each run is days after the last one, so that a bounce handled twice would count
twice (within a day a second bounce of an address is not counted, which would hide it)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from announcer.audience.ledger import Audience, AudienceLedger, State
from announcer.audience.tokens import unsubscribe_token
from tests.inbox_mail import (
    BOUNCES,
    LEAVE,
    LIST,
    SECRET,
    UNSUBSCRIBE_URL,
    arf,
    auto_reply,
    deliver,
    dsn,
    mail,
    sent_to,
)

READERS = [f"reader{number}@example.org" for number in range(240)]
# Runs the CLI with the clock starting at day ANNOUNCER_TEST_DAY, a day passing at each reading;
# with ANNOUNCER_KILL_AT=sql:N (or rename:N) it kills itself with SIGKILL just before its Nth
# SQLite statement starts (a COMMIT, an INSERT of a transaction) or its Nth rename (a move).
CHILD = """
import itertools, os, signal, sqlite3, sys
from datetime import UTC, datetime, timedelta
from announcer import clock
start = datetime(2026, 3, 1, tzinfo=UTC) + timedelta(days=int(os.environ["ANNOUNCER_TEST_DAY"]))
ticks = itertools.count()
clock._now = lambda: start + timedelta(days=next(ticks))
what, _, at = os.environ.get("ANNOUNCER_KILL_AT", "none:0").partition(":")
seen = itertools.count(1)
def reached(*_):
    if next(seen) == int(at):
        os.kill(os.getpid(), signal.SIGKILL)
if what == "sql":
    connect = sqlite3.connect
    def traced(*args, **options):
        connection = connect(*args, **options)
        connection.set_trace_callback(reached)
        return connection
    sqlite3.connect = traced
elif what == "rename":
    sys.addaudithook(lambda event, args: reached() if event == "os.rename" else None)
from announcer.cli import main
sys.argv = ["announcer", *sys.argv[1:]]
main()
"""


def _workspace(workspace: Path) -> None:
    settings = workspace / "announcer.toml"
    settings.write_text(
        settings.read_text().replace(
            '"https://lists.example.org/onkpat-seminars/unsubscribe"', f'"{UNSUBSCRIBE_URL}"'
        )
    )
    sent_to(workspace, READERS)


def _mailbox(maildir: Path) -> int:
    """200 bounces (one per reader), 20 complaints, 20 mailed unsubscriptions, 20 automatic
    replies, 20 others: 280 messages."""
    messages = [
        dsn(BOUNCES, reader, message_id=f"<dsn{n}@mx.example.net>") for n, reader in enumerate(READERS[:200])
    ]
    messages += [arf(original_to=reader) for reader in READERS[200:220]]
    messages += [
        mail("x@example.net", LEAVE, f"unsubscribe {unsubscribe_token(reader, SECRET)}")
        for reader in READERS[220:240]
    ]
    messages += [auto_reply(reader) for reader in READERS[:20]]
    messages += [
        mail(f"person{n}@example.net", "onkpat-seminars@example.org", f"Question {n}") for n in range(20)
    ]
    random.Random(7).shuffle(messages)
    deliver(maildir, *messages)
    return len(messages)


def test_inbox_killed_anywhere_handles_each_message_once(workspace: Path) -> None:
    _workspace(workspace)
    maildir = workspace / "Maildir"
    total = _mailbox(maildir)
    environment = {**os.environ, "PYTHONUNBUFFERED": "1", "ANNOUNCER_UNSUBSCRIBE_SECRET": SECRET}
    chance = random.Random(int(os.environ.get("ANNOUNCER_KILL_SEED", "25")))
    reported: list[str] = []
    kills: Counter[str] = Counter()
    for run in range(100):
        # A random point: inside the handling (before a statement: an INSERT, a COMMIT) or after
        # a line it printed (the parent's SIGKILL lands wherever the child has got to); once most
        # is handled, inside the moves (which follow the handling of the rest); then to the end.
        to_move = _unmoved(maildir) - 20
        if _handled(workspace) < total * 3 // 4:
            how = chance.choice(["sql", "sql", "line"])
        elif kills["rename"] < 3 and to_move > 1:
            how = "rename"
        else:
            how = "none"
        at = chance.randrange(1, {"sql": 700, "line": 60, "rename": max(to_move, 2), "none": 2}[how])
        environment["ANNOUNCER_TEST_DAY"] = str(run * 10_000)
        environment["ANNOUNCER_KILL_AT"] = f"{how}:{at}"
        process = subprocess.Popen(
            [sys.executable, "-c", CHILD, "inbox", "--mailbox", str(maildir), "--move-to", "Handled"],
            cwd=workspace,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert process.stdout is not None
        for lines, line in enumerate(process.stdout, start=1):
            if not line.startswith("inbox: "):
                reported.append(line.split(": ", 2)[1])
            if how == "line" and lines >= at:
                process.send_signal(signal.SIGKILL)
                break
        process.stdout.close()
        code = process.wait()
        if code in (0, 4):
            break
        assert code == -signal.SIGKILL, f"run {run} failed with exit status {code}"
        kills[how] += 1
    else:
        pytest.fail("inbox never finished")
    assert kills["sql"] >= 5, kills
    assert kills["line"] >= 2, kills
    assert kills["rename"] >= 1, kills

    assert len(reported) == len(set(reported)), "a message was reported by two runs"
    with Audience(workspace, LIST) as audience:
        _each_once(audience, total)
    handled = {path.name for path in (maildir / ".Handled" / "cur").iterdir()}
    left = {path.name for folder in ("new", "cur") for path in (maildir / folder).iterdir()}
    assert len(handled) == total - 20, "what was handled is moved"
    assert len(left) == 20, "the others are left alone"


def _unmoved(maildir: Path) -> int:
    return sum(1 for folder in ("new", "cur") for _ in (maildir / folder).iterdir())


def _handled(workspace: Path) -> int:
    with Audience(workspace, LIST) as audience:
        return int(audience.file.db.execute("SELECT count(*) FROM handled").fetchone()[0])


def _each_once(audience: AudienceLedger, total: int) -> None:
    log = audience.log()
    bounces = [line.address for line in log if line.how == "bounce"]
    assert sorted(bounces) == sorted(READERS[:200]), "each bounce counted once"
    states = {standing.address: standing.state for standing in audience.standings()}
    assert [address for address, state in states.items() if state is State.COMPLAINED] == READERS[200:220]
    assert sorted(a for a, s in states.items() if s is State.UNSUBSCRIBED) == sorted(READERS[220:240])
    assert int(audience.file.db.execute("SELECT count(*) FROM handled").fetchone()[0]) == total
