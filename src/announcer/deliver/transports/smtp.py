"""Delivery over SMTP: verified TLS connections reused, pipelined, each outcome told apart exactly."""

from __future__ import annotations

import base64
import itertools
import os
import queue
import re
import smtplib
import socket
import ssl
import stat
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

# Whatever breaks the conversation: the line lost, or a reply that is not SMTP (smtplib's own,
# and `_SMTP.getreply`'s); the exchange then stops, and the connection is dropped.
_LOST = (smtplib.SMTPException, OSError)
_ADDRESS = re.compile(r"[^\x00-\x20<>()\x7f]+@[^\x00-\x20<>()\x7f@]+")
_CODE = re.compile(rb"[1-5][0-9][0-9]")
_LONGEST_LINE = 1000  # octets in a reply line, CRLF included (RFC 5321 §4.5.3.1.5: 512)
_MOST_LINES = 100  # lines in one reply: a server that goes on is not answering
_SHOWN_LENGTH = 300  # characters of a server's words kept in an error or the journal
_SECRET_RUN = 4  # characters of a secret in a row that are hidden wherever they stand
_HIDDEN = "[hidden]"
_WITHHELD = "(the server's words are not shown: they would show part of the password)"


@dataclass(frozen=True)
class SMTPServer:
    """Where and how to connect: plain values, so the transport reads no settings or files."""

    host: str
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None  # a private CA; else the system's certificate store
    password_variable: str | None = None  # where the caller read the password, for a refused login
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
        signer: Signer | None = None,
        connections: int = 1,
    ) -> None:
        if config.username and config.security == "none" and not is_loopback(config.host):
            raise DeliveryError(
                f"{config.host}:{config.port}: security = none would send the password in clear; "
                "use starttls or tls"
            )
        self.config = config
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
        return [SMTPTransport(self.config, signer=self.signer) for _ in range(count)]

    def open(self) -> None:
        """Connect the first line now, so that a wrong password or certificate stops the run at once."""
        self._lines[0].connect()

    def send(self, message: Outgoing, committing: Callable[[], None] = lambda: None) -> str:
        data = message.data if self.signer is None else self.signer(message.data)
        line = self._idle.get()
        try:
            return line.send(message.envelope_sender, message.to, data, committing)
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
        self._shown = _Shown.hiding(config.username, config.password)

    @property
    def server(self) -> str:
        return f"{self.config.host}:{self.config.port}"

    def connect(self) -> smtplib.SMTP:
        if self.connection is not None:
            return self.connection
        config = self.config
        connection: smtplib.SMTP | None = None
        logging_in = False
        try:
            if config.security == "tls":
                connection = _SMTP_SSL(
                    config.host, config.port, timeout=config.timeout_seconds, context=self._tls()
                )
            else:
                connection = _SMTP(config.host, config.port, timeout=config.timeout_seconds)
                if config.security == "starttls":
                    connection.starttls(context=self._tls())
            # The final dot goes in a write of its own (the journal is written just before it):
            # without this, Nagle's algorithm holds it until the server's delayed ACK, 40 ms.
            if connection.sock is not None:
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.ehlo_or_helo_if_needed()
            if config.username:
                logging_in = True
                connection.login(config.username, config.password or "")
        except BaseException as exc:
            _quietly_close(connection)
            raise self._connect_error(exc, logging_in) from None
        self.connection = connection
        return connection

    def _tls(self) -> ssl.SSLContext:
        """The verifying TLS context, made when first needed (loading the certificate store
        takes longer than connecting) and kept for reconnections."""
        if self._context is None:
            ca_file = self.config.ca_file
            try:
                if ca_file is not None and not stat.S_ISREG(os.stat(ca_file).st_mode):
                    raise OSError(f"{ca_file} is not a file (OpenSSL would wait on a pipe for ever)")
                self._context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
            except (OSError, ssl.SSLError) as exc:  # missing, unreadable, or holding no certificate
                raise DeliveryError(
                    f"[smtp] ca_file {ca_file}: cannot read its certificates: {exc}"
                ) from None
        return self._context

    def _connect_error(self, error: BaseException, logging_in: bool) -> BaseException:
        """What a failed connection means to the user, in words that hold no part of the password."""
        shown = self._shown
        if isinstance(error, ssl.SSLCertVerificationError):
            return DeliveryError(
                f"{self.server}: the server's certificate is not trusted: {shown(error.verify_message)}"
            )
        if isinstance(error, smtplib.SMTPNotSupportedError):
            offered = "AUTH (to log in)" if logging_in else "STARTTLS"
            return DeliveryError(f"{self.server}: the server does not offer {offered}")
        if isinstance(error, smtplib.SMTPAuthenticationError):
            refused = f"{self.server}: login as {self.config.username} refused: "
            refused += shown.reply(error.smtp_code, error.smtp_error)
            if error.smtp_code == 535 and self.config.password_variable:  # credentials invalid
                refused += (
                    f"; check the password in the environment variable {self.config.password_variable}"
                    " and [smtp].username"
                )
            return DeliveryError(refused)
        if isinstance(error, UnicodeEncodeError):  # smtplib sends AUTH in ASCII only
            return DeliveryError(
                f"{self.server}: login as {self.config.username}: the password holds a character "
                "other than ASCII, which this SMTP client cannot send"
            )
        if logging_in and not isinstance(error, smtplib.SMTPServerDisconnected | OSError):
            said = shown(str(error))  # no mechanism in common, or an AUTH exchange that never ends
            return DeliveryError(f"{self.server}: login as {self.config.username} failed: {said}")
        if isinstance(error, smtplib.SMTPResponseException):
            return TemporaryFailure(
                f"{self.server}: cannot connect: {shown.reply(error.smtp_code, error.smtp_error)}"
            )
        if isinstance(error, smtplib.SMTPException | OSError):
            return TemporaryFailure(f"{self.server}: cannot connect: {shown(str(error))}")
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
        `committing` is called just before the final dot that makes it final.

        Content and the final dot follow only a transaction the server accepted whole: a refused
        MAIL or RCPT never carries a message, not even an empty one that a broken server could
        deliver."""
        commands = (
            (f"MAIL FROM:{_path(sender)}", (250,)),
            (f"RCPT TO:{_path(recipient)}", (250, 251)),
            ("DATA", (354,)),
        )
        shown = self._shown
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
                    if code in (421, -1) or not pipelined:  # closing, not SMTP, or nothing more asked
                        break
            if refusal is not None:
                # DATA opened after a refusal (no byte of it may follow, see above: a transaction
                # cut off before its final dot is discarded), the server leaving, or not SMTP.
                if code in (354, 421, -1):
                    self.drop()
                raise self._refused(*refusal)
            connection.send(_dot_stuffed(data))
        except _LOST as exc:
            self.drop()
            raise TemporaryFailure(
                f"{self.server}: connection lost before the message was sent: {shown(str(exc))}"
            ) from None
        try:
            committing()  # from the final dot on, the server may have it: a failure is in doubt
        except BaseException:
            self.drop()  # not journaled, so never final: the dot does not go, the server discards it
            raise
        try:
            connection.send(b".\r\n")
            code, reply = connection.getreply()
        except _LOST as exc:
            self.drop()
            raise InDoubt(
                f"{self.server}: connection lost after the message was sent: {shown(str(exc))}"
            ) from None
        if 200 <= code < 300:
            return shown.reply(code, reply)
        if 400 <= code < 600:
            raise self._refused(code, reply)
        self.drop()  # a 1xx, a 3xx or no code: whether the server took it is unknown
        raise InDoubt(f"{self.server}: no SMTP reply after the message was sent: {shown.reply(code, reply)}")

    def _refused(self, code: int, reply: bytes) -> TemporaryFailure | PermanentFailure:
        """The failure for a refusal, with the connection reset (or dropped, if the server is leaving)."""
        if code == 421 or code < 0 or self.connection is None:
            self.drop()
        else:
            try:
                self.connection.rset()
            except _LOST:
                self.drop()
        text = self._shown.reply(code, reply)
        return PermanentFailure(text) if 500 <= code < 600 else TemporaryFailure(text)

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


class _SMTP(smtplib.SMTP):
    """smtplib's client, reading replies of bounded size that are SMTP or say they are not."""

    def getreply(self) -> tuple[int, bytes]:
        """The next reply: (code, text), the code -1 for a line that is not an SMTP reply.

        smtplib's own reads as many lines as a server sends, and takes `+25` for a code."""
        if self.sock is None:
            raise smtplib.SMTPServerDisconnected("not connected")
        if self.file is None:
            self.file = self.sock.makefile("rb")
        texts: list[bytes] = []
        codes: set[bytes] = set()
        while True:
            try:
                line = self.file.readline(_LONGEST_LINE + 1)
            except OSError as exc:
                self.close()
                raise smtplib.SMTPServerDisconnected(f"connection lost: {exc}") from None
            if not line.endswith(b"\n"):
                self.close()
                raise smtplib.SMTPServerDisconnected(
                    "the server sent a line too long for SMTP"
                    if len(line) > _LONGEST_LINE
                    else "the connection closed in the middle of a reply"
                )
            code, more = line[:3], line[3:4] == b"-"
            texts.append(line[4:].strip(b" \t\r\n"))
            codes.add(code)
            if not (_CODE.fullmatch(code) and line[3:4] in (b" ", b"-", b"\r", b"\n")):
                return -1, line.rstrip(b"\r\n")  # not SMTP: what came is shown as it came
            if not more:
                break
            if len(texts) >= _MOST_LINES:
                self.close()
                raise smtplib.SMTPServerDisconnected(f"the server's reply went on past {_MOST_LINES} lines")
        if len(codes) > 1:  # the lines of one reply carry one code (RFC 5321 §4.2.1)
            return -1, b"\n".join(texts)
        return int(code), b"\n".join(texts)


class _SMTP_SSL(_SMTP, smtplib.SMTP_SSL):
    """smtplib's implicit TLS client, reading replies as `_SMTP` does."""


@dataclass(frozen=True)
class _Shown:
    """How anything a server says is shown: one line of printable text, at most `_SHOWN_LENGTH`
    characters, holding no run of `_SECRET_RUN` characters of any form in which the password went
    out (itself, and the base64 of AUTH LOGIN and of the AUTH PLAIN blob, with or without an
    authorisation identity). A server may echo what it was sent; its words reach the terminal,
    CI logs and the journal."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def hiding(cls, username: str | None, password: str | None) -> _Shown:
        if not password:
            return cls()
        user = username or ""
        blobs = (password, f"\0{user}\0{password}", f"{user}\0{user}\0{password}")
        encoded = (base64.b64encode(blob.encode()).decode().rstrip("=") for blob in blobs)
        forms = (*blobs, *encoded)
        return cls(tuple(dict.fromkeys((*forms, *map(_one_line, forms)))))  # as sent, and as shown

    def reply(self, code: int, reply: bytes | str) -> str:
        """An SMTP reply as shown: its code (if it had one) and its words."""
        return self(f"{code} {self._text(reply)}" if code >= 0 else self._text(reply))

    def __call__(self, said: bytes | str) -> str:
        text = _one_line(self._text(said)[: 4 * _SHOWN_LENGTH])  # bounded before the search
        hidden = self._hidden(text)
        line = "".join(
            _HIDDEN if hidden[at] and (at == 0 or not hidden[at - 1]) else "" if hidden[at] else char
            for at, char in enumerate(text)
        )
        if len(line) > _SHOWN_LENGTH:
            line = line[: _SHOWN_LENGTH - 1] + "…"
        for shown in (line, _WITHHELD):  # hidden by construction: what is shown is checked
            if not any(self._hidden(shown)):
                return shown
        return ""  # a password made of the words that say it is withheld

    @staticmethod
    def _text(said: bytes | str) -> str:
        return said.decode(errors="replace") if isinstance(said, bytes) else said

    def _hidden(self, text: str) -> list[bool]:
        """For each character of `text`, whether it stands in a run of a secret's characters."""
        hidden = [False] * len(text)
        for secret in self.secrets:
            shortest = min(_SECRET_RUN, len(secret))
            for start in range(len(text) - shortest + 1):
                if text[start : start + shortest] not in secret:
                    continue
                end = start + shortest
                while end < len(text) and text[start : end + 1] in secret:
                    end += 1
                hidden[start:end] = [True] * (end - start)
        return hidden


def _one_line(text: str) -> str:
    """`text` on one line of printable characters: white space as one space, and any control,
    invisible or direction-changing character as U+FFFD."""
    return "".join(char if char.isprintable() else "\ufffd" for char in " ".join(text.split()))


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
