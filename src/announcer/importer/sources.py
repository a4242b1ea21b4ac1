"""The announcement to import, by kind: a file (text, .eml, .ics, .html), standard input (`-`),
or with --fetch a web address; every read bounded in size (and a fetch in time)."""

from __future__ import annotations

import http.client
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from announcer.errors import AnnouncementError, Problem
from announcer.load.files import open_file
from announcer.load.replies import MAX_MESSAGE_BYTES
from announcer.model.text import excerpt
from announcer.paths import display_path

MAX_SOURCE_BYTES = 2**21  # an announcement (or its web page) is a few KB to a few hundred
FETCH_SECONDS = 15  # for a --fetch to connect and for each read
_KINDS = {".eml": "eml", ".msg": "eml", ".ics": "ics", ".ical": "ics", ".html": "html", ".htm": "html"}


@dataclass(frozen=True)
class Source:
    """An announcement's bytes, where they came from (as the user named it), and their kind."""

    name: str
    kind: str  # text, eml, ics or html
    data: bytes
    url: str | None = None


def _refused(name: str, message: str) -> AnnouncementError:
    return AnnouncementError([Problem(name, message)])


def _bounded(stream: BinaryIO, name: str, limit: int) -> bytes:
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise _refused(
            name,
            f"is larger than {limit // 2**20} MiB: an announcement is a few pages;"
            " give the announcement alone (its text, its email or its page)",
        )
    return data


def _sniffed(data: bytes, fallback: str) -> str:
    head = data[:2_000].lstrip().lower()
    if head.startswith(b"begin:vcalendar"):
        return "ics"
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in head:
        return "html"
    if _MAIL_HEADERS.match(head) and (b"\nmime-version:" in head or b"\ncontent-type:" in head):
        return "eml"  # a whole message pasted, headers first
    return fallback


_MAIL_HEADERS = re.compile(rb"(?:(?:return-path|received|from|to|subject|date|message-id|delivered-to):)")


def read_source(given: str, *, fetch: bool, stdin: BinaryIO) -> Source:
    """The announcement `given` names: `-` is standard input, an http(s) address is fetched
    only when asked, anything else is a file whose suffix says its kind."""
    if given == "-":
        return Source(
            "standard input",
            _sniffed(data := _bounded(stdin, "standard input", MAX_SOURCE_BYTES), "text"),
            data,
        )
    if given.lower().startswith(("http://", "https://")):
        if not fetch:
            raise _refused(
                excerpt(given),
                "is a web address: announcer reads the network only when asked; add --fetch,"
                " or save the page and import the file",
            )
        return _fetched(given)
    path = Path(given)
    kind = _KINDS.get(path.suffix.lower(), "text")
    limit = MAX_MESSAGE_BYTES if kind == "eml" else MAX_SOURCE_BYTES
    name = display_path(path)
    try:
        with open_file(path, AnnouncementError) as stream:
            data = _bounded(stream, name, limit)
    except OSError as exc:
        raise _refused(name, f"cannot read: {exc.strerror or exc}") from None
    return Source(name, _sniffed(data, kind) if kind == "text" else kind, data)


def _fetched(url: str) -> Source:
    """A web page or calendar fetched within FETCH_SECONDS in all and MAX_SOURCE_BYTES; only
    http and https, also where a redirect leads (no file:, no ftp:)."""
    name = excerpt(url)
    request = urllib.request.Request(  # noqa: S310 (http and https only: checked by the caller)
        url, headers={"User-Agent": "announcer-import", "Accept": "text/html, text/calendar, text/plain"}
    )
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    deadline = time.monotonic() + FETCH_SECONDS
    try:
        with opener.open(request, timeout=FETCH_SECONDS) as response:
            data = b""
            while chunk := response.read(65_536):
                data += chunk
                if len(data) > MAX_SOURCE_BYTES:
                    raise _refused(
                        name, f"is larger than {MAX_SOURCE_BYTES // 2**20} MiB: not an announcement"
                    )
                if time.monotonic() > deadline:
                    raise _refused(
                        name, f"took longer than {FETCH_SECONDS} seconds: save the page and import the file"
                    )
            kind_header = response.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        exc.close()  # its response, still open
        raise _refused(name, f"the server answered {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError, ValueError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise _refused(name, f"cannot be fetched: {reason}") from None
    kind = {"text/html": "html", "application/xhtml+xml": "html", "text/calendar": "ics"}.get(
        kind_header, "text"
    )
    return Source(name, _sniffed(data, kind), data, url)
