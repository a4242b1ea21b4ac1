"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, recording what it accepts."""

from __future__ import annotations

import socket
import ssl
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME = "organiser"
PASSWORD = "correct horse battery staple"


@dataclass
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class RecordingHandler:
    """Accepts mail and records it; `scripted` answers chosen recipients with given replies, in turn."""

    received: list[Received] = field(default_factory=list)
    scripted: dict[str, list[str]] = field(default_factory=dict)
    drop_after_data: set[str] = field(default_factory=set)  # accepted, then the line goes dead
    drop_at_rcpt: set[str] = field(default_factory=set)  # the line goes dead before DATA, once each
    mail_replies: list[str] = field(default_factory=list)  # replies to the next MAIL commands, in turn
    data_replies: dict[str, list[str]] = field(default_factory=dict)  # replies after DATA, in turn
    lock: threading.Lock = field(default_factory=threading.Lock)
    pipelining: bool = False  # offered in EHLO (aiosmtpd reads pipelined commands in turn anyway)

    sessions: list[Any] = field(default_factory=list)  # one per connection that sent mail

    @property
    def connections(self) -> int:
        return len(self.sessions)

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]] if self.pipelining else responses

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if not any(known is session for known in self.sessions):
            self.sessions.append(session)
        if self.mail_replies:
            return self.mail_replies.pop(0)
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        replies = self.scripted.get(address)
        if replies:
            return replies.pop(0)
        if address in self.drop_at_rcpt:
            self.drop_at_rcpt.discard(address)
            server.transport.close()
            return "250 OK"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        for address in envelope.rcpt_tos:
            if self.data_replies.get(address):
                return self.data_replies[address].pop(0)
        with self.lock:
            self.received.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
            )
            number = len(self.received)
        if self.drop_after_data & set(envelope.rcpt_tos):
            self.drop_after_data -= set(envelope.rcpt_tos)
            server.transport.close()  # the message arrived, but its reply never will
        return f"250 2.0.0 Ok: queued as Q{number:05d}"

    def counts(self) -> Counter[str]:
        """How many messages each address received."""
        with self.lock:
            return Counter(address for item in self.received for address in item.rcpt_tos)


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    valid = isinstance(data, LoginPassword) and (data.login, data.password) == (
        USERNAME.encode(),
        PASSWORD.encode(),
    )
    return AuthResult(success=valid, handled=False)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    """A running test server: where it listens and what it received."""

    port: int
    handler: RecordingHandler
    security: str
    ca_file: Path | None


class CertificateAuthority:
    """A certificate authority made for the test, and a server certificate for 127.0.0.1."""

    def __init__(self, folder: Path) -> None:
        self.ca = trustme.CA()
        self.certificate = self.ca.issue_cert("127.0.0.1", "localhost")
        self.ca_file = folder / "test-ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.certificate.configure_cert(context)
        return context


@contextmanager
def smtp_server(
    security: str = "none",
    ca: CertificateAuthority | None = None,
    *,
    auth: bool = False,
    pipelining: bool = False,
) -> Iterator[Server]:
    """aiosmtpd on 127.0.0.1 with security `none`, `starttls` or `tls`, optionally requiring AUTH."""
    handler = RecordingHandler(pipelining=pipelining)
    port = free_port()
    options: dict[str, Any] = {}
    if security == "starttls":
        assert ca is not None
        options.update(tls_context=ca.server_context(), require_starttls=True)
    if security == "tls":
        assert ca is not None
        options.update(ssl_context=ca.server_context())
    if auth:
        options.update(authenticator=_authenticate, auth_required=True, auth_require_tls=security != "none")
    controller = Controller(handler, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield Server(port, handler, security, ca.ca_file if ca else None)
    finally:
        controller.stop()
