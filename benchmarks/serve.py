"""`announcer serve` under a burst of RFC 8058 one-click POSTs, as after a send to a big list,
beside a bare Starlette route on the same server (`benchmarks.bare_app`), in one run.

    .venv/bin/python -m benchmarks.serve [--posts 4000] [--rate 1000] [--rounds 3]

Each server runs in a process of its own pinned to one core (`taskset -c 0`), the client in
this one on another; rounds against each are taken in turn and the best of each is kept, so
that a noisy neighbour on this shared machine slows both alike. Every POST names a distinct
reader (its own token: the ledger records each, committed before it is answered) and comes
over a keep-alive connection of its own source address (127.0.0.2 up), as mail providers' do:
the per-client rate limit stays on, at its defaults, and no answer may be other than 200.

- Saturation: 250 connections each sending its POSTs one after another, as fast as answered:
  POSTs answered a second (the bare route's, and announcer's as a share of it).
- Burst: POSTs started at a fixed rate (--rate) whatever the answers, latency counted from
  when each was due (so a server that falls behind is charged for the queue): p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from announcer.audience.ledger import Audience
from announcer.audience.tokens import unsubscribe_token
from announcer.deliver.ledger import Ledger, Outcome
from announcer.model.recipient import Recipient

ROOT = Path(__file__).resolve().parents[1]
SECRET = "benchmark-secret"
PATH = "/onkpat-seminars/unsubscribe/"
BODY = b"List-Unsubscribe=One-Click"
CONNECTIONS = 250  # one per source address: 127.0.0.2 to 127.0.0.251
BASELINE = "bare Starlette route (baseline)"
ANNOUNCER = "announcer serve"
LIST = "onkpat-seminars.example.org"


@dataclass(frozen=True)
class Figures:
    rate: float  # POSTs answered a second
    p50_ms: float
    p99_ms: float
    failed: int  # answers other than 200
    cpu_us: float  # the server's CPU time a POST (user and system): what neighbours change least


class Server(NamedTuple):
    host: str
    port: int
    pid: int

    def cpu_seconds(self) -> float:
        """The CPU time the server process has used so far (Linux's /proc; 0 elsewhere)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def workspace(readers: int) -> Iterator[Path]:
    """The example workspace with a `{token}` URL, where a send reached `readers` people."""
    with tempfile.TemporaryDirectory(prefix="announcer-serve-bench-") as folder:
        root = Path(folder)
        shutil.copy(ROOT / "announcer.toml", root)
        settings = root / "announcer.toml"
        settings.write_text(settings.read_text().replace('/unsubscribe"', '/unsubscribe/{token}"'))
        with Ledger(root, lock=False) as ledger:
            for number in range(readers):
                reader = Recipient(f"person{number}@example.org", language="sv" if number % 3 else None)
                ledger.record(
                    "invitation:bench@example.org:0",
                    reader,
                    f"<{number}@x>",
                    Outcome.DELIVERED,
                    "",
                    later=True,
                )
        yield root


@contextmanager
def running(command: list[str], cwd: Path) -> Iterator[Server]:
    """A server process on one core; its host and port, from the line it prints."""
    pinned = (
        ["taskset", "-c", "0", *command] if shutil.which("taskset") and (os.cpu_count() or 1) > 1 else command
    )
    environment = {**os.environ, "ANNOUNCER_UNSUBSCRIBE_SECRET": SECRET, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(pinned, cwd=cwd, env=environment, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        while not (found := re.search(r"http://([\d.]+):(\d+)/", line := process.stdout.readline())):
            if not line:
                raise RuntimeError(f"{command[0]} did not start")
        yield Server(found[1], int(found[2]), process.pid)  # taskset execs the command: same pid
    finally:
        process.terminate()
        process.wait(30)


class Connection:
    """One keep-alive connection from its own source address, one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    @classmethod
    async def open(cls, host: str, port: int, source: str) -> Connection:
        reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
        return cls(reader, writer, host)

    async def post(self, token: str) -> int:
        self.writer.write(
            f"POST {PATH}{token} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(BODY)}\r\n\r\n".encode()
            + BODY
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        await self.reader.readexactly(int(length[1]) if length else 0)
        return int(head.split(b" ", 2)[1])

    def close(self) -> None:
        self.writer.close()


async def _connections(server: Server) -> list[Connection]:
    return [
        await Connection.open(server.host, server.port, f"127.0.0.{2 + number}")
        for number in range(CONNECTIONS)
    ]


def _figures(latencies: list[float], seconds: float, failed: int, cpu_seconds: float) -> Figures:
    ordered = sorted(latencies)
    return Figures(
        len(ordered) / seconds,
        ordered[len(ordered) // 2] * 1000,
        ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        failed,
        cpu_seconds / len(ordered) * 1e6,
    )


async def saturation(server: Server, tokens: list[str]) -> Figures:
    """Every connection sends its share of the POSTs one after another, as fast as answered."""
    cpu = server.cpu_seconds()
    connections = await _connections(server)
    latencies: list[float] = []
    failed = 0

    async def send(connection: Connection, share: list[str]) -> None:
        nonlocal failed
        for token in share:
            began = time.perf_counter()
            failed += await connection.post(token) != 200
            latencies.append(time.perf_counter() - began)

    began = time.perf_counter()
    await asyncio.gather(*(send(c, tokens[n::CONNECTIONS]) for n, c in enumerate(connections)))
    seconds = time.perf_counter() - began
    for connection in connections:
        connection.close()
    return _figures(latencies, seconds, failed, server.cpu_seconds() - cpu)


async def burst(server: Server, tokens: list[str], rate: float) -> Figures:
    """POSTs due at a fixed rate, each on the next free connection; latency from when it was due."""
    cpu = server.cpu_seconds()
    connections = await _connections(server)
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    for connection in connections:
        idle.put_nowait(connection)
    latencies: list[float] = []
    failed = 0

    async def send(token: str, due: float) -> None:
        nonlocal failed
        connection = await idle.get()
        failed += await connection.post(token) != 200
        latencies.append(time.perf_counter() - due)
        idle.put_nowait(connection)

    began = time.perf_counter()
    tasks = []
    for number, token in enumerate(tokens):
        due = began + number / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))  # the schedule of the burst itself
        tasks.append(asyncio.create_task(send(token, due)))
    await asyncio.gather(*tasks)
    seconds = time.perf_counter() - began
    for connection in connections:
        connection.close()
    return _figures(latencies, seconds, failed, server.cpu_seconds() - cpu)


def _round(server: Server, tokens: list[str], rate: float) -> tuple[Figures, Figures]:
    """One round against one server: the saturation on the first half of `tokens`, the burst on
    the second."""
    half = len(tokens) // 2
    return asyncio.run(saturation(server, tokens[:half])), asyncio.run(burst(server, tokens[half:], rate))


def measure(root: Path, posts: int, rate: float, rounds: int) -> dict[str, tuple[Figures, Figures]]:
    """The best of `rounds` rounds of each server, taken in turn (so that a noisy neighbour slows
    both alike): the highest saturated rate, the burst with the lowest p99. Every round of
    announcer's names readers of its own, `posts` for each part."""
    tokens = [unsubscribe_token(f"person{n}@example.org", SECRET) for n in range(2 * posts * rounds)]
    best: dict[str, tuple[Figures, Figures]] = {}
    with (
        running([sys.executable, "-m", "benchmarks.bare_app"], root) as bare,
        running([sys.executable, "-m", "announcer", "serve", "--port", "0"], root) as ours,
    ):
        for number in range(rounds):
            share = tokens[2 * posts * number : 2 * posts * (number + 1)]
            for name, server in ((BASELINE, bare), (ANNOUNCER, ours)):
                saturated, bursted = _round(server, share, rate)
                if name in best:
                    saturated = max(saturated, best[name][0], key=lambda figures: figures.rate)
                    bursted = min(bursted, best[name][1], key=lambda figures: figures.p99_ms)
                best[name] = saturated, bursted
    return best


def _line(label: str, figures: Figures) -> None:
    print(
        f"  {label:<34}{figures.rate:>7,.0f}/s  p50 {figures.p50_ms:6.1f} ms  p99 {figures.p99_ms:6.1f} ms"
        f"  CPU {figures.cpu_us:4.0f} µs a POST  not 200: {figures.failed}"
    )


def report(posts: int = 4000, rate: float = 1000.0, rounds: int = 3) -> None:
    """Measure and print: each part beside its baseline, and the ratio."""
    with workspace(2 * posts * rounds) as root:
        best = measure(root, posts, rate, rounds)
        with Audience(root, LIST) as ledger:
            recorded = len(ledger.left_out())
    bare, ours = best[BASELINE], best[ANNOUNCER]
    print(f"  saturation: {CONNECTIONS} connections, {posts:,} POSTs a round, best of {rounds} rounds")
    _line(BASELINE, bare[0])
    _line(ANNOUNCER, ours[0])
    print(f"  announcer at {ours[0].rate / bare[0].rate:.0%} of the baseline (target: 1,000/s or more)")
    print(
        f"  a core of its own (1 / CPU a POST): baseline {1e6 / bare[0].cpu_us:,.0f}/s, "
        f"announcer {1e6 / ours[0].cpu_us:,.0f}/s ({bare[0].cpu_us / ours[0].cpu_us:.0%})"
    )
    print(f"  burst: {posts:,} POSTs due at {rate:,.0f}/s, the round with the lowest p99 of {rounds}")
    _line(BASELINE, bare[1])
    _line(ANNOUNCER, ours[1])
    print(f"  p99 {ours[1].p99_ms / bare[1].p99_ms:.1f}x the baseline's (target: under 50 ms)")
    print(f"  the ledger has {recorded:,} unsubscribed of {2 * posts * rounds:,} POSTed (each once)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=4000, help="POSTs of each part in a round")
    parser.add_argument("--rate", type=float, default=1000.0, help="the burst's POSTs a second")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    pin_client()
    python = sys.version.split()[0]
    print(f"announcer serve benchmark, {os.cpu_count()} cores, each server on one, Python {python}")
    report(options.posts, options.rate, options.rounds)


def pin_client() -> None:
    """This process (the client) on the core beside the servers', not on it."""
    if (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})


if __name__ == "__main__":
    main()
