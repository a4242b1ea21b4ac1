"""Real calendar engines reading our calendars: ical.js (Thunderbird's), libical (Evolution's),
and a Radicale CalDAV server (what a calendar stores), all on this machine and 127.0.0.1 only.

Missing engines skip their tests with the reason; where ANNOUNCER_REQUIRE_ENGINES=1 (CI) they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from icalendar import Calendar

ROOT = Path(__file__).resolve().parents[1]
ENGINES = Path(__file__).parent / "engines"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, where python3-gi and gir1.2-ical-3.0 live


@dataclass(frozen=True)
class ReadEvent:
    """What an engine made of one VEVENT."""

    uid: str
    start: datetime
    end: datetime
    sequence: int
    status: str | None
    attendees: tuple[str, ...]
    attachments: tuple[str, ...] = ()  # ATTACH by URI: a talk's materials


@dataclass(frozen=True)
class ReadCalendar:
    method: str | None
    events: tuple[ReadEvent, ...]


def _unavailable(reason: str) -> None:
    if os.environ.get("ANNOUNCER_REQUIRE_ENGINES") == "1":
        pytest.fail(f"calendar engines are required here: {reason}")
    pytest.skip(reason)


def _command(engine: str) -> list[str]:
    if engine == "ical.js":
        if shutil.which("node") is None or not (ROOT / "node_modules" / "ical.js").is_dir():
            _unavailable("ical.js needs Node.js and `npm ci` (package.json)")
        return ["node", str(ENGINES / "read_icaljs.mjs")]
    probe = (
        subprocess.run(
            [SYSTEM_PYTHON, "-c", "import gi; gi.require_version('ICalGLib', '3.0')"],
            capture_output=True,
            check=False,
        )
        if Path(SYSTEM_PYTHON).exists()
        else None
    )
    if probe is None or probe.returncode != 0:
        _unavailable("libical needs Debian's python3-gi and gir1.2-ical-3.0 (apt)")
    return [SYSTEM_PYTHON, str(ENGINES / "read_libical.py")]


def read_with(engine: str, calendars: list[bytes], folder: Path) -> list[ReadCalendar]:
    """Each calendar as `engine` ("ical.js" or "libical") reads it."""
    command = _command(engine)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for number, data in enumerate(calendars):
        path = folder / f"{engine}-{number}.ics"
        path.write_bytes(data)
        paths.append(str(path))
    done = subprocess.run(
        [*command, *paths], capture_output=True, text=True, timeout=120, check=False, cwd=ROOT
    )
    assert done.returncode == 0, f"{engine} could not read our calendars:\n{done.stderr}"
    return [
        ReadCalendar(
            calendar["method"],
            tuple(
                ReadEvent(
                    event["uid"],
                    datetime.fromtimestamp(event["start"], UTC),
                    datetime.fromtimestamp(event["end"], UTC),
                    int(event["sequence"]),
                    event["status"],
                    tuple(event["attendees"]),
                    tuple(event["attachments"]),
                )
                for event in calendar["events"]
            ),
        )
        for calendar in json.loads(done.stdout)
    ]


class CalDAV:
    """One calendar collection on a Radicale server, stored as a calendar client stores mail:
    METHOD removed (RFC 4791 §4.1), and an older version never replacing a newer one."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.collection = f"{base}/organiser/seminars/"
        self._request("MKCALENDAR", self.collection)

    def _request(self, method: str, url: str, body: bytes | None = None, depth: str | None = None) -> bytes:
        request = urllib.request.Request(url, data=body, method=method)
        request.add_header("Authorization", "Basic b3JnYW5pc2VyOng=")  # organiser:x (auth is off)
        if body is not None:
            request.add_header("Content-Type", "text/calendar" if method == "PUT" else "application/xml")
        if depth is not None:
            request.add_header("Depth", depth)
        with urllib.request.urlopen(request, timeout=30) as response:
            return bytes(response.read())

    def store(self, message_calendar: bytes) -> bool:
        """File a received calendar under its UID unless the stored one is newer (RFC 5546
        §2.1.5: higher SEQUENCE, then later DTSTAMP); True if it was stored."""
        calendar = Calendar.from_ical(message_calendar)
        calendar.pop("METHOD", None)
        (event,) = calendar.events
        stored = self.stored(event.uid)
        if stored is not None:
            (kept,) = stored.events
            if (kept.sequence, kept.DTSTAMP) >= (event.sequence, event.DTSTAMP):
                return False
        self._request("PUT", self._href(event.uid), calendar.to_ical())
        return True

    def _href(self, uid: str) -> str:
        return self.collection + urllib.parse.quote(uid.replace("@", "-at-"), safe="") + ".ics"

    def stored(self, uid: str) -> Calendar | None:
        try:
            return Calendar.from_ical(self._request("GET", self._href(uid)))
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def between(self, start: datetime, end: datetime) -> list[Calendar]:
        """The calendar objects a time-range REPORT (RFC 4791 §7.8) finds in [start, end)."""
        query = f"""<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:prop><C:calendar-data/></D:prop>
  <C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
    <C:time-range start="{start:%Y%m%dT%H%M%SZ}" end="{end:%Y%m%dT%H%M%SZ}"/>
  </C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>"""
        answer = self._request("REPORT", self.collection, query.encode(), depth="1").decode()
        found = []
        for chunk in answer.split("BEGIN:VCALENDAR")[1:]:
            data = "BEGIN:VCALENDAR" + chunk.split("END:VCALENDAR")[0] + "END:VCALENDAR\r\n"
            found.append(Calendar.from_ical(data.replace("&#13;", "\r")))
        return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def radicale(folder: Path) -> Iterator[CalDAV]:
    """A Radicale server of our own on 127.0.0.1, with its storage in `folder`."""
    try:
        import radicale as _  # noqa: F401
    except ImportError:
        _unavailable("Radicale is not installed (pip install '.[test]')")
    port = _free_port()
    folder.mkdir(parents=True, exist_ok=True)
    log = folder / "radicale.log"
    with log.open("wb") as errors:
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "radicale",
                "--server-hosts",
                f"127.0.0.1:{port}",
                "--storage-filesystem-folder",
                str(folder / "storage"),
                "--auth-type",
                "none",
                "--logging-level",
                "error",
            ],
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"Radicale did not start: {log.read_text()}") from None
                time.sleep(0.1)
        yield CalDAV(f"http://127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(timeout=10)
