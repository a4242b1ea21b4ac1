"""announcer beside its baselines, in one run and on the same data; prints figures and ratios.

    .venv/bin/python -m benchmarks.run [--sizes 1000 10000 100000] [--smtp 1000] [--serve 4000]
                                       [--inbox 3000]

- Dry run: messages/s of `announcer send` (the send itself, in a process of its own) beside
  a naive stdlib script (one `EmailMessage` per recipient, `as_bytes()`, one file each; measured
  on the first 2,000 recipients) and a raw write of as many files of the same size (the disk).
  Peak RSS: the largest of the announcer process and its writing processes, each its own peak
  (see `child._peak_rss_mib`). Each measured write starts on a settled disk (see `_settle`):
  creating files just after deleting thousands not yet written back is several times faster,
  and while the disk discards what was deleted several times slower; which of these a round
  met decided its ratio before.
- Every announcer rate counts the whole send (reading and checking the list, the journal,
  composing, writing or sending) but its render, which is once per event and which the
  baselines are given; the render's own time is printed beside the rates.
- SMTP: messages/s of a real send (journal on) to a sink in another process, with 1 and 4
  connections, beside raw `smtplib` replaying the same prebuilt bytes over as many connections
  to the same sink; once with a sink that accepts at once (the client is the bound) and once
  with one that takes 5 ms to accept each message, as a server writing its queue does.
- Whole processes, first: `announcer render` of the example, and a digest of 200 events, with
  the package's modules compiled first, as an installed package's are; beside them, how long a
  fresh Python takes to import the libraries announcer builds on, to read them by (this shared
  machine has spells in which the same code runs at half speed).
- Serve, last: `announcer serve` answering one-click POSTs beside a bare Starlette route on the
  same server, each on one core (`benchmarks.serve`, which also runs alone).
- Inbox: `announcer inbox` over a Maildir of mixed bounces, complaints, unsubscriptions,
  replies and mail, beside the stdlib parsing the same files (`benchmarks.inbox`, which also
  runs alone).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

from announcer.load.events import load_named
from announcer.load.settings import load_settings
from announcer.model.recipient import Recipient
from benchmarks import child, inbox, serve

ROOT = Path(__file__).resolve().parents[1]
EVENT = "events/2026-03-06-car-t-cell-therapy.yaml"
NAIVE_SAMPLE = 2000
SENDER = "onkpat-seminars@example.org"
SINK_ACCEPT_MS = (0.0, 5.0)
NAMES = ("Åsa Lindqvist", "Jürgen Müller", "Chen Wei", "Zoë Martin", "Siobhán Ó Conaill", "Pat O'Brien")


@contextmanager
def workspace(recipients: int) -> Iterator[Path]:
    """A copy of the example workspace with a list of `recipients` generated people."""
    with tempfile.TemporaryDirectory(prefix="announcer-bench-") as folder:
        root = Path(folder)
        shutil.copy(ROOT / "announcer.toml", root)
        shutil.copytree(ROOT / "events", root / "events")
        shutil.copytree(ROOT / "series", root / "series")
        with (root / "list.csv").open("w", encoding="utf-8") as stream:
            stream.write("email,name\n")
            for number in range(recipients):
                stream.write(f"person{number}@example.org,{NAMES[number % len(NAMES)]} {number}\n")
        yield root


def _in_child(*arguments: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.child", *arguments], capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return result


def _naive(root: Path, count: int) -> float:
    """Messages/s of the stdlib way: one EmailMessage per recipient, serialised, written."""
    from announcer.model.settings import Letterhead
    from announcer.render.content import Renderer
    from tests.stdlib_composer import stdlib_message

    settings = load_settings(root / "announcer.toml")
    content = Renderer(Letterhead.of(settings)).render_event(
        load_named(root / EVENT, settings.defaults), child.edition(settings)
    )
    out = root / "naive"
    out.mkdir()
    started = time.perf_counter()
    for number in range(count):
        reader = Recipient(f"person{number}@example.org", f"{NAMES[number % len(NAMES)]} {number}")
        data = stdlib_message(content, settings, reader).as_bytes()
        (out / f"{number:06d}-{reader.email}.eml").write_bytes(data)
    seconds = time.perf_counter() - started
    shutil.rmtree(out)
    return count / seconds


def _raw_write(root: Path, count: int, data: bytes) -> float:
    """Messages/s of the disk: `count` files of these bytes, written and closed."""
    out = root / "raw"
    out.mkdir()
    started = time.perf_counter()
    for number in range(count):
        with (out / f"{number:06d}-person{number}@example.org.eml").open("wb") as file:
            file.write(data)
    seconds = time.perf_counter() - started
    shutil.rmtree(out)
    return count / seconds


def _settle(folder: Path, quiet_seconds: float = 1.0, longest: float = 120.0) -> None:
    """Write everything back (`sync`), then wait until the disk under `folder` has been idle for
    `quiet_seconds`: this disk discards what was deleted, in the background, for seconds after a
    large delete, and a round that met those discards ran at a fraction of the speed."""
    os.sync()
    device = folder.stat().st_dev
    counters = Path(f"/sys/dev/block/{os.major(device)}:{os.minor(device)}/stat")
    if not counters.exists():
        return
    deadline = time.monotonic() + longest
    last, quiet_since = counters.read_text(), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - quiet_since < quiet_seconds:
        time.sleep(0.1)
        if (now := counters.read_text()) != last:
            last, quiet_since = now, time.monotonic()


def _rounds(size: int) -> int:
    """Rounds at a size: five where a round takes seconds, three where it takes a minute."""
    return 5 if size <= 10_000 else 3


def dry_run(sizes: list[int]) -> list[tuple[int, dict[str, float], float, float]]:
    """Per size: announcer's figures (rate, render, peak RSS) and the disk's rate, best of the
    rounds taken in turn, so that a noisy neighbour slows both alike; the naive rate, measured once."""
    rows = []
    naive = 0.0
    for size in sizes:
        with workspace(size) as root:
            ours: dict[str, float] = {"rate": 0.0, "render": 0.0, "peak_rss_mib": 0.0}
            raw = 0.0
            for _ in range(_rounds(size)):
                _settle(root)  # each starts with nothing of the last one's left to write back
                run = _in_child("dry-run", str(root), str(size))
                ours = max(ours, run, key=lambda figures: figures["rate"])
                outbox = root / "outbox" / Path(EVENT).stem
                sample = next(outbox.iterdir()).read_bytes()
                shutil.rmtree(root / "outbox")
                _settle(root)
                raw = max(raw, _raw_write(root, size, sample))
            naive = naive or _naive(root, NAIVE_SAMPLE)
            rows.append((size, ours, naive, raw))
    return rows


@contextmanager
def sink(accept_ms: float) -> Iterator[int]:
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.sink", str(accept_ms)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None
    assert server.stdin is not None
    try:
        yield int(server.stdout.readline())
    finally:
        server.stdin.close()
        server.wait(timeout=30)


def _raw_smtp(port: int, prebuilt: list[bytes], connections: int) -> float:
    """Messages/s of plain smtplib `sendmail` replaying prebuilt bytes, one thread per connection."""

    def lane(number: int) -> None:
        with smtplib.SMTP("127.0.0.1", port) as connection:
            for index in range(number, len(prebuilt), connections):
                connection.sendmail(SENDER, [f"person{index}@example.org"], prebuilt[index])

    started = time.perf_counter()
    with ThreadPoolExecutor(connections) as pool:
        list(pool.map(lane, range(connections)))
    return len(prebuilt) / (time.perf_counter() - started)


def smtp(count: int) -> dict[tuple[float, int], tuple[float, float]]:
    """Messages/s of a real send (journal on, each with a journal afresh) and of raw smtplib with
    the same bytes, best of three rounds, by the sink's time to accept a message and the
    connections used."""
    rates = {}
    with workspace(count) as root:
        _in_child("dry-run", str(root), str(count))
        prebuilt = [path.read_bytes() for path in sorted((root / "outbox" / Path(EVENT).stem).iterdir())]
        for accept_ms in SINK_ACCEPT_MS:
            with sink(accept_ms) as port:
                for connections in (1, 4):
                    ours = raw = 0.0
                    for _ in range(3):  # best of three, taken in turn
                        child.use_smtp(root, port, connections)
                        ours = max(ours, _in_child("smtp", str(root), str(count))["rate"])
                        raw = max(raw, _raw_smtp(port, prebuilt, connections))
                    rates[accept_ms, connections] = ours, raw
    return rates


def _best_process(runs: int, *command: str, cwd: Path) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        best = min(best, time.perf_counter() - started)
    return best


def whole_processes() -> tuple[float, float]:
    """Seconds of `announcer render` on the example and of a 200-event digest, whole processes,
    with announcer's modules compiled first, as an installed package's are (pip compiles them; an
    editable install, in an environment that sets PYTHONDONTWRITEBYTECODE, never would)."""
    compileall.compile_dir(ROOT / "src", quiet=1)
    announcer = str(Path(sys.executable).with_name("announcer"))
    with workspace(1) as root:
        render = _best_process(3, announcer, "render", EVENT, "-o", "rendered", cwd=root)
        template = (root / EVENT).read_text(encoding="utf-8")
        first = date(2026, 3, 2)
        for number in range(200):
            day = first + timedelta(days=number % 7)
            hour = 8 + number % 10
            text = (  # each its own time, title and abstract, as in a real digest
                template.replace("start: 2026-03-06 12:00", f"start: {day} {hour:02d}:00")
                .replace("end: 2026-03-06 13:00", f"end: {day} {hour:02d}:45")
                .replace('title: "', f'title: "Talk {number}: ')
                .replace("abstract: |\n", f"abstract: |\n  In talk {number}, we ask a question of its own.\n")
            )
            (root / "events" / f"{day}-talk-{number:03d}.yaml").write_text(text, encoding="utf-8")
        digest = _best_process(
            3, announcer, "digest", "events", "--to", "list.csv", "--from", str(first), cwd=root
        )
    return render, digest


LIBRARIES = "import jinja2, mjml, premailer, icalendar, pydantic, babel.dates, yaml, typer, rich.progress"


def _libraries_imported() -> float:
    """Seconds for a fresh Python to import the libraries announcer builds on, nothing of its
    own: a yardstick of how fast the machine is just then, to compare the whole-process figures
    of two runs by."""
    return _best_process(3, sys.executable, "-c", LIBRARIES, cwd=ROOT)


def _line(label: str, value: str, note: str = "") -> None:
    print(f"  {label:<44}{value:>14}  {note}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000, 100_000])
    parser.add_argument("--smtp", type=int, default=1000)
    parser.add_argument("--serve", type=int, default=4000, help="one-click POSTs a part a round (0: none)")
    parser.add_argument("--inbox", type=int, default=3000, help="messages in the Maildir (0: none)")
    options = parser.parse_args()
    print(f"announcer benchmarks, {date.today()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}")

    # First, before the dry runs have written gigabytes and the disk is busy writing them back.
    print("\nwhole processes (best of 3)")
    render, digest = whole_processes()
    _line("announcer render, the example", f"{render:.2f} s", "(target < 1 s)")
    _line("announcer digest of 200 events", f"{digest:.2f} s", "(target < 3 s)")
    _line("  yardstick: importing the libraries alone", f"{_libraries_imported():.2f} s", "(see LIBRARIES)")

    print("\ndry run (messages/s, best of 5 rounds, 3 above 10,000; naive measured once, on 2,000)")
    peaks = {}
    for size, figures, naive, raw in dry_run(options.sizes):
        ours, peaks[size] = figures["rate"], figures["peak_rss_mib"]
        _line(
            f"{size:,} recipients: announcer",
            f"{ours:,.0f}/s",
            f"peak RSS {peaks[size]:.0f} MiB; its render, once: {figures['render']:.2f} s",
        )
        _line(
            "  naive stdlib script",
            f"{naive:,.0f}/s",
            f"announcer {ours / naive:.1f}x faster (target >= 15x)",
        )
        _line(
            "  raw write of the same bytes (disk)",
            f"{raw:,.0f}/s",
            f"announcer at {ours / raw:.0%} of it (>= 50%)",
        )
    if len(peaks) > 1:
        small, large = min(peaks), max(peaks)
        _line(f"peak RSS {large:,} vs {small:,}", f"{peaks[large] / peaks[small]:.2f}x", "(target <= 1.25x)")

    if options.smtp:
        print(
            f"\nSMTP, {options.smtp:,} messages to a sink in another process "
            "(messages/s, journal on, best of 3 rounds)"
        )
        rates = smtp(options.smtp)
        for accept_ms in SINK_ACCEPT_MS:
            print(
                f"  a sink that takes {accept_ms:g} ms to accept a message"
                if accept_ms
                else "  a sink that accepts at once"
            )
            for connections in (1, 4):
                ours, raw = rates[accept_ms, connections]
                _line(f"  announcer, {connections} connection(s)", f"{ours:,.0f}/s")
                _line(
                    "    raw smtplib replaying the same bytes",
                    f"{raw:,.0f}/s",
                    f"announcer at {ours / raw:.0%} (>= 80%)",
                )
            gain = rates[accept_ms, 4][0] / rates[accept_ms, 1][0]
            _line(
                "  announcer, 4 connections against 1",
                f"{gain:.1f}x",
                "(>= 2.5x where the sink is not the bound)",
            )

    if options.serve:
        print("\nannouncer serve: RFC 8058 one-click POSTs, each a reader of its own (see benchmarks.serve)")
        serve.pin_client()
        serve.report(options.serve)

    if options.inbox:
        print("\nannouncer inbox over a Maildir (messages/s; see benchmarks.inbox)")
        inbox.report(options.inbox)


if __name__ == "__main__":
    main()
