"""The state in PostgreSQL beside SQLite, and a send shared by two workspaces beside one; each
ratio against its baseline measured in the same run, rounds taken in turn.

    .venv/bin/python -m benchmarks.state [--count 10000] [--shared-count 3000] [--latency-ms 50]
                                         [--rounds 2]

- Journal: wall time of a real `announcer send` (a process of its own, as a user runs it;
  CONNECTIONS connections) of `--count` readers to the fast sink (`benchmarks.sink`, accepting
  at once, so that the client is the bound), with `[state] database` in PostgreSQL against the
  journal in SQLite; each round a journal afresh (a new database, a new file).
- Shared send: the same send of `--shared-count` readers to a sink that takes `--latency-ms` to
  accept each message (a real server writing its queue), from one workspace against two copies
  of it on one PostgreSQL database started at once (two machines; each CONNECTIONS connections).

PostgreSQL is CI's (ANNOUNCER_TEST_POSTGRES), else a cluster of its own started with
tests/postgres/start (Debian's binaries) and stopped at the end.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from benchmarks.run import EVENT, sink, workspace
from tests.postgres_server import fresh_database, server

CONNECTIONS = 2
_SENT = re.compile(r"^sent (\d+) of (\d+) by SMTP", re.MULTILINE)


def configure(root: Path, port: int, database: str | None) -> None:
    """The workspace sends to the sink on `port`; its state in `database`, or in its own file afresh."""
    settings = root / "announcer.toml"
    text = settings.read_text(encoding="utf-8").split("\n# benchmark\n")[0]
    text += f'\n# benchmark\n[smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
    text += f"connections = {CONNECTIONS}\n"
    if database is not None:
        text += f'\n[state]\ndatabase = "{database}"\n'
    settings.write_text(text, encoding="utf-8")
    shutil.rmtree(root / ".announcer", ignore_errors=True)


def _send(root: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "announcer", "send", EVENT, "--to", "list.csv", "--transport", "smtp"]
    return subprocess.Popen(
        [*command, "--past"], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def timed_sends(roots: list[Path]) -> tuple[float, int]:
    """Seconds until every workspace's send, started at once, has ended; messages sent in all."""
    started = time.perf_counter()
    running = [_send(root) for root in roots]
    sent = 0
    for process in running:
        out, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"the send failed ({process.returncode}): {out}{err}")
        sent += sum(int(found[1]) for found in _SENT.finditer(out))
    return time.perf_counter() - started, sent


def journal(database: str, count: int, rounds: int) -> tuple[float, float]:
    """Messages/s of a send with the journal in SQLite and in PostgreSQL, best of `rounds` each."""
    sqlite = pg = 0.0
    with workspace(count) as root, sink(0.0) as port:
        for _ in range(rounds):
            for where in ("sqlite", "postgresql"):
                configure(root, port, fresh_database(database) if where == "postgresql" else None)
                seconds, sent = timed_sends([root])
                assert sent == count, (sent, count)
                if where == "sqlite":
                    sqlite = max(sqlite, count / seconds)
                else:
                    pg = max(pg, count / seconds)
    return sqlite, pg


def shared(database: str, count: int, latency_ms: float, rounds: int) -> tuple[float, float]:
    """Messages/s of one workspace, and of two on one database, sending to a slow sink."""
    one = two = 0.0
    with workspace(count) as root, sink(latency_ms) as port:
        other = root.parent / (root.name + "-other")
        try:
            for _ in range(rounds):
                configure(root, port, fresh_database(database))
                seconds, sent = timed_sends([root])
                assert sent == count, (sent, count)
                one = max(one, count / seconds)

                configure(root, port, fresh_database(database))
                shutil.rmtree(other, ignore_errors=True)
                shutil.copytree(root, other)
                seconds, sent = timed_sends([root, other])
                assert sent == count, (sent, count)
                two = max(two, count / seconds)
        finally:
            shutil.rmtree(other, ignore_errors=True)
    return one, two


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--shared-count", type=int, default=3_000)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    with contextmanager(server)() as database:
        sqlite, pg = journal(database, arguments.count, arguments.rounds)
        print(
            f"journal, {arguments.count:,} readers over {CONNECTIONS} connections to the fast sink: "
            f"SQLite {sqlite:,.0f}/s, PostgreSQL {pg:,.0f}/s: {pg / sqlite:.0%} of SQLite's rate",
            flush=True,
        )
        if not arguments.shared_count:  # --shared-count 0: the journal alone
            return
        one, two = shared(database, arguments.shared_count, arguments.latency_ms, arguments.rounds)
        print(
            f"shared send, {arguments.shared_count:,} readers to a sink taking {arguments.latency_ms:g} ms "
            f"a message, {CONNECTIONS} connections each: one workspace {one:,.0f}/s, two on one "
            f"database {two:,.0f}/s: {two / one:.2f}x"
        )


if __name__ == "__main__":
    main()
