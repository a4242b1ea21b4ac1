"""The preview under hostile clients: slow heads, piles of connections and reload streams, junk.

The real preview server runs in a thread on 127.0.0.1, with its limits shrunk where a test
needs a deadline to pass; clients are plain sockets. "Answers" means before a 10-second client
timeout, a bound no loaded machine comes near: the point is that it answers at all.
"""

from __future__ import annotations

import http.client
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from announcer.preview.server import Limits, Preview, PreviewServer, Target
from tests.helpers import EXAMPLE_EVENT

CLIENT_TIMEOUT = 10.0
EXAMPLES = 1000 if os.environ.get("CI") else 100

Serving = Callable[[Limits], AbstractContextManager[PreviewServer]]


@pytest.fixture
def serving(workspace: Path) -> Serving:
    """Runs the preview of the example event with the given limits, stops it afterwards."""

    @contextmanager
    def run(limits: Limits) -> Iterator[PreviewServer]:
        preview = Preview(Target(Path(EXAMPLE_EVENT), Path("announcer.toml")))
        server = PreviewServer(preview, "127.0.0.1", 0, limits=limits)
        thread = threading.Thread(target=server.serve_forever, name="preview", daemon=True)
        thread.start()
        try:
            yield server
        finally:
            server.shutdown()
            thread.join()
            server.server_close()

    return run


def get(server: PreviewServer, path: str = "/") -> tuple[int, bytes]:
    host, port = server.server_address
    connection = http.client.HTTPConnection(host, port, timeout=CLIENT_TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def connect(server: PreviewServer) -> socket.socket:
    return socket.create_connection(server.server_address, timeout=CLIENT_TIMEOUT)


def closed_by_server(client: socket.socket) -> bool:
    """Wait (up to the client timeout) for the server to end the connection."""
    try:
        while client.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


def still_open(client: socket.socket) -> bool:
    """True when the server has neither closed the connection nor sent anything on it."""
    client.setblocking(False)
    try:
        client.recv(1)  # end of stream, or bytes nobody asked for
    except BlockingIOError:
        return True
    except ConnectionError:
        return False
    finally:
        client.settimeout(CLIENT_TIMEOUT)
    return False


class Slowloris:
    """Connections that send a request's head a byte at a time, one byte every tenth of a second."""

    def __init__(self, server: PreviewServer, count: int) -> None:
        self.clients = [connect(server) for _ in range(count)]
        for client in self.clients:
            client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._trickle, name="slowloris", daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        sending = list(self.clients)
        while sending and not self.stopping.wait(0.1):  # the attack's own pace
            for client in list(sending):
                try:
                    client.send(b"X")
                except OSError:  # closed by the server: that is what the tests wait for
                    sending.remove(client)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join()
        for client in self.clients:
            client.close()


@contextmanager
def slowloris(server: PreviewServer, count: int) -> Iterator[Slowloris]:
    attack = Slowloris(server, count)
    try:
        yield attack
    finally:
        attack.close()


def read_answer(reader: BinaryIO) -> tuple[int, bytes]:
    """One response of several on a connection: its status and its body (of a stated length)."""
    status = int(reader.readline().split()[1])
    headers = http.client.parse_headers(reader)
    return status, reader.read(int(headers["Content-Length"]))


def reload_stream(server: PreviewServer) -> http.client.HTTPResponse:
    """A page's live-reload stream, open: its head has been read."""
    host, port = server.server_address
    connection = http.client.HTTPConnection(host, port, timeout=CLIENT_TIMEOUT)
    connection.request("GET", f"/reload?shown={server.version()}")
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/event-stream"
    return response


def test_a_page_answers_while_slow_heads_and_reload_streams_are_held(serving: Serving) -> None:
    with serving(Limits(head_seconds=600)) as server, slowloris(server, 100) as attack:
        streams = [reload_stream(server) for _ in range(70)]
        try:
            status, body = get(server, "/")
            assert status == 200
            assert b"CAR T Cell Therapy" in body
            assert all(still_open(client) for client in attack.clients), "the page came first"
        finally:
            for stream in streams:
                stream.close()


def test_eighty_slow_clients_of_each_kind_cannot_lock_the_preview(serving: Serving) -> None:
    """80 clients sending their heads a byte at a time, and 80 asking for the email over and
    over without reading a byte of the answers: a page is answered all the same, and the slow
    ones keep their connections (none is cut to make room for it)."""
    request = b"GET /email.html HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    # All 160 may wait for a request at once (the cap is another test's): none is cut to make room.
    with serving(Limits(head_seconds=600, connections=200)) as server, slowloris(server, 80) as attack:
        unread = [connect(server) for _ in range(80)]
        try:
            for client in unread:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                client.sendall(request * 40)  # some 2 MB of answers each, never read
            status, body = get(server, "/")
            assert status == 200
            assert b"CAR T Cell Therapy" in body
            assert all(still_open(client) for client in attack.clients)
        finally:
            for client in unread:
                client.close()


def test_slow_heads_are_closed_at_the_head_deadline(serving: Serving) -> None:
    """A byte now and then does not keep a connection: the whole head has a deadline."""
    with serving(Limits(head_seconds=0.5)) as server, slowloris(server, 20) as attack:
        assert all(closed_by_server(client) for client in attack.clients)


def test_an_idle_connection_is_closed_at_the_head_deadline(serving: Serving) -> None:
    with serving(Limits(head_seconds=0.5)) as server, connect(server) as idle:
        assert closed_by_server(idle)


def test_more_connections_than_the_cap_cannot_starve_a_new_one(serving: Serving) -> None:
    """At the cap, the connection that waited longest for its head makes room."""
    with serving(Limits(connections=20, head_seconds=600)) as server:
        idle = [connect(server) for _ in range(50)]
        try:
            assert get(server, "/state")[0] == 200
            assert all(closed_by_server(client) for client in idle[:30])
            assert all(still_open(client) for client in idle[-19:])
        finally:
            for client in idle:
                client.close()


def test_reload_streams_are_capped_the_oldest_closed_and_the_others_told_of_changes(
    serving: Serving,
) -> None:
    with serving(Limits(streams=4)) as server:
        streams = [reload_stream(server) for _ in range(10)]
        try:
            assert get(server, "/")[0] == 200
            for oldest in streams[:6]:
                assert oldest.read() == b"", "closed by the server, having announced nothing"
            server.preview.rebuild()  # as a save does
            version = server.version()
            for open_stream in streams[6:]:
                assert open_stream.readline() == f"data: {version}\n".encode()
        finally:
            for stream in streams:
                stream.close()


def test_a_reload_stream_announces_a_version_the_page_does_not_show_at_once(serving: Serving) -> None:
    with serving(Limits()) as server:
        host, port = server.server_address
        connection = http.client.HTTPConnection(host, port, timeout=CLIENT_TIMEOUT)
        try:
            connection.request("GET", "/reload?shown=0")
            assert connection.getresponse().readline() == f"data: {server.version()}\n".encode()
        finally:
            connection.close()


@pytest.mark.parametrize("ended", [True, False], ids=["whole", "never ending"])
def test_a_head_larger_than_the_limit_is_refused(serving: Serving, ended: bool) -> None:
    with serving(Limits(head_bytes=16 * 1024, head_seconds=600)) as server, connect(server) as client:
        filler = b"".join(b"X-Filler-%d: %s\r\n" % (number, b"f" * 1000) for number in range(20))
        client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + filler + (b"\r\n" if ended else b""))
        response = http.client.HTTPResponse(client)
        response.begin()
        assert response.status == 431
        assert closed_by_server(client)


def test_a_refusal_reaches_a_client_still_sending(serving: Serving) -> None:
    """A client sends on after its head passed the limit: the server reads on (and drops it) for
    a moment, so that the client's sending ends and it reads the 431, rather than a reset."""
    with serving(Limits(head_bytes=16 * 1024, head_seconds=600)) as server, connect(server) as client:
        client.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Filler: " + b"f" * 8_000_000)
        response = http.client.HTTPResponse(client)
        response.begin()
        assert response.status == 431
        assert closed_by_server(client)


def test_a_head_within_the_limit_is_answered(serving: Serving) -> None:
    with serving(Limits(head_bytes=16 * 1024)) as server, connect(server) as client:
        filler = b"".join(b"X-Filler-%d: %s\r\n" % (number, b"f" * 1000) for number in range(14))
        client.sendall(b"GET /state HTTP/1.1\r\nHost: 127.0.0.1\r\n" + filler + b"\r\n")
        response = http.client.HTTPResponse(client)
        response.begin()
        assert response.status == 200


def test_requests_on_one_connection_are_answered_in_turn(serving: Serving) -> None:
    """Keep-alive, and requests sent before the last answer was read (pipelined)."""
    with serving(Limits()) as server, connect(server) as client:
        head = b"GET /state HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        answers = client.makefile("rb")  # one reader for all: each answer's reading may read ahead
        client.sendall(head * 3)
        for _ in range(3):
            status, body = read_answer(answers)
            assert status == 200
            assert body.startswith(b'{"version": ')
        client.sendall(head)
        assert read_answer(answers)[0] == 200


def test_a_request_with_a_body_ends_its_connection(serving: Serving) -> None:
    """The body is never read, so it must not be taken for the next request."""
    with serving(Limits()) as server, connect(server) as client:
        smuggled = b"GET /state HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        client.sendall(
            b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(smuggled) + smuggled
        )
        response = http.client.HTTPResponse(client)
        response.begin()
        assert response.status == 200
        assert response.getheader("Connection") == "close"
        response.read()
        assert closed_by_server(client)


TARGETS = st.builds(
    lambda route, query: quote(route + query, safe="/?=&%"),
    st.sampled_from(["/", "/reload", "/state", "/email.html", "/event.ics", "/x/", "//", "/%"]),
    st.text(max_size=40).map(lambda text: "?" + text)
    | st.builds("?shown={}&scheme={}".format, st.text(max_size=20), st.text(max_size=10)),
)


def test_any_request_target_is_answered_without_a_failure(
    serving: Serving, capfd: pytest.CaptureFixture[str]
) -> None:
    with serving(Limits()) as server:

        @settings(max_examples=EXAMPLES, deadline=None)
        @given(target=TARGETS)
        @example(target="/reload?shown=%C2%B2")  # a digit to str.isdigit, not to int()
        @example(target="/reload?shown=" + "9" * 5000)  # more digits than int() takes
        def answered(target: str) -> None:
            with connect(server) as client:
                client.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
                response = http.client.HTTPResponse(client)
                response.begin()
                assert response.status < 500

        answered()
    assert capfd.readouterr().err == ""


def test_any_head_is_answered_or_closed_and_the_preview_goes_on(
    serving: Serving, capfd: pytest.CaptureFixture[str]
) -> None:
    with serving(Limits(head_seconds=5)) as server:

        @settings(max_examples=EXAMPLES, deadline=None)
        # Blank lines alone are the wait for a request (see the head deadline tests).
        @given(
            junk=(st.binary(max_size=300) | st.text(max_size=300).map(str.encode)).filter(
                lambda junk: junk.strip(b"\r\n")
            )
        )
        @example(junk=b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nHost: attacker.example")
        @example(junk=b"GET / HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 9")
        @example(junk=b"\r\n\r\nGET /state HTTP/1.1\r\nHost: 127.0.0.1")
        def survived(junk: bytes) -> None:
            with connect(server) as client:
                client.sendall(junk + b"\r\n\r\n")
                response = http.client.HTTPResponse(client)
                try:
                    response.begin()
                except http.client.RemoteDisconnected:
                    return  # closed unanswered: nothing to answer
                assert response.status < 500

        survived()
        assert get(server, "/state")[0] == 200
    assert capfd.readouterr().err == ""
