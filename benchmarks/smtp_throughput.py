"""Messages per second over one reused SMTP connection to a local server, journal on.

    python -m benchmarks.smtp_throughput [--recipients 1000]

Sends the example event to generated recipients through aiosmtpd on 127.0.0.1 (the test
server), with the SQLite journal written before and after every message, as a real send does.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from announcer.deliver.transports import TransportName
from announcer.jobs import SendOptions, send_invitation
from announcer.load.settings import load_settings
from tests.smtp_server import smtp_server

ROOT = Path(__file__).resolve().parents[1]
EVENT = "events/2026-03-06-car-t-cell-therapy.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recipients", type=int, default=1000)
    count = parser.parse_args().recipients

    with tempfile.TemporaryDirectory() as folder, smtp_server() as server:
        workspace = Path(folder)
        shutil.copy(ROOT / "announcer.toml", workspace)
        shutil.copytree(ROOT / "events", workspace / "events")
        with (workspace / "announcer.toml").open("a") as toml:
            toml.write(f'\n[smtp]\nhost = "127.0.0.1"\nport = {server.port}\nsecurity = "none"\n')
        recipients = workspace / "many.csv"
        recipients.write_text(
            "email,name\n" + "".join(f"person{n}@example.org,Person {n}\n" for n in range(count)),
            encoding="utf-8",
        )
        settings = load_settings(workspace / "announcer.toml")
        options = SendOptions(transport=TransportName.SMTP)

        started = time.perf_counter()
        report = send_invitation(workspace / EVENT, str(recipients), settings, options)
        first = time.perf_counter() - started
        started = time.perf_counter()
        again = send_invitation(workspace / EVENT, str(recipients), settings, options)
        second = time.perf_counter() - started

    assert report.summary.delivered == count == len(server.handler.received)
    assert again.summary.skipped == count
    print(
        f"SMTP send of {count} messages over one connection, journal on: {first:6.2f} s"
        f"  ({count / first:.0f} messages/s)"
    )
    print(
        f"re-run of the same send (journal says all delivered):        {second:6.2f} s"
        f"  ({count / second:.0f} recipients/s checked)"
    )


if __name__ == "__main__":
    main()
