"""`announcer serve`'s app: the list's unsubscribe URL, and the site `announcer site` wrote,
behind the guard (`guard`), opened on the workspace's journal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qsl, unquote, urlsplit

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from announcer.audience.ledger import Audience, list_id_of
from announcer.deliver.ledger import Ledger
from announcer.errors import Problem, SettingsError
from announcer.load.secrets import unsubscribe_secret
from announcer.model.settings import Letterhead, Settings
from announcer.serve.guard import ASGIApp, Guard
from announcer.serve.limits import DEFAULT_LIMITS, Limits
from announcer.serve.pages import Pages
from announcer.serve.site_files import SiteFiles
from announcer.serve.unsubscribe import Unsubscribes

_FIELD = "[list].unsubscribe_url"


@dataclass(frozen=True)
class TokenRoute:
    """Where the unsubscribe URL's token is: a part of its path, or a query parameter's value."""

    path: str  # as Starlette matches it, `{token}` and all when the token is in the path
    query_name: str | None = None


def unsubscribe_route(url: str) -> TokenRoute:
    """The route of `[list] unsubscribe_url`: `https://x/unsubscribe/{token}` answers at
    `/unsubscribe/{token}`, `https://x/u?t={token}` at `/u` with the token in `t`."""
    parts = urlsplit(url)
    path = unquote(parts.path) or "/"
    if "{token}" in path:
        if path.count("{token}") > 1:
            raise _unsupported("names {token} more than once")
        return TokenRoute(path)
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if value == "{token}":
            return TokenRoute(path, name)
    raise _unsupported("must hold {token} in its path, or as a whole query value (?t={token})")


def _unsupported(why: str) -> SettingsError:
    return SettingsError([Problem("announcer.toml", f"for serve, the unsubscribe URL {why}", field=_FIELD)])


class Service:
    """The app of one workspace, and the journal it holds open: a context manager."""

    def __init__(self, settings: Settings, site: Path, limits: Limits = DEFAULT_LIMITS) -> None:
        url = settings.unsubscribe_url
        secret = unsubscribe_secret(settings)
        if url is None or secret is None or not list_id_of(settings):
            raise SettingsError(
                [
                    Problem(
                        "announcer.toml",
                        "serve answers [list] id's unsubscribe_url with {token}",
                        field=_FIELD,
                    )
                ]
            )
        route = unsubscribe_route(url)
        pages = Pages(Letterhead.of(settings))
        self._audience = Audience(settings.workspace, list_id_of(settings))
        try:
            self._deliveries = Ledger(settings.workspace, lock=False)
        except BaseException:
            self._audience.file.close()
            raise
        self.unsubscribes = Unsubscribes(
            self._audience.ledger,
            self._deliveries,
            pages,
            settings.defaults.language,
            limits.body_bytes,
            route.query_name,
        )
        self.learned = self.unsubscribes.learn(secret)
        # From here a database gone without a word holds no request, nor the shutdown, for longer
        # (the learning above may take longer, on a large journal: it is bounded by no request).
        try:
            for file in (self._audience.file, self._deliveries.file):
                file.bound(limits.answer_seconds)
        except BaseException:
            self.close()
            raise
        app = Starlette(
            routes=[
                Route(route.path, self.unsubscribes.answer, methods=["GET", "HEAD", "POST"]),
                Mount("/", SiteFiles(site)),
            ]
        )
        self.app: ASGIApp = Guard(app, limits)

    def close(self) -> None:
        self.unsubscribes.close()
        self._deliveries.close()
        self._audience.file.close()

    def __enter__(self) -> Service:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
