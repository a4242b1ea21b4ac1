"""An SMTP sink for the benchmarks, in a process of its own: accepts every message, keeps none.

python -m benchmarks.sink        (prints its port, then serves until stdin closes)
"""

from __future__ import annotations

import sys
from typing import Any

from aiosmtpd.controller import Controller

from tests.smtp_server import free_port


class Discard:
    """Says 250 to every message and counts them."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        return "250 OK"


def main() -> None:
    port = free_port()
    controller = Controller(Discard(), hostname="127.0.0.1", port=port)
    controller.start()
    print(port, flush=True)
    sys.stdin.read()  # the benchmark closes our stdin when it is done
    controller.stop()


if __name__ == "__main__":
    main()
