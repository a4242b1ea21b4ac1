"""`announcer serve`: the unsubscribe page and RFC 8058 one-click endpoint, and the static site,
on one ASGI app (Starlette) on a real server (uvicorn)."""
