"""One measured send in a process of its own, for `benchmarks.run`; prints one JSON line.

python -m benchmarks.child dry-run|smtp WORKSPACE COUNT

The send is timed whole, and so is its render (once per event and language): the messages' rate
leaves the render out, as the baselines, given the rendered message, do.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

from announcer.deliver.transports import TransportName
from announcer.jobs import SendOptions, send_invitation
from announcer.lifecycle import Edition
from announcer.load.settings import load_settings
from announcer.model.settings import Settings
from announcer.render.content import Renderer

EVENT = "events/2026-03-06-car-t-cell-therapy.yaml"


def edition(settings: Settings) -> Edition:
    """The example's first invitation."""
    return Edition(f"2026-03-06-car-t-cell-therapy@{settings.sender.domain}", 0, "")


def use_smtp(root: Path, port: int, connections: int) -> None:
    """Point the workspace's settings at a plain SMTP server on 127.0.0.1, with a journal afresh."""
    settings = root / "announcer.toml"
    text = settings.read_text(encoding="utf-8").split("\n[smtp]\n")[0]
    smtp = f'host = "127.0.0.1"\nport = {port}\nsecurity = "none"\nconnections = {connections}\n'
    settings.write_text(f"{text}\n[smtp]\n{smtp}", encoding="utf-8")
    journal = root / ".announcer" / "journal.sqlite"
    for path in (journal, journal.with_name("journal.sqlite-wal"), journal.with_name("journal.sqlite-shm")):
        path.unlink(missing_ok=True)


P = ParamSpec("P")
R = TypeVar("R")
_rendering = [0.0]  # seconds spent rendering, by every render of the send


def _timed(function: Callable[P, R]) -> Callable[P, R]:
    @wraps(function)
    def timed(*args: P.args, **kwargs: P.kwargs) -> R:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            _rendering[0] += time.perf_counter() - started

    return timed


def _peak_rss_mib() -> float:
    """This process's own peak resident memory. Not `ru_maxrss`: that also counts the memory of
    the process that started this one, as it was when it forked (Linux keeps it across exec),
    so a benchmark runner grown by its own work would be measured here."""
    with Path("/proc/self/status").open(encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    kind, root, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    settings = load_settings(root / "announcer.toml")
    transport = TransportName.SMTP if kind == "smtp" else TransportName.DRY_RUN
    options = SendOptions(transport=transport, outbox=root / "outbox")
    Renderer.render_event = _timed(Renderer.render_event)  # type: ignore[method-assign]
    started = time.perf_counter()
    report = send_invitation(root / EVENT, str(root / "list.csv"), settings, options, past=True)
    seconds = time.perf_counter() - started
    assert report.summary.delivered == count, report.summary
    peak = max(_peak_rss_mib(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    render = _rendering[0]
    figures = {"seconds": seconds, "render": render, "rate": count / (seconds - render), "peak_rss_mib": peak}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
