"""A small SMTP server on 127.0.0.1 that misbehaves on cue: hangs, trickles, refuses, drops, babbles.

aiosmtpd answers like a good server; faults of timing and of protocol need a server whose every
byte the test controls. This one speaks just enough SMTP (EHLO, AUTH, MAIL, RCPT, DATA, RSET,
QUIT) for announcer, records every copy of a message it kept, and can hold a conversation at a
chosen point until the test lets it go (so that a test makes the overlap it needs, never hopes).
"""

from __future__ import annotations

import base64
import socket
import socketserver
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Literal

Fault = Literal[
    "none",
    "hang-at-greeting",  # never says 220
    "close-after-greeting",  # says 220, then hangs up
    "535-echoing-auth",  # refuses every login, echoing what the client sent (raw, decoded, split)
    "552-at-mail-then-data",  # refuses MAIL, yet takes the pipelined RCPT and DATA, and any message
    "garbage-at-mail",  # answers MAIL with a line that is not SMTP
    "421-at-rcpt",  # closing: try again later
    "452-at-rcpt",  # too many recipients (for now)
    "550-at-rcpt",  # no such user
    "drop-mid-data",  # hangs up after a few lines of the message, before its final dot
    "hang-after-data",  # the message is kept; the reply never comes
    "trickle-after-data",  # the message is kept; the reply comes a byte at a time
    "junk-after-data",  # the message is kept; the reply is endless continuation lines
    "garbage-after-data",  # the message is kept; the reply is not SMTP
    "554-after-data",  # the message is refused after its final dot
]
Phase = Literal["mail", "data", "after-dot"]  # where a conversation can be held


@dataclass
class Hold:
    """Hold transaction number `at` (MAIL commands counted from 1 over the server's life) at
    `phase`: before MAIL is answered, right after 354 before the message is read, or after the
    final dot (the copy kept) before the reply; `reached` is set then, and `release` lets it go."""

    at: int = 1
    phase: Phase = "after-dot"
    reached: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    recipient: str | None = None  # whose message was held (not yet known at MAIL)


@dataclass
class Script:
    """What the server does, and what it saw.

    The fault strikes the recipient `only` (every one if None; MAIL-time faults ignore it: the
    recipient is not yet known) and at most `times` times (None: every time)."""

    fault: Fault = "none"
    only: str | None = None
    times: int | None = None
    trickle_seconds: float = 0.5  # between bytes, when trickling
    pipelining: bool = False  # offered in EHLO (RFC 2920); the 552 fault offers it anyway
    auth_mechanisms: str = "PLAIN"  # offered with the 535 fault
    hold: Hold | None = None
    accepted: list[str] = field(default_factory=list)  # recipients whose message was answered 250
    data_complete: list[str] = field(default_factory=list)  # recipients whose final dot arrived
    kept: list[tuple[str, bytes]] = field(default_factory=list)  # complete messages not refused
    auth_lines: list[bytes] = field(default_factory=list)  # what the client sent in AUTH
    transactions: int = 0  # MAIL commands so far
    conversations: int = 0  # connections being served now
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def all_hung_up(self, timeout: float) -> bool:
        """Wait until no client holds a connection (at most `timeout` seconds); whether none does."""
        with self.changed:
            return self.changed.wait_for(lambda: self.conversations == 0, timeout)

    def copies(self) -> Counter[str]:
        """How many complete copies each recipient was sent, the server keeping them."""
        with self.lock:
            return Counter(recipient for recipient, _ in self.kept)

    def strikes(self, fault: Fault, recipient: str | None = None) -> bool:
        """Whether `fault` strikes now (and counts one time if it does)."""
        with self.lock:
            if self.fault != fault or (recipient is not None and self.only not in (None, recipient)):
                return False
            if self.times is not None:
                if self.times <= 0:
                    return False
                self.times -= 1
            return True

    def behave(self, fault: Fault = "none", *, only: str | None = None, times: int | None = None) -> None:
        """From now on, misbehave so (`none`: a good server); what was seen is kept."""
        with self.lock:
            self.fault, self.only, self.times = fault, only, times


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        script = self.server.script
        with script.changed:
            script.conversations += 1
        try:
            self._converse(script)
        except OSError:  # the client went away: that is what some tests do
            return
        finally:
            with script.changed:
                script.conversations -= 1
                script.changed.notify_all()

    def _converse(self, script: Script) -> None:
        if script.strikes("hang-at-greeting"):
            script.stop.wait(60)
            return
        self._say("220 scripted ESMTP")
        if script.strikes("close-after-greeting"):
            return
        number = 0  # this conversation's transaction
        mail_taken = False
        recipients: list[str] = []
        while not script.stop.is_set():
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode(errors="replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb == "EHLO":
                offers = ["scripted"]
                if script.pipelining or script.fault == "552-at-mail-then-data":
                    offers.append("PIPELINING")
                if script.fault == "535-echoing-auth":
                    offers.append(f"AUTH {script.auth_mechanisms}")
                self._say(*(f"250 {offer}" for offer in offers))
            elif verb == "HELO":
                self._say("250 scripted")
            elif verb == "AUTH":
                self._refuse_login(script, line)
            elif verb == "MAIL":
                with script.lock:
                    script.transactions += 1
                    number = script.transactions
                recipients = []
                self._hold(script, number, "mail")
                if script.strikes("552-at-mail-then-data"):
                    self._say("552 5.3.4 message size exceeds fixed maximum message size")
                    mail_taken = False
                elif script.strikes("garbage-at-mail"):
                    self.wfile.write(b"Hello! Nice to meet you.\r\n")
                    mail_taken = False
                else:
                    self._say("250 OK")
                    mail_taken = True
            elif verb == "RCPT":
                recipient = command.split(":", 1)[1].strip(" <>")
                if not mail_taken and script.fault != "552-at-mail-then-data":
                    self._say("503 5.5.1 MAIL first")
                elif script.strikes("421-at-rcpt", recipient):
                    self._say("421 4.7.0 try again later")
                    return  # 421: the server closes the connection
                elif script.strikes("452-at-rcpt", recipient):
                    self._say("452 4.5.3 too many recipients")
                elif script.strikes("550-at-rcpt", recipient):
                    self._say("550 5.1.1 no such user")
                else:
                    recipients.append(recipient)
                    self._say("250 OK")
            elif verb == "DATA":
                if not recipients:
                    self._say("554 5.5.1 no valid recipients")
                    continue
                self._say("354 go ahead")
                recipient = recipients[-1]
                self._hold(script, number, "data", recipient)
                data = self._message(script, recipient)
                if data is None:
                    return
                if not self._after_data(script, number, recipient, data):
                    return
                recipients = []
            elif verb == "RSET":
                recipients, mail_taken = [], False
                self._say("250 OK")
            elif verb == "NOOP":
                self._say("250 OK")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("502 not here")

    def _message(self, script: Script, recipient: str) -> bytes | None:
        """The message up to its final dot (dots unstuffed), or None if the line went first."""
        lines: list[bytes] = []
        dropping = script.strikes("drop-mid-data", recipient)
        while (line := self.rfile.readline()) != b".\r\n":
            if not line or (dropping and len(lines) == 3):
                return None
            lines.append(line[1:] if line.startswith(b".") else line)
        return b"".join(lines)

    def _after_data(self, script: Script, number: int, recipient: str, data: bytes) -> bool:
        """Answer a complete message; False when the conversation is over."""
        with script.lock:
            script.data_complete.append(recipient)
        if script.strikes("554-after-data", recipient):
            self._say("554 5.7.1 message refused")
            return True
        with script.lock:
            script.kept.append((recipient, data))
        self._hold(script, number, "after-dot", recipient)
        if script.strikes("hang-after-data", recipient):
            script.stop.wait(60)
            return False
        reply = b"250 2.0.0 queued\r\n"
        if script.strikes("trickle-after-data", recipient):
            for byte in reply:
                if script.stop.wait(script.trickle_seconds):
                    return False
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        elif script.strikes("junk-after-data", recipient):
            for _ in range(10_000):  # the client stops listening long before
                self.wfile.write(b"250-still thinking about it\r\n")
            self.wfile.write(reply)
        elif script.strikes("garbage-after-data", recipient):
            self.wfile.write(b"thanks, got it\r\n")
        else:
            self.wfile.write(reply)
        self.wfile.flush()
        with script.lock:
            script.accepted.append(recipient)
        return True

    def _refuse_login(self, script: Script, line: bytes) -> None:
        """535 for any login, echoing each line the client sent: as sent, decoded from base64
        (NULs and all), and split over two lines of the reply."""
        sent = [line.rstrip(b"\r\n")]
        mechanism = line.split()[1].upper() if len(line.split()) > 1 else b""
        prompts = {b"LOGIN": [b"VXNlcm5hbWU6", b"UGFzc3dvcmQ6"], b"PLAIN": [b""]}.get(mechanism, [])
        if len(line.split()) > 2:  # an initial response: one prompt fewer
            prompts = prompts[1:]
        for prompt in prompts:
            self.wfile.write(b"334 " + prompt + b"\r\n")
            self.wfile.flush()
            sent.append(self.rfile.readline().rstrip(b"\r\n"))
        with script.lock:
            script.auth_lines.extend(sent)
        echoes = []
        for said in sent:
            token = said.split()[-1]
            half = len(token) // 2
            echoes += [b"you said: " + said, b"which reads: " + _decoded(token), token[:half], token[half:]]
        reply = b"".join(b"535-5.7.8 " + echo + b"\r\n" for echo in echoes)
        self.wfile.write(reply + b"535 5.7.8 Error: authentication failed\r\n")
        self.wfile.flush()

    def _hold(self, script: Script, number: int, phase: Phase, recipient: str | None = None) -> None:
        hold = script.hold
        if hold is not None and hold.at == number and hold.phase == phase:
            hold.recipient = recipient
            hold.reached.set()
            while not (hold.release.wait(0.05) or script.stop.is_set()):
                pass

    def _say(self, *lines: str) -> None:
        """One reply: its lines joined as continuations (`250-...`), the last as the end."""
        text = "".join(
            f"{line[:3]}{'-' if number < len(lines) - 1 else ' '}{line[4:]}\r\n"
            for number, line in enumerate(lines)
        )
        self.wfile.write(text.encode())
        self.wfile.flush()


def _decoded(token: bytes) -> bytes:
    try:
        return base64.b64decode(token, validate=True)
    except ValueError:
        return token


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = False
    block_on_close = True  # server_close() joins every conversation's thread
    allow_reuse_address = True

    def __init__(self, script: Script) -> None:
        self.script = script
        self.open: set[socket.socket] = set()
        self.open_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: socket.socket, client_address: object) -> None:  # type: ignore[override]
        with self.open_lock:
            self.open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket) -> None:  # type: ignore[override]
        with self.open_lock:
            self.open.discard(request)
        super().shutdown_request(request)

    def end_conversations(self) -> None:
        """Wake every conversation waiting on its client (a read then sees the end), so that
        each thread ends and can be joined, not hoped to have ended."""
        with self.open_lock:
            for request in self.open:
                with suppress(OSError):
                    request.shutdown(socket.SHUT_RDWR)


@contextmanager
def scripted_smtp(script: Script) -> Iterator[int]:
    """The server running in a thread; yields its port; stops every connection on exit."""
    server = _Server(script)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        script.stop.set()
        server.shutdown()
        server.end_conversations()
        server.server_close()
