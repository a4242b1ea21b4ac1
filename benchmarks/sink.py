"""An SMTP sink for the benchmarks, in a process of its own: accepts every message, keeps none.

python -m benchmarks.sink [ACCEPT_MS]   (prints its port, then serves until stdin closes)

It speaks just enough SMTP (EHLO with PIPELINING, MAIL, RCPT, DATA, RSET, NOOP, QUIT) and reads
each message whole, so that it is not itself what the benchmark measures. With ACCEPT_MS, each
message takes that long to be accepted, as a real server's takes to write its queue file.
"""

from __future__ import annotations

import asyncio
import sys

from tests.smtp_server import free_port

_END = b"\r\n.\r\n"


async def _session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, accept_seconds: float) -> None:
    writer.write(b"220 sink ESMTP\r\n")
    while line := await reader.readline():
        verb = line[:4].upper()
        if verb in (b"EHLO", b"HELO"):
            writer.write(b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
        elif verb == b"DATA":
            writer.write(b"354 go ahead\r\n")
            await reader.readuntil(_END)
            if accept_seconds:
                await asyncio.sleep(accept_seconds)
            writer.write(b"250 OK\r\n")
        elif verb == b"QUIT":
            writer.write(b"221 bye\r\n")
            break
        else:
            writer.write(b"250 OK\r\n")
        await writer.drain()
    writer.close()


async def _serve(port: int, accept_seconds: float) -> None:
    server = await asyncio.start_server(
        lambda reader, writer: _session(reader, writer, accept_seconds), "127.0.0.1", port, limit=1 << 24
    )
    print(port, flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)  # the benchmark closes our stdin when it is done
    server.close()


def main() -> None:
    accept_ms = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    asyncio.run(_serve(free_port(), accept_ms / 1000))


if __name__ == "__main__":
    main()
