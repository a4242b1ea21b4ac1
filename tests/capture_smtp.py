"""Send the example through a real SMTP server on 127.0.0.1 and keep what the server received.

    python -m tests.capture_smtp OUTDIR

The example's invitation, then the life of an RSVP event: the invitation asking for replies,
its move to another time (an update) and its cancellation. Writes each received message as
OUTDIR/NNNN.eml, exactly as it arrived, so that `../shared/acceptance/check OUTDIR` judges real
SMTP output of every kind, not only dry runs.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from announcer.deliver.transports import TransportName
from announcer.jobs import SendOptions, send_cancellation, send_invitation
from announcer.load.settings import load_settings
from tests.helpers import configure_smtp, copy_example
from tests.smtp_server import smtp_server

EVENT = "events/2026-03-06-car-t-cell-therapy.yaml"
RSVP_EVENT = "events/2026-03-13-tumour-microenvironment.yaml"
RECIPIENTS = "recipients/example.csv"


def capture(outdir: Path) -> int:
    """Send the example to a local server; write what it received into `outdir`."""
    with tempfile.TemporaryDirectory() as folder, smtp_server() as server:
        workspace = Path(folder)
        copy_example(workspace)
        configure_smtp(server, workspace)
        settings = load_settings(workspace / "announcer.toml")
        options = SendOptions(transport=TransportName.SMTP)
        recipients = str(workspace / RECIPIENTS)
        reports = [send_invitation(workspace / EVENT, recipients, settings, options, past=True)]
        reports.append(
            send_invitation(workspace / RSVP_EVENT, recipients, settings, options, rsvp=True, past=True)
        )
        moved = workspace / RSVP_EVENT
        moved.write_text(moved.read_text().replace("13 12:00", "13 14:00").replace("13 13:00", "13 15:00"))
        reports.append(send_invitation(moved, recipients, settings, options, past=True))
        reports.append(send_cancellation(moved, None, settings, options, past=True))
        for report in reports:
            if not report.summary.complete:
                raise SystemExit(f"{report.key}: the send did not complete: {report.summary}")
        outdir.mkdir(parents=True, exist_ok=True)
        for number, received in enumerate(server.handler.received, start=1):
            (outdir / f"{number:04d}.eml").write_bytes(received.data)
        return len(server.handler.received)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    count = capture(Path(sys.argv[1]))
    print(f"the server received {count} messages; written to {sys.argv[1]}")
