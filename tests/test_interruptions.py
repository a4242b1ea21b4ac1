"""Killed or interrupted mid-send, then run again: nobody is lost, nobody gets it twice."""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import EXAMPLE_EVENT, configure_smtp, write
from tests.smtp_server import Server, smtp_server

COUNT = 600
KILL_SEED = 20261201


@pytest.fixture(params=[1, 4], ids=["1-connection", "4-connections"])
def lanes(request: pytest.FixtureRequest) -> int:
    """Connections used at once: each one may hold a message in doubt at a kill."""
    count: int = request.param
    return count


@pytest.fixture
def server(workspace: Path, lanes: int) -> Iterator[Server]:
    with smtp_server() as running:
        configure_smtp(running, connections=lanes)
        yield running


@pytest.fixture
def many(workspace: Path) -> list[str]:
    addresses = [f"person{number:04d}@example.org" for number in range(COUNT)]
    write(Path("recipients/many.csv"), "email,name\n" + "".join(f"{a},Person {a[6:10]}\n" for a in addresses))
    return addresses


def _command(*extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "announcer",
        "send",
        EXAMPLE_EVENT,
        "--to",
        "recipients/many.csv",
        "--transport",
        "smtp",
        *extra,
    ]


def _start() -> subprocess.Popen[str]:
    return subprocess.Popen(_command(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(server: Server, received: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while len(server.handler.received) < received:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the send did not get going"
        time.sleep(0.01)


def _run(*extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_command(*extra), capture_output=True, text=True, timeout=600, check=False)


def test_killed_mid_send_then_rerun_delivers_everyone_exactly_once(
    server: Server, many: list[str], lanes: int
) -> None:
    process = _start()
    _wait_for(server, COUNT // 3, process)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    assert 0 < len(server.handler.received) < COUNT
    after_the_kill = len(server.handler.received)
    time.sleep(1)
    assert len(server.handler.received) == after_the_kill, "no connection sends on alone"

    rerun = _run()
    counts = server.handler.counts()
    assert max(counts.values()) == 1, "nobody receives the message twice"
    in_doubt = re.findall(r"in doubt: (\S+):", rerun.stderr)
    assert len(in_doubt) <= lanes, rerun.stderr
    assert rerun.returncode == (3 if in_doubt else 0), rerun.stdout + rerun.stderr
    missing = [address for address in many if counts[address] == 0]
    assert set(missing) <= set(in_doubt), "only messages in flight may be missing, and they are reported"

    if missing:  # the organiser checked: it never arrived, so they send it again, explicitly
        resolved = _run("--resend-in-doubt")
        assert resolved.returncode == 0, resolved.stderr
    assert server.handler.counts() == dict.fromkeys(many, 1)


def test_ctrl_c_finishes_the_message_in_hand_then_stops(server: Server, many: list[str]) -> None:
    process = _start()
    _wait_for(server, 50, process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 3, out + err
    assert "stopping after the current message" in err
    assert "stopped before the end: run the same command again to send the rest" in err
    assert "in doubt" not in err
    sent_before = len(server.handler.received)
    assert sent_before < COUNT

    rerun = _run()
    assert rerun.returncode == 0, rerun.stderr
    assert f"sent {COUNT - sent_before} of {COUNT} by SMTP; {sent_before} had it already" in rerun.stdout
    assert server.handler.counts() == dict.fromkeys(many, 1)


def test_a_sending_process_killed_stops_the_run_and_a_rerun_sends_the_rest_once(
    workspace: Path, many: list[str]
) -> None:
    """Four connections are four processes: one of them killed is an error of the run, the
    others stop between messages, and the journal knows the rest."""
    with smtp_server() as server:
        configure_smtp(server, connections=4)
        process = _start()
        _wait_for(server, COUNT // 3, process)
        lanes = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        assert len(lanes) == 4, lanes
        os.kill(int(lanes[1]), signal.SIGKILL)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 3, out + err
        assert "a sending process ended before its share of the list was sent" in err
        assert 0 < len(server.handler.received) < COUNT

        rerun = _run()
        in_doubt = re.findall(r"in doubt: (\S+):", rerun.stderr)
        assert len(in_doubt) <= 1, rerun.stderr
        counts = server.handler.counts()
        assert max(counts.values()) == 1, "nobody receives the message twice"
        assert {address for address in many if counts[address] == 0} <= set(in_doubt)


def test_two_sends_at_once_are_refused(server: Server, many: list[str]) -> None:
    process = _start()
    _wait_for(server, 10, process)
    second = _run()
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    assert second.returncode == 1
    assert "another send is running in this workspace" in second.stderr
    assert os.path.exists(".announcer/journal.sqlite")


def test_killed_again_and_again_nobody_gets_it_twice_and_doubt_is_only_where_data_went(
    server: Server, many: list[str], lanes: int
) -> None:
    """SIGKILL at seeded random instants until a run finishes by itself; then count."""
    chance = random.Random(KILL_SEED)
    kills = 0
    while True:
        before = len(server.handler.received)
        process = _start()
        while len(server.handler.received) == before and process.poll() is None:
            time.sleep(0.005)  # the run got going (or ended): now kill it at a random instant
        try:
            out, err = process.communicate(timeout=chance.uniform(0.0, 1.0))
            break  # the run ended by itself: every recipient settled
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.communicate()
            kills += 1
    in_doubt = set(re.findall(r"in doubt: (\S+):", err))
    counts = server.handler.counts()
    doubled = [address for address in many if counts[address] > 1]
    missing = [address for address in many if counts[address] == 0 and address not in in_doubt]
    doubt_without_data = [address for address in in_doubt if counts[address] == 0]
    print(  # the figures for the record: pytest -s shows them
        f"\n{kills} kills over {COUNT} recipients: {sum(counts[a] == 1 for a in many)} delivered once, "
        f"{len(doubled)} doubled, {len(in_doubt)} in doubt ({len(doubt_without_data)} of them never arrived: "
        "killed between the journal's commit and the final dot)"
    )
    assert kills >= 3, "the seed gives several kills"
    assert doubled == [], "nobody receives the message twice"
    assert missing == [], "whoever has not got it is reported in doubt"
    assert process.returncode == (3 if in_doubt else 0), out + err
    assert len(doubt_without_data) <= kills * lanes, "at most the message in hand on each connection"
