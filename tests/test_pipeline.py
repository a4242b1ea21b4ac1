"""The send pipeline and the transport registry: what a transport can do decides, never its name."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from announcer import pipeline
from announcer.compose.message import Outgoing
from announcer.deliver.transports import TRANSPORTS, TransportKind, TransportName
from announcer.deliver.transports.base import Transport
from announcer.jobs import SendOptions, send_cancellation, send_invitation
from announcer.model.settings import Settings
from tests.helpers import EXAMPLE_EVENT, EXAMPLE_RECIPIENTS


class Recording(Transport):
    """A third transport (an HTTP API, say): keeps what it is given."""

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []

    def open(self) -> None:
        pass

    def send(self, message: Outgoing, committing: Callable[[], None] = lambda: None) -> str:
        committing()
        self.sent.append(message)
        return "202 accepted"

    def close(self) -> None:
        pass


def test_every_transport_a_send_can_name_is_in_the_registry() -> None:
    assert set(TRANSPORTS) == set(TransportName)


@pytest.mark.parametrize(
    ("options", "journaled"),
    [
        (SendOptions(), False),
        (SendOptions(transport=TransportName.SMTP), True),
        (SendOptions(transport=TransportName.SMTP, test_to="me@example.org"), False),
    ],
)
def test_a_send_is_journaled_when_its_transport_reaches_people_and_it_is_no_test(
    options: SendOptions, journaled: bool
) -> None:
    assert options.journaled is journaled


def test_a_new_transport_is_a_registry_row_and_the_pipeline_follows_what_it_can_do(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transport that reaches people is journaled (a rerun sends nothing again; a cancellation
    goes to those it reached) and is asked how many processes share a run, whatever its name."""
    recording = Recording()
    asked: list[int] = []

    def processes(settings: Settings, total: int) -> int:
        asked.append(total)
        return 1

    row = TransportKind(reaches_people=True, build=lambda *_: recording, processes=processes)
    monkeypatch.setattr(pipeline, "TRANSPORTS", {**TRANSPORTS, TransportName.DRY_RUN: row})
    options = SendOptions(transport=TransportName.DRY_RUN)

    first = send_invitation(Path(EXAMPLE_EVENT), EXAMPLE_RECIPIENTS, settings, options, past=True)
    again = send_invitation(Path(EXAMPLE_EVENT), EXAMPLE_RECIPIENTS, settings, options, past=True)
    cancelled = send_cancellation(Path(EXAMPLE_EVENT), None, settings, options, past=True)

    assert first.summary.delivered == first.recipients > 1
    assert (again.summary.delivered, again.summary.skipped) == (0, first.recipients)
    assert first.key.startswith("invitation:")
    assert cancelled.key.startswith("cancellation:")
    assert cancelled.summary.delivered == first.recipients  # the journal knew whom it reached
    assert len(recording.sent) == 2 * first.recipients
    assert asked == [first.recipients, first.recipients, first.recipients]
    assert not (settings.workspace / "outbox").exists()  # nothing went the dry run's way
