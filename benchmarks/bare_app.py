"""The baseline of `benchmarks.serve`: a bare Starlette route that reads the body and answers a
few bytes (the floor of the stack: no journal, no page, no guard), on the very server
`announcer serve` runs (`announcer.serve.server`, same limits).

    python -m benchmarks.bare_app   # prints "serving on http://127.0.0.1:PORT/"
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from announcer.serve.limits import DEFAULT_LIMITS
from announcer.serve.server import listen, server, url_of


async def unsubscribe(request: Request) -> Response:
    body = await request.body()
    return PlainTextResponse("ok" if body == b"List-Unsubscribe=One-Click" else "no")


def main() -> None:
    app = Starlette(routes=[Route("/onkpat-seminars/unsubscribe/{token}", unsubscribe, methods=["POST"])])
    with listen("127.0.0.1", 0) as sock:
        print(f"serving on {url_of(sock)}", flush=True)
        server(app, DEFAULT_LIMITS).run(sockets=[sock])


if __name__ == "__main__":
    main()
