"""`announcer serve` for tests: its app on real uvicorn on 127.0.0.1 (a port the OS picks), in a
thread of the test (limits of the test's choosing) or as its own process (as a user starts it)."""

from __future__ import annotations

import http.client
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from announcer.model.settings import Settings
from announcer.serve.app import Service
from announcer.serve.limits import Limits
from announcer.serve.server import listen, server

LIST = "onkpat-seminars.example.org"
SECRET = "s3cret-of-the-workspace"
PREFIX = "/onkpat-seminars/unsubscribe/"
ONE_CLICK = b"List-Unsubscribe=One-Click"
FORM = "application/x-www-form-urlencoded"


def with_token_url(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example workspace's unsubscribe URL with a `{token}`, and the secret in the environment."""
    monkeypatch.setenv("ANNOUNCER_UNSUBSCRIBE_SECRET", SECRET)
    path = workspace / "announcer.toml"
    path.write_text(
        path.read_text().replace(
            '"https://lists.example.org/onkpat-seminars/unsubscribe"',
            '"https://lists.example.org/onkpat-seminars/unsubscribe/{token}"',
        )
    )


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass
class Client:
    """HTTP/1.1 to one server, a connection a request unless kept (`keep`)."""

    host: str
    port: int
    source: str = ""  # the client's own address (127.0.0.x), as if another machine asked
    _kept: http.client.HTTPConnection | None = field(default=None, repr=False)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        keep: bool = False,
    ) -> Reply:
        connection = self._kept if keep and self._kept else self._connect()
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            reply = Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
        except BaseException:
            connection.close()
            self._kept = None
            raise
        if keep and not response.will_close:
            self._kept = connection
        else:
            connection.close()
            if keep:
                self._kept = None
        return reply

    def _connect(self) -> http.client.HTTPConnection:
        source = (self.source, 0) if self.source else None
        return http.client.HTTPConnection(self.host, self.port, timeout=15, source_address=source)

    def post(self, path: str, body: bytes, kind: str = FORM, *, keep: bool = False) -> Reply:
        return self.request("POST", path, body, {"Content-Type": kind}, keep=keep)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def close(self) -> None:
        if self._kept is not None:
            self._kept.close()
            self._kept = None


@contextmanager
def serving(settings: Settings, limits: Limits, site: Path | None = None) -> Iterator[Client]:
    """The app on uvicorn in a thread of this process, until the block ends."""
    with (
        Service(settings, site or settings.workspace / "site", limits) as service,
        listen("127.0.0.1", 0) as sock,
    ):
        running = server(service.app, limits)
        thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]}, name="serve", daemon=True)
        thread.start()
        host, port = sock.getsockname()[:2]
        client = Client(host, port)
        try:
            client.get("/")  # answered once uvicorn serves: the wait is for that, not a time
            yield client
        finally:
            client.close()
            running.should_exit = True
            thread.join(20)
            assert not thread.is_alive(), "uvicorn did not stop"


class Process:
    """`announcer serve` as its own process, in the current workspace."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "announcer", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.said: list[str] = []  # what it printed up to its address
        while not (match := re.search(r"http://([\d.]+):(\d+)/", self.said[-1] if self.said else "")):
            line = self.process.stdout.readline()
            if not line:
                _, err = self.process.communicate()
                pytest.fail(f"announcer serve did not start: {self.said} {err}")
            self.said.append(line)
        self.host, self.port = match[1], int(match[2])
        self._wait_until_accepting()
        self.client = Client(self.host, self.port)

    def _wait_until_accepting(self) -> None:
        """Poll the socket until it accepts a connection (or the process ends)."""
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((self.host, self.port), timeout=1).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise
                threading.Event().wait(0.02)  # between polls of the socket

    def stop(self) -> tuple[int, str, str]:
        """Stop it as a service manager would (SIGTERM); kill it if it hangs."""
        self.process.send_signal(signal.SIGTERM)
        try:
            out, err = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            pytest.fail(f"announcer serve did not stop on SIGTERM: {err}")
        return self.process.returncode, out, err
