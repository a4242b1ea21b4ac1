"""Delivery over SMTP: verified TLS connections reused, pipelined, each outcome told apart exactly."""

from __future__ import annotations

import itertools
import queue
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from announcer.compose.message import Outgoing
from announcer.deliver.signing import Signer
from announcer.deliver.transports.base import Transport
from announcer.errors import DeliveryError, InDoubt, PermanentFailure, TemporaryFailure
from announcer.hosts import is_loopback

_LOST = (smtplib.SMTPServerDisconnected, OSError)
_ADDRESS = re.compile(r"[^\x00-\x20<>()\x7f]+@[^\x00-\x20<>()\x7f@]+")


def _reply(code: int, reply: bytes | str) -> str:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else reply
    return f"{code} {text}".strip()


def _failure(code: int, reply: bytes) -> TemporaryFailure | PermanentFailure:
    text = _reply(code, reply)
    return PermanentFailure(text) if 500 <= code < 600 else TemporaryFailure(text)


@dataclass(frozen=True)
class SMTPServer:
    """Where and how to connect: plain values, so the transport reads no settings or files."""

    host: str
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None  # a private CA; else the system's certificate store
    timeout_seconds: float = 60  # for each read
    deadline_seconds: float = 120  # for a whole message, however slowly the server answers

    def __repr__(self) -> str:  # never show the password, even in a traceback
        return f"SMTPServer({self.host}:{self.port}, {self.security}, user={self.username!r})"


class SMTPTransport(Transport):
    """Sends each message with MAIL, RCPT and DATA, pipelined where the server offers it, over
    up to `connections` connections kept open and used at once, each reconnected when dropped.

    The password comes from the caller (who reads it from the environment) and is never
    written anywhere; certificates are verified against the system store or `ca_file`.
    """

    def __init__(
        self,
        config: SMTPServer,
        *,
        envelope_sender: str,
        signer: Signer | None = None,
        connections: int = 1,
    ) -> None:
        if config.username and config.security == "none" and not is_loopback(config.host):
            raise DeliveryError(
                f"{config.host}:{config.port}: security = none would send the password in clear; "
                "use starttls or tls"
            )
        self.config = config
        self.envelope_sender = envelope_sender
        self.signer = signer
        self.connections = connections
        self._watchdog = _Watchdog()
        self._lines = [_Line(config, self._watchdog) for _ in range(connections)]
        self._idle: queue.SimpleQueue[_Line] = queue.SimpleQueue()
        for line in self._lines:
            self._idle.put(line)

    def split(self, count: int) -> list[Transport]:
        """A connection for each process; this one's, which checked the login, is closed."""
        self.close()
        return [
            SMTPTransport(self.config, envelope_sender=self.envelope_sender, signer=self.signer)
            for _ in range(count)
        ]

    def open(self) -> None:
        """Connect the first line now, so that a wrong password or certificate stops the run at once."""
        self._lines[0].connect()

    def send(self, message: Outgoing, committing: Callable[[], None] = lambda: None) -> str:
        data = message.data if self.signer is None else self.signer(message.data)
        line = self._idle.get()
        try:
            return line.send(self.envelope_sender, message.to, data, committing)
        finally:
            self._idle.put(line)

    def close(self) -> None:
        for line in self._lines:
            line.quit()
        self._watchdog.stop()

    def abort(self) -> None:
        """Stopped at once (a second Ctrl-C): drop every line without waiting for a goodbye."""
        for line in self._lines:
            line.drop()
        self._watchdog.stop()


class _Line:
    """One connection to the server, opened when first needed and again after it was lost."""

    def __init__(self, config: SMTPServer, watchdog: _Watchdog) -> None:
        self.config = config
        self.watchdog = watchdog
        self.connection: smtplib.SMTP | None = None
        self._context: ssl.SSLContext | None = None

    @property
    def server(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    def connect(self) -> smtplib.SMTP:
        if self.connection is not None:
            return self.connection
        config = self.config
        connection: smtplib.SMTP | None = None
        try:
            if config.security == "tls":
                connection = smtplib.SMTP_SSL(
                    config.host, config.port, timeout=config.timeout_seconds, context=self._tls()
                )
            else:
                connection = smtplib.SMTP(config.host, config.port, timeout=config.timeout_seconds)
                if config.security == "starttls":
                    connection.starttls(context=self._tls())
            # The final dot goes in a write of its own (the journal is written just before it):
            # without this, Nagle's algorithm holds it until the server's delayed ACK, 40 ms.
            if connection.sock is not None:
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.ehlo_or_helo_if_needed()
            if config.username:
                connection.login(config.username, config.password or "")
        except BaseException as exc:
            _quietly_close(connection)
            raise self._connect_error(exc) from None
        self.connection = connection
        return connection

    def _tls(self) -> ssl.SSLContext:
        """The verifying TLS context, made when first needed (loading the certificate store
        takes longer than connecting) and kept for reconnections."""
        if self._context is None:
            ca_file = self.config.ca_file
            try:
                self._context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
            except (OSError, ssl.SSLError) as exc:  # missing, unreadable, or holding no certificate
                raise DeliveryError(
                    f"[smtp] ca_file {ca_file}: cannot read its certificates: {exc}"
                ) from None
        return self._context

    def _connect_error(self, error: BaseException) -> BaseException:
        """What a failed connection means to the user."""
        if isinstance(error, ssl.SSLCertVerificationError):
            return DeliveryError(
                f"{self.server}: the server's certificate is not trusted: {error.verify_message}"
            )
        if isinstance(error, smtplib.SMTPNotSupportedError):
            return DeliveryError(f"{self.server}: the server does not offer STARTTLS")
        if isinstance(error, smtplib.SMTPAuthenticationError):
            refusal = _reply(error.smtp_code, error.smtp_error)
            return DeliveryError(f"{self.server}: login as {self.config.username} refused: {refusal}")
        if isinstance(error, smtplib.SMTPException | OSError):
            return TemporaryFailure(f"{self.server}: cannot connect: {error}")
        return error

    def send(self, sender: str, recipient: str, data: bytes, committing: Callable[[], None]) -> str:
        connection = self.connect()
        with self.watchdog.watching(connection, self.config.deadline_seconds) as expired:
            try:
                return self._exchange(connection, sender, recipient, data, committing)
            except (TemporaryFailure, InDoubt) as failure:
                if expired():
                    raise type(failure)(
                        f"{failure.reply} (no answer within {self.config.deadline_seconds:g} s)"
                    ) from None
                raise

    def _exchange(
        self,
        connection: smtplib.SMTP,
        sender: str,
        recipient: str,
        data: bytes,
        committing: Callable[[], None],
    ) -> str:
        """MAIL, RCPT, DATA (in one write where the server pipelines, RFC 2920), the message;
        `committing` is called just before the final dot that makes it final."""
        commands = (
            (f"MAIL FROM:{_path(sender)}", (250,)),
            (f"RCPT TO:{_path(recipient)}", (250, 251)),
            ("DATA", (354,)),
        )
        try:
            pipelined = connection.has_extn("pipelining")
            if pipelined:
                connection.send("".join(f"{command}\r\n" for command, _ in commands))
            refusal = None
            for command, accepted in commands:
                if not pipelined:
                    connection.send(f"{command}\r\n")
                code, reply = connection.getreply()
                if code not in accepted:
                    refusal = refusal or (code, reply)
                    if code == 421 or not pipelined:  # closing, or nothing more was asked
                        break
            if refusal is not None:
                if code == 354:  # DATA taken without a recipient (pipelined): an empty message ends it
                    connection.send(b".\r\n")
                    connection.getreply()
                raise self._refused(*refusal)
            connection.send(_dot_stuffed(data))
        except _LOST as exc:
            self.drop()
            raise TemporaryFailure(
                f"{self.server}: connection lost before the message was sent: {exc}"
            ) from None
        committing()  # from the final dot on, the server may have it: a failure is in doubt
        try:
            connection.send(b".\r\n")
            code, reply = connection.getreply()
        except _LOST as exc:
            self.drop()
            raise InDoubt(f"{self.server}: connection lost after the message was sent: {exc}") from None
        if not 200 <= code <= 599:  # cut off mid-reply: whether the server took it is unknown
            self.drop()
            raise InDoubt(
                f"{self.server}: no complete reply after the message was sent: {_reply(code, reply)}"
            )
        if code != 250:
            raise self._refused(code, reply)
        return _reply(code, reply)

    def _refused(self, code: int, reply: bytes) -> TemporaryFailure | PermanentFailure:
        """The failure for a refusal, with the connection reset (or dropped, if the server is leaving)."""
        if code == 421 or code < 0 or self.connection is None:
            self.drop()
        else:
            try:
                self.connection.rset()
            except _LOST:
                self.drop()
        return _failure(code, reply)

    def drop(self) -> None:
        _quietly_close(self.connection)
        self.connection = None

    def quit(self) -> None:
        if self.connection is not None:
            with suppress(smtplib.SMTPException, OSError):
                self.connection.quit()
        self.drop()


class _Watchdog:
    """Shuts a connection down when its message takes longer than its deadline; one thread
    watches every connection of a transport.

    Socket timeouts bound each read, not the whole exchange: a server that trickles a byte
    every few seconds would never time out. A shut-down socket makes the blocked read fail,
    and the failure is told apart as any lost connection is (before or after the final dot).
    """

    def __init__(self) -> None:
        self._armed: dict[int, tuple[float, smtplib.SMTP]] = {}
        self._expired: set[int] = set()
        self._tickets = itertools.count()
        self._changed = threading.Condition()
        self._wakes_at: float | None = None  # when the thread looks next; None: not before told
        self._thread: threading.Thread | None = None
        self._generation = 0  # which thread watches: a stopped one ends at its next look

    @contextmanager
    def watching(self, connection: smtplib.SMTP, seconds: float) -> Iterator[Callable[[], bool]]:
        """Watch `connection` for `seconds`; yields a function that says whether time ran out."""
        ticket = next(self._tickets)
        deadline = time.monotonic() + seconds
        with self._changed:
            self._armed[ticket] = (deadline, connection)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._watch, args=(self._generation,), name="smtp-deadlines", daemon=True
                )
                self._thread.start()
            if self._wakes_at is None or deadline < self._wakes_at:
                self._changed.notify()
        try:
            yield lambda: ticket in self._expired
        finally:
            with self._changed:
                self._armed.pop(ticket, None)
                self._expired.discard(ticket)

    def stop(self) -> None:
        """The watching thread ends (the transport is closed); watching again starts another."""
        with self._changed:
            self._generation += 1
            self._thread = None
            self._changed.notify_all()

    def _watch(self, generation: int) -> None:
        with self._changed:
            while generation == self._generation:
                now = time.monotonic()
                for ticket, (deadline, connection) in list(self._armed.items()):
                    if deadline <= now:
                        del self._armed[ticket]
                        self._expired.add(ticket)
                        if connection.sock is not None:
                            with suppress(OSError):
                                connection.sock.shutdown(socket.SHUT_RDWR)
                self._wakes_at = min((deadline for deadline, _ in self._armed.values()), default=None)
                self._changed.wait(None if self._wakes_at is None else self._wakes_at - now)


def _quietly_close(connection: smtplib.SMTP | None) -> None:
    if connection is not None:
        with suppress(OSError):
            connection.close()


def _path(address: str) -> str:
    """An address as MAIL FROM and RCPT TO carry it; the model has checked it, this makes sure."""
    if not _ADDRESS.fullmatch(address):
        raise PermanentFailure(f"{address!r} cannot be given to an SMTP server")
    return f"<{address}>"


def _dot_stuffed(data: bytes) -> bytes:
    """The DATA payload without its final dot: lines starting with a dot doubled (RFC 5321 §4.5.2)."""
    data = data.replace(b"\n.", b"\n..")
    if data.startswith(b"."):
        data = b"." + data
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data
