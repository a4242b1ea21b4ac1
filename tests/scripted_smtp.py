"""A small SMTP server on 127.0.0.1 that misbehaves on cue: hangs, trickles, refuses, drops.

aiosmtpd answers like a good server; faults of timing need a server whose every byte the test
controls. This one speaks just enough SMTP (EHLO, MAIL, RCPT, DATA, RSET, QUIT) for announcer.
"""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

Fault = Literal["none", "hang-after-data", "trickle-after-data", "421-at-rcpt", "hang-at-greeting"]


@dataclass
class Script:
    """What the server does, and what it saw."""

    fault: Fault = "none"
    trickle_seconds: float = 0.5  # between bytes, when trickling
    accepted: list[str] = field(default_factory=list)  # recipients whose message was taken
    data_complete: list[str] = field(default_factory=list)  # recipients whose final dot arrived
    stop: threading.Event = field(default_factory=threading.Event)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        try:
            self._converse(self.server.script)
        except OSError:  # the client went away: that is what some tests do
            return

    def _converse(self, script: Script) -> None:
        if script.fault == "hang-at-greeting":
            script.stop.wait(60)
            return
        self._say("220 scripted ESMTP")
        recipient = ""
        while not script.stop.is_set():
            line = self.rfile.readline()
            if not line:
                return
            command = line.decode(errors="replace").strip()
            verb = command.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self._say("250 scripted")
            elif verb == "MAIL":
                self._say("250 OK")
            elif verb == "RCPT":
                recipient = command.split(":", 1)[1].strip(" <>")
                self._say("421 4.7.0 try again later" if script.fault == "421-at-rcpt" else "250 OK")
            elif verb == "DATA":
                self._say("354 go ahead")
                while self.rfile.readline() not in (b".\r\n", b""):
                    pass
                script.data_complete.append(recipient)
                self._after_data(script, recipient)
            elif verb == "RSET":
                self._say("250 OK")
            elif verb == "QUIT":
                self._say("221 bye")
                return
            else:
                self._say("502 not here")

    def _after_data(self, script: Script, recipient: str) -> None:
        if script.fault == "hang-after-data":
            script.stop.wait(60)
            return
        reply = b"250 2.0.0 queued\r\n"
        if script.fault == "trickle-after-data":
            for byte in reply:
                if script.stop.wait(script.trickle_seconds):
                    return
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
        else:
            self.wfile.write(reply)
        script.accepted.append(recipient)

    def _say(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")
        self.wfile.flush()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, script: Script) -> None:
        self.script = script
        super().__init__(("127.0.0.1", 0), _Handler)


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
        server.server_close()
        time.sleep(0.05)
