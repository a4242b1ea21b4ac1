"""One send shared by two workspaces (two machines) on one PostgreSQL database: each claims its
own recipients, none is sent twice, a killed run leaves only its messages in hand in doubt, and
what one workspace's `serve` records the other's next send honours.

Each test makes the overlap it needs: a scripted server holds a chosen message of one workspace
until the other has done its part, so none hopes that a run is still going when it acts.
"""

from __future__ import annotations

import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from announcer.audience.tokens import unsubscribe_token
from announcer.load.settings import load_settings
from tests.helpers import EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, write
from tests.scripted_smtp import Hold, Phase, Script, scripted_smtp
from tests.serving import ONE_CLICK, PREFIX, SECRET, Process, with_token_url

COUNT = 2_000
CONNECTIONS = 2  # each workspace's: two sending processes, two database sessions
KILL_SEED = 20261207
KILLS = 4
PHASES: tuple[Phase, ...] = ("mail", "data", "after-dot")
MANY = "recipients/many.csv"


@pytest.fixture
def many() -> list[str]:
    return [f"person{number:04d}@example.org" for number in range(COUNT)]


@pytest.fixture
def two(workspace: Path, tmp_path: Path, postgres: str, many: list[str]) -> tuple[Path, Path]:
    """The example workspace and a copy of it elsewhere (another machine's), on one database,
    with the same list of COUNT readers."""
    write(workspace / MANY, "email,name\n" + "".join(f"{a},Person {a[6:10]}\n" for a in many))
    with (workspace / "announcer.toml").open("a") as settings:
        settings.write(f'\n[state]\ndatabase = "{postgres}"\n')
    other = tmp_path / "other"
    shutil.copytree(workspace, other)
    return workspace, other


def _relay(folder: Path, port: int) -> None:
    """The workspace sends through this server, over CONNECTIONS connections."""
    lines = ["\n[smtp]", 'host = "127.0.0.1"', f"port = {port}", 'security = "none"']
    lines += [f"connections = {CONNECTIONS}", "retry_delay_seconds = 0.01"]
    with (folder / "announcer.toml").open("a") as settings:
        settings.write("\n".join(lines) + "\n")


def _command(*extra: str, event: str = EXAMPLE_EVENT, to: str = MANY) -> list[str]:
    send = [sys.executable, "-m", "announcer", "send", event, "--to", to, "--transport", "smtp"]
    return [*send, "--past", *extra]  # the example's talks were in March 2026


Start = Callable[[Path], subprocess.Popen[str]]


@pytest.fixture
def start() -> Iterator[Start]:
    """Starts a send in a workspace, in a process of its own; one a failed test leaves is killed."""
    started: list[subprocess.Popen[str]] = []

    def run(folder: Path) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            _command(), cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _run(
    folder: Path, *extra: str, event: str = EXAMPLE_EVENT, to: str = MANY
) -> subprocess.CompletedProcess[str]:
    command = _command(*extra, event=event, to=to)
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=900, check=False)


def _until(condition: Callable[[], bool], process: subprocess.Popen[str], what: str) -> None:
    """Wait for `condition` (checked every 50 ms) while the process runs."""
    deadline = time.monotonic() + 300
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, what
        threading.Event().wait(0.05)


def _in_doubt(url: str) -> set[str]:
    """Whom the journal holds in doubt: a message in flight that no run saw settled."""
    with psycopg.connect(url) as db:
        return {
            str(row[0]) for row in db.execute("SELECT recipient FROM deliveries WHERE outcome = 'in-flight'")
        }


def _senders(url: str) -> Counter[str]:
    """How many deliveries each sender (machine and workspace) recorded."""
    with psycopg.connect(url) as db:
        return Counter(
            {
                str(sender): int(count)
                for sender, count in db.execute(
                    "SELECT sender, count(*) FROM deliveries WHERE outcome = 'delivered' GROUP BY sender"
                )
            }
        )


def _sessions_gone(url: str) -> bool:
    """Whether every announcer session on the database has ended (a killed run's too)."""
    with psycopg.connect(url) as db:
        row = db.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND application_name LIKE 'announcer%%' AND pid != pg_backend_pid()"
        ).fetchone()
    return row is not None and row[0] == 0


def test_two_workspaces_started_at_once_share_the_send_and_each_reader_gets_one_message(
    two: tuple[Path, Path], postgres: str, many: list[str], start: Start
) -> None:
    """Each workspace through its own relay: the first is held at its first message until the
    second has sent one, so both take a share however the machine schedules them."""
    first, second = two
    ours, theirs = Script(), Script()
    ours.hold = Hold(1, "mail")
    with scripted_smtp(ours) as port, scripted_smtp(theirs) as other_port:
        _relay(first, port)
        _relay(second, other_port)
        began = time.monotonic()
        one, other = start(first), start(second)
        _until(lambda: len(theirs.kept) > 0, other, "the second workspace never sent")
        ours.hold.release.set()
        out, err = one.communicate(timeout=900)
        other_out, other_err = other.communicate(timeout=900)
        took = time.monotonic() - began
    assert one.returncode == 0, out + err
    assert other.returncode == 0, other_out + other_err
    copies = ours.copies() + theirs.copies()
    assert copies == dict.fromkeys(many, 1), "every reader has exactly one message"
    assert len(ours.kept) > 0
    assert len(theirs.kept) > 0
    shares = _senders(postgres)
    assert sorted(shares.values()) == sorted([len(ours.kept), len(theirs.kept)]), shares
    assert "taken by another run sharing the journal" in out + other_out
    print(  # the figures for the record: pytest -s shows them
        f"\n{COUNT} readers, two workspaces of {CONNECTIONS} connections on one database: "
        f"{len(ours.kept)} + {len(theirs.kept)} messages, 0 doubled, in {took:.1f} s"
    )
    status = subprocess.run(
        [sys.executable, "-m", "announcer", "status", EXAMPLE_EVENT],
        cwd=second,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert f"{COUNT} delivered, 0 failed, 0 in doubt" in status.stdout, status.stdout + status.stderr
    parts = re.findall(r"sent from \S+:(\S+): (\d+)", status.stdout)
    assert sorted(parts) == sorted(
        [(str(first.resolve()), str(len(ours.kept))), (str(second.resolve()), str(len(theirs.kept)))]
    ), status.stdout


def test_one_workspace_killed_again_and_again_while_the_other_sends_nobody_gets_it_twice(
    two: tuple[Path, Path], postgres: str, many: list[str], start: Start
) -> None:
    """The second workspace sends throughout (one of its connections held at its first message,
    so that it is still running); the first is SIGKILLed at seeded points, KILLS times: a
    seeded number of its messages on, held at MAIL, as DATA opens, or after the final dot.
    Then each runs again until it is done; then count the copies both relays kept."""
    first, second = two
    ours, theirs = Script(), Script()
    chance = random.Random(KILL_SEED)
    with scripted_smtp(ours) as port, scripted_smtp(theirs) as other_port:
        _relay(first, port)
        _relay(second, other_port)
        theirs.hold = Hold(1, "mail")
        other = start(second)
        for _ in range(KILLS):
            hold = ours.hold = Hold(ours.transactions + chance.randint(1, 60), chance.choice(PHASES))
            killed = start(first)
            _until(hold.reached.is_set, killed, "the first workspace's send did not get there")
            killed.send_signal(signal.SIGKILL)
            killed.communicate()
            hold.release.set()
            assert ours.all_hung_up(30), "no connection of a killed run sends on alone"
        ours.hold = None
        theirs.hold.release.set()
        other_out, other_err = other.communicate(timeout=900)
        assert other.returncode in (0, 3), other_out + other_err
        for _ in range(100):  # a killed run's sessions end at the server's pace
            if _sessions_gone(postgres):
                break
            threading.Event().wait(0.1)
        final = _run(first)
        again = _run(second)
    in_doubt = _in_doubt(postgres)
    told_by_the_other, told_by_final = (
        set(re.findall(r"in doubt: (\S+):", err)) for err in (other_err, final.stderr)
    )
    assert told_by_the_other | told_by_final == in_doubt, "each doubt told by the run that found it"
    assert not told_by_the_other & told_by_final, "and told once (a cron job would repeat it)"
    assert "in doubt:" not in again.stderr, "both read one journal: nothing new to tell"
    assert "sent 0 of" in again.stdout, again.stdout
    copies = ours.copies() + theirs.copies()
    doubled = [address for address in many if copies[address] > 1]
    missing = [address for address in many if copies[address] == 0 and address not in in_doubt]
    doubt_without_data = [address for address in in_doubt if copies[address] == 0]
    print(  # the figures for the record: pytest -s shows them
        f"\n{KILLS} kills of one of two workspaces over {COUNT} readers: "
        f"{len(ours.kept)} + {len(theirs.kept)} messages, "
        f"{sum(copies[a] == 1 for a in many)} delivered once, "
        f"{len(doubled)} doubled, {len(in_doubt)} in doubt ({len(doubt_without_data)} of them never arrived: "
        "killed between the journal's in-flight line and the server's reading of the final dot)"
    )
    assert doubled == [], "nobody receives the message twice"
    assert missing == [], "whoever has not got it is reported in doubt"
    assert len(in_doubt) <= KILLS * CONNECTIONS, "at most the message in hand on each connection killed"
    assert final.returncode == (3 if told_by_final else 0), final.stdout + final.stderr
    assert len(theirs.kept) > 0
    assert len(ours.kept) > 0


def test_an_unsubscription_served_by_one_workspace_is_honoured_by_the_other_s_next_send(
    two: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first workspace sends for real; the second's `announcer serve` (another machine's)
    learns the tokens from the shared journal and takes a reader's one-click POST; the first's
    next send leaves that reader out."""
    first, second = two
    leaving = "zoe.martin@example.net"
    for folder in two:
        with_token_url(folder, monkeypatch)
    relay = Script()
    with scripted_smtp(relay) as port:
        _relay(first, port)
        sent = _run(first, event=EXAMPLE_EVENT, to=EXAMPLE_RECIPIENTS)
        assert sent.returncode == 0, sent.stdout + sent.stderr
        assert relay.copies()[leaving] == 1

        monkeypatch.chdir(second)
        load_settings(second / "announcer.toml")
        serving = Process()
        try:
            assert serving.client.post(PREFIX + unsubscribe_token(leaving, SECRET), ONE_CLICK).status == 200
        finally:
            code, _, err = serving.stop()
        assert code == 0, err
        assert "knows the tokens of 5 readers the journal names\n" in serving.said, serving.said

        following = "events/2026-03-13-tumour-microenvironment.yaml"
        sent = _run(first, event=following, to=EXAMPLE_RECIPIENTS)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert "left out 1: 1 unsubscribed" in sent.stdout, sent.stdout
    assert relay.copies()[leaving] == 1, "the first message only"
    assert sum(relay.copies().values()) == 5 + 4
