"""What `announcer site` wrote, served read-only: Starlette's static files (no path outside the
folder, no symbolic link out of it), with the content types feed readers and calendars expect."""

from __future__ import annotations

import os
from pathlib import Path, PurePath
from typing import Any

from starlette.responses import Response
from starlette.staticfiles import StaticFiles

_TYPES = {
    ".ics": "text/calendar; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}
# The site's pages style themselves inline and show nothing from elsewhere.
POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)


class SiteFiles(StaticFiles):
    """The site's folder, its index.html for a folder's address."""

    def __init__(self, folder: os.PathLike[str] | str) -> None:
        super().__init__(directory=folder, html=True, check_dir=False)

    async def check_config(self) -> None:
        """A site not written yet is no error: each of its addresses is not found (404)."""
        if self.directory is not None and Path(self.directory).is_dir():
            await super().check_config()

    def file_response(
        self,
        full_path: os.PathLike[str] | str,
        stat_result: os.stat_result,
        scope: Any,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        kind = _TYPES.get(PurePath(full_path).suffix.lower())
        if kind is not None and response.status_code != 304:
            response.headers["content-type"] = kind
        response.headers["content-security-policy"] = POLICY
        return response
