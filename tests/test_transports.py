"""The transport contract, run against every transport; then what is special to the dry run."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

import pytest

from announcer.compose.headers import WIRE
from announcer.deliver.transports.base import Transport
from announcer.deliver.transports.dryrun import DryRunTransport
from announcer.deliver.transports.smtp import SMTPServer, SMTPTransport
from announcer.errors import DeliveryError
from tests.helpers import wire
from tests.smtp_server import Server, smtp_server


def _message(number: int) -> EmailMessage:
    message = EmailMessage(policy=WIRE)
    message["From"] = "Sender <sender@example.org>"
    message["To"] = f"Person {number} <person{number}@example.org>"
    message["Subject"] = f"Message {number}"
    message["Message-ID"] = f"<m{number}@example.org>"
    message.set_content(f"Body {number}\n")
    return message


class Harness(Protocol):
    """Builds a transport and reads back what it delivered."""

    def transport(self) -> Transport: ...

    def delivered(self) -> list[EmailMessage]: ...


class DryRunHarness:
    def __init__(self, tmp_path: Path) -> None:
        self.outbox = tmp_path / "outbox"

    def transport(self) -> Transport:
        return DryRunTransport(self.outbox, "event")

    def delivered(self) -> list[EmailMessage]:
        paths = sorted((self.outbox / "event").glob("*.eml"))
        return [_parse(path.read_bytes()) for path in paths]


class SMTPHarness:
    def __init__(self, server: Server) -> None:
        self.server = server

    def transport(self) -> Transport:
        config = SMTPServer(host="127.0.0.1", port=self.server.port, security="none")
        return SMTPTransport(config)

    def delivered(self) -> list[EmailMessage]:
        return [_parse(received.data) for received in self.server.handler.received]


def _parse(data: bytes) -> EmailMessage:
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.fixture(params=["dry-run", "smtp"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    if request.param == "dry-run":
        yield DryRunHarness(tmp_path)
        return
    with smtp_server() as server:
        yield SMTPHarness(server)


def test_delivers_every_message_once_in_order(harness: Harness) -> None:
    with harness.transport() as transport:
        for number in range(1, 4):
            transport.send(wire(_message(number)))
    delivered = harness.delivered()
    assert [str(message["Message-ID"]) for message in delivered] == [
        "<m1@example.org>",
        "<m2@example.org>",
        "<m3@example.org>",
    ]
    assert delivered[0].get_content().splitlines() == ["Body 1"]


def test_delivers_unicode_headers_intact(harness: Harness) -> None:
    message = _message(1)
    message.replace_header("To", "Åsa Lindqvist <asa@example.org>")
    message.replace_header("Subject", "Seminar – €25 million")
    with harness.transport() as transport:
        transport.send(wire(message))
    (delivered,) = harness.delivered()
    assert str(delivered["To"]) == "Åsa Lindqvist <asa@example.org>"
    assert str(delivered["Subject"]) == "Seminar – €25 million"


def test_a_line_that_starts_with_a_dot_arrives_as_written(harness: Harness) -> None:
    """Our own messages never start a line with a dot, but a signed or foreign one may: SMTP
    doubles it on the way (RFC 5321 §4.5.2), and a lone dot must not end the message early."""
    message = _message(1)
    message.set_content(".hidden\n..two\n.\nthe end\n", cte="7bit")
    with harness.transport() as transport:
        transport.send(wire(message))
    (delivered,) = harness.delivered()
    assert delivered.get_content().splitlines() == [".hidden", "..two", ".", "the end"]


def _interrupted_run(outbox: Path) -> None:
    with DryRunTransport(outbox, "event") as transport:
        transport.send(wire(_message(3)))
        raise RuntimeError("interrupted")


def test_dry_run_publishes_a_whole_run_or_nothing(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    with DryRunTransport(outbox, "event") as transport:
        transport.send(wire(_message(1)))
        transport.send(wire(_message(2)))
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
        transport.send(wire(_message(1)))
        transport.send(wire(_message(2)))
    with DryRunTransport(outbox, "event") as transport:
        transport.send(wire(_message(3)))
    assert [path.name for path in (outbox / "event").iterdir()] == ["0001-person3@example.org.eml"]
    assert [path.name for path in outbox.iterdir()] == ["event"]


def test_dry_run_writes_crlf_wire_format(tmp_path: Path) -> None:
    with DryRunTransport(tmp_path, "event") as transport:
        transport.send(wire(_message(1)))
    raw = next((tmp_path / "event").glob("*.eml")).read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n") > 0


def test_dry_run_names_a_file_for_the_longest_address(tmp_path: Path) -> None:
    message = _message(1)
    del message["To"]
    longest = "a" * 64 + "@" + ".".join(["d" * 63] * 3) + ".example"[: 254 - 64 - 1 - 191]
    message["To"] = longest
    with DryRunTransport(tmp_path, "event") as transport:
        transport.send(wire(message))
    (written,) = (tmp_path / "event").iterdir()
    assert len(written.name.encode()) <= 255
    assert _parse(written.read_bytes())["To"] == longest


def test_dry_run_cannot_create_its_folder(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    outbox.write_text("a file where the outbox folder should be")
    with (
        pytest.raises(DeliveryError, match=r"cannot create the outbox folder"),
        DryRunTransport(outbox, "event"),
    ):
        pass


def test_dry_run_cannot_write_a_message_and_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(self: Path, data: bytes) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    transport = DryRunTransport(tmp_path, "event")
    refused = pytest.raises(DeliveryError, match=r"0001-person1@example.org.eml: cannot write: No space left")
    with refused, transport:
        monkeypatch.setattr(Path, "write_bytes", disk_full)
        transport.send(wire(_message(1)))
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == [], "the staging folder is removed, nothing published"


def test_dry_run_cannot_publish_and_keeps_the_earlier_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with DryRunTransport(tmp_path, "event") as transport:
        transport.send(wire(_message(1)))
    real_rename = Path.rename

    def refuse_staging(self: Path, target: Path) -> Path:
        if ".partial-" in self.name:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", refuse_staging)
    transport = DryRunTransport(tmp_path, "event")
    transport.open()
    transport.send(wire(_message(2)))
    with pytest.raises(DeliveryError, match=r"cannot publish the outbox folder: Invalid cross-device link"):
        transport.close()
