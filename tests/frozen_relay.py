"""A TCP relay to a server whose connections can be frozen: their bytes are still taken (the
kernel acknowledges them, keepalives too) and never passed on, as a server whose machine froze
or vanished behind a NAT answers; no reset, no error. Connections made after that are relayed
again, as the new server's after a failover."""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class FrozenRelay:
    def __init__(self, host: str, port: int) -> None:
        self._to = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: list[tuple[socket.socket, socket.socket, threading.Event]] = []
        self._lock = threading.Lock()
        self._after_login = False  # connections made from now on freeze once the server let them in
        threading.Thread(target=self._accept, name="relay", daemon=True).start()

    def freeze(self) -> None:
        """The connections open now stop answering (those made later are relayed)."""
        with self._lock:
            for _, _, flowing in self._open:
                flowing.clear()

    def freeze_after_login(self) -> None:
        """Connections made from now on freeze just after the server's first ReadyForQuery:
        let in, then silent (a pooler waiting for a server in a failover, a relay that froze)."""
        self._after_login = True

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed: the test is over
                return
            server = socket.create_connection(self._to)
            flowing = threading.Event()
            flowing.set()
            with self._lock:
                self._open.append((client, server, flowing))
            after_login = self._after_login
            for source, sink, watch in ((client, server, False), (server, client, after_login)):
                threading.Thread(target=_pipe, args=(source, sink, flowing, watch), daemon=True).start()

    def __enter__(self) -> FrozenRelay:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._listener.close()
        with self._lock:
            for client, server, flowing in self._open:
                flowing.set()
                client.close()
                server.close()


_READY_FOR_QUERY = b"Z\x00\x00\x00\x05"  # PostgreSQL's message, type and length: the login is done


def _pipe(source: socket.socket, sink: socket.socket, flowing: threading.Event, after_login: bool) -> None:
    seen = b""
    try:
        while data := source.recv(65536):
            flowing.wait()  # frozen: taken, never passed on
            sink.sendall(data)
            if after_login:
                seen = seen[-8:] + data
                if _READY_FOR_QUERY in seen:
                    flowing.clear()
                    after_login = False
    except OSError:
        pass
    finally:
        source.close()
        sink.close()
