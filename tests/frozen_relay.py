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
        threading.Thread(target=self._accept, name="relay", daemon=True).start()

    def freeze(self) -> None:
        """The connections open now stop answering (those made later are relayed)."""
        with self._lock:
            for _, _, flowing in self._open:
                flowing.clear()

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
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pipe, args=(source, sink, flowing), daemon=True).start()

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


def _pipe(source: socket.socket, sink: socket.socket, flowing: threading.Event) -> None:
    try:
        while data := source.recv(65536):
            flowing.wait()  # frozen: taken, never passed on
            sink.sendall(data)
    except OSError:
        pass
    finally:
        source.close()
        sink.close()
