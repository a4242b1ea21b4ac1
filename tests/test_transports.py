"""The transport contract, run against every transport; then what is special to the dry run."""

from __future__ import annotations

from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from announcer.composing import WIRE
from announcer.transports.base import Transport
from announcer.transports.dryrun import DryRunTransport


def _message(number: int) -> EmailMessage:
    message = EmailMessage(policy=WIRE)
    message["From"] = "Sender <sender@example.org>"
    message["To"] = f"Person {number} <person{number}@example.org>"
    message["Subject"] = f"Message {number}"
    message["Message-ID"] = f"<m{number}@example.org>"
    message.set_content(f"Body {number}\n")
    return message


class DryRunHarness:
    """Builds a dry-run transport and reads back what it delivered."""

    def __init__(self, tmp_path: Path) -> None:
        self.outbox = tmp_path / "outbox"

    def transport(self) -> Transport:
        return DryRunTransport(self.outbox, "event")

    def delivered(self) -> list[EmailMessage]:
        paths = sorted((self.outbox / "event").glob("*.eml"))
        return [message_from_bytes(path.read_bytes(), policy=policy.default) for path in paths]


HARNESSES: list[Callable[[Path], DryRunHarness]] = [DryRunHarness]


@pytest.fixture(params=HARNESSES, ids=lambda harness: harness.__name__)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> DryRunHarness:
    maker: Callable[[Path], DryRunHarness] = request.param
    return maker(tmp_path)


def test_delivers_every_message_once_in_order(harness: DryRunHarness) -> None:
    with harness.transport() as transport:
        for number in range(1, 4):
            transport.send(_message(number))
    delivered = harness.delivered()
    assert [str(message["Message-ID"]) for message in delivered] == [
        "<m1@example.org>",
        "<m2@example.org>",
        "<m3@example.org>",
    ]
    assert delivered[0].get_content().splitlines() == ["Body 1"]


def test_delivers_unicode_headers_intact(harness: DryRunHarness) -> None:
    message = _message(1)
    message.replace_header("To", "Åsa Lindqvist <asa@example.org>")
    message.replace_header("Subject", "Seminar – €25 million")
    with harness.transport() as transport:
        transport.send(message)
    (delivered,) = harness.delivered()
    assert str(delivered["To"]) == "Åsa Lindqvist <asa@example.org>"
    assert str(delivered["Subject"]) == "Seminar – €25 million"


def _interrupted_run(outbox: Path) -> None:
    with DryRunTransport(outbox, "event") as transport:
        transport.send(_message(3))
        raise RuntimeError("interrupted")


def test_dry_run_publishes_a_whole_run_or_nothing(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    with DryRunTransport(outbox, "event") as transport:
        transport.send(_message(1))
        transport.send(_message(2))
    with pytest.raises(RuntimeError, match="interrupted"):
        _interrupted_run(outbox)
    assert sorted(path.name for path in (outbox / "event").iterdir()) == [
        "0001-person1@example.org.eml",
        "0002-person2@example.org.eml",
    ]
    assert [path.name for path in outbox.iterdir()] == ["event"], "no staging folder is left behind"


def test_dry_run_replaces_an_earlier_run(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    with DryRunTransport(outbox, "event") as transport:
        transport.send(_message(1))
        transport.send(_message(2))
    with DryRunTransport(outbox, "event") as transport:
        transport.send(_message(3))
    assert [path.name for path in (outbox / "event").iterdir()] == ["0001-person3@example.org.eml"]
    assert [path.name for path in outbox.iterdir()] == ["event"]


def test_dry_run_writes_crlf_wire_format(tmp_path: Path) -> None:
    with DryRunTransport(tmp_path, "event") as transport:
        transport.send(_message(1))
    raw = next((tmp_path / "event").glob("*.eml")).read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") > 0
