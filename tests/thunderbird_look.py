"""What Thunderbird does with each kind of message, under Xvfb: its bar, its event table, and
what one click on the bar's button puts in its calendar.

    python -m tests.thunderbird_look OUTDIR                 # each kind, one reader's calendar
    python -m tests.thunderbird_look --digest-structures OUTDIR   # the digest, laid out three ways

Sends the example's life to a local SMTP server (aiosmtpd on 127.0.0.1) as one reader,
asa.lindqvist@example.org: the CAR T talk's invitation, the week's digest, a reminder, an update
(moved to 14:00), the cancellation and the reinstatement (`send --reinstate`). Then opens each
received message, in that order, in Thunderbird (Debian's `thunderbird`) on a private Xvfb
display with a profile whose only calendar is a local one and whose identity is that reader;
screenshots its window into OUTDIR (`NN-kind.png`, and `NN-kind-clicked.png` after clicking the
bar's button), answers OK when Thunderbird asks about an event deleted a moment ago, and reads
the calendar's SQLite store after each step. Prints one line per step: whether the bar shows, the
events in the calendar and the CAR T talk's start. With --digest-structures, the week's digest
as sent and rebuilt two other ways (a text/calendar part for each talk, as before 0.3; an
application/ics file for each talk alone), each opened in a fresh profile: how many of its talks
one click on the bar adds. Needs `thunderbird`, `Xvfb`, `xwd`, `xwininfo` and `xdotool` (apt:
thunderbird xvfb x11-apps x11-utils xdotool); says what is missing otherwise.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import sqlite3
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from announcer import clock
from announcer.deliver.transports import TransportName
from announcer.jobs import SendOptions, send_cancellation, send_digest, send_invitation, send_reminders
from announcer.load.settings import load_settings
from announcer.model.window import Window
from tests.helpers import configure_smtp, copy_example
from tests.smtp_server import smtp_server

READER = "asa.lindqvist@example.org"
EVENT = "events/2026-03-06-car-t-cell-therapy.yaml"
TOOLS = ("thunderbird", "Xvfb", "xwd", "xwininfo", "xdotool")
STOCKHOLM = ZoneInfo("Europe/Stockholm")
# (kind, whether to click the bar's button: a reminder's event is already in the calendar)
STEPS = (
    ("invitation", True),
    ("digest", True),
    ("reminder", False),
    ("update", True),
    ("cancellation", True),
    ("reinstatement", True),
)

PREFS = """
user_pref("mail.shell.checkDefaultClient", false);
user_pref("mail.provider.enabled", false);
user_pref("mailnews.start_page.enabled", false);
user_pref("app.update.enabled", false);
user_pref("datareporting.policy.dataSubmissionEnabled", false);
user_pref("toolkit.telemetry.enabled", false);
user_pref("mail.rights.version", 1);
user_pref("calendar.timezone.local", "Europe/Stockholm");
user_pref("calendar.timezone.useSystemTimezone", false);
user_pref("mail.accountmanager.accounts", "account2,account1");
user_pref("mail.accountmanager.defaultaccount", "account2");
user_pref("mail.accountmanager.localfoldersserver", "server1");
user_pref("mail.account.account1.server", "server1");
user_pref("mail.server.server1.type", "none");
user_pref("mail.server.server1.hostname", "Local Folders");
user_pref("mail.server.server1.userName", "nobody");
user_pref("mail.account.account2.server", "server2");
user_pref("mail.account.account2.identities", "id1");
user_pref("mail.server.server2.type", "pop3");
user_pref("mail.server.server2.hostname", "127.0.0.1");
user_pref("mail.server.server2.port", 9);
user_pref("mail.server.server2.userName", "reader");
user_pref("mail.server.server2.name", "Reader");
user_pref("mail.server.server2.login_at_startup", false);
user_pref("mail.server.server2.check_new_mail", false);
user_pref("mail.identity.id1.useremail", "%(reader)s");
user_pref("mail.identity.id1.fullName", "Reader");
user_pref("mail.identity.id1.valid", true);
user_pref("calendar.registry.home.type", "storage");
user_pref("calendar.registry.home.uri", "moz-storage-calendar://");
user_pref("calendar.registry.home.name", "Home");
user_pref("calendar.registry.home.calendar-main-default", true);
user_pref("calendar.registry.home.disabled", false);
user_pref("calendar.registry.home.imip.identity.key", "id1");
user_pref("calendar.list.sortOrder", "home");
"""


@contextmanager
def _pinned(moment: datetime) -> Iterator[None]:
    with clock.pinned(moment.astimezone(UTC), (f"tb{number}" for number in itertools.count())):
        yield


def messages(folder: Path) -> list[tuple[str, Path]]:
    """The example's life as one reader receives it over SMTP: each message's kind and file."""
    with tempfile.TemporaryDirectory() as work, smtp_server() as server:
        workspace = Path(work)
        copy_example(workspace)
        configure_smtp(server, workspace)
        settings = load_settings(workspace / "announcer.toml")
        smtp = SendOptions(transport=TransportName.SMTP)
        event = workspace / EVENT
        with _pinned(datetime(2026, 3, 1, 9, tzinfo=STOCKHOLM)):
            send_invitation(event, READER, settings, smtp)
            send_digest(workspace / "events", Window(date(2026, 3, 2), 7), READER, settings, smtp)
        with _pinned(datetime(2026, 3, 5, 18, tzinfo=STOCKHOLM)):  # the CAR T talk's alone is due
            send_reminders(workspace / "events", timedelta(hours=24), READER, settings, smtp)
        with _pinned(datetime(2026, 3, 5, 19, tzinfo=STOCKHOLM)):
            event.write_text(
                event.read_text().replace("06 12:00", "06 14:00").replace("06 13:00", "06 15:00")
            )
            send_invitation(event, READER, settings, smtp)
            send_cancellation(event, READER, settings, smtp)
        with _pinned(datetime(2026, 3, 5, 20, tzinfo=STOCKHOLM)):
            send_invitation(event, READER, settings, smtp, reinstate=True)
        received = [message.data for message in server.handler.received]
    kinds = [kind for kind, _ in STEPS]
    if len(received) < len(kinds):
        raise SystemExit(f"the server received {len(received)} messages, not {len(kinds)}")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for number, (kind, data) in enumerate(zip(kinds, received, strict=False), start=1):
        path = folder / f"{number:02d}-{kind}.eml"
        path.write_bytes(data)
        written.append((kind, path))
    return written


class _Dump:
    """An X window dump (24/32-bit ZPixmap, as `xwd` writes on Xvfb): its size and pixels."""

    def __init__(self, dump: bytes) -> None:
        header = struct.unpack(">25I", dump[:100])
        size, self.width, self.height, self._order, self._per_line, colours = (
            header[i] for i in (0, 4, 5, 7, 12, 19)
        )
        self._pixels = dump[size + colours * 12 :]

    def rgb(self, x: int, y: int) -> tuple[int, int, int]:
        start = y * self._per_line + 4 * x
        blue, green, red, _ = (
            self._pixels[start : start + 4] if self._order == 0 else self._pixels[start : start + 4][::-1]
        )
        return red, green, blue


def _png(dump: bytes) -> bytes:
    """An X window dump as a PNG."""
    image = _Dump(dump)
    width, height = image.width, image.height
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            rows += bytes(image.rgb(x, y))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    head = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", head)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


class Thunderbird:
    """Thunderbird on a display of its own, one message window at a time, one profile throughout."""

    def __init__(self, display: str, profile: Path) -> None:
        self.env = {**os.environ, "DISPLAY": display}
        self.env.pop("MOZ_HEADLESS", None)
        self.profile = profile
        self.process: subprocess.Popen[bytes] | None = None

    def open(self, message: Path, title: str) -> str:
        """Opens the message in its own window; the window's id once its title shows."""
        self.process = subprocess.Popen(
            ["thunderbird", "-profile", str(self.profile), "-no-remote", str(message)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            tree = subprocess.run(
                ["xwininfo", "-root", "-tree"], env=self.env, capture_output=True, text=True
            )
            for line in tree.stdout.splitlines():
                if title in line and "Mozilla Thunderbird" in line:
                    time.sleep(8)  # the message and its calendar bar render after the title
                    return line.split()[0]
            time.sleep(0.5)
        raise SystemExit(f"Thunderbird showed no window titled {title!r} within 90 s")

    def shot(self, window: str, path: Path) -> bytes:
        """The window (or the whole screen: "-root", dialogs too) as a PNG in `path`; its X
        dump, to find the bar in."""
        which = ["-root"] if window == "-root" else ["-id", window]
        dump = subprocess.run(
            ["xwd", *which, "-silent"], env=self.env, capture_output=True, check=True
        ).stdout
        path.write_bytes(_png(dump))
        return dump

    def click(self, window: str, x: int, y: int) -> list[str]:
        """Clicks the bar's button; the titles of the dialogs Thunderbird then showed. Its
        question about an event deleted a moment ago (a reinstatement) is answered OK."""
        subprocess.run(
            ["xdotool", "mousemove", "--window", window, str(x), str(y), "click", "1"],
            env=self.env,
            check=True,
        )
        time.sleep(6)  # the calendar stores what the click asked
        seen = []
        for line in self._windows():
            for title in DIALOGS:
                if f'"{title}"' in line:
                    seen.append(title)
                    if title == ASKS_AGAIN:  # its OK button, at the bottom right
                        size = re.search(r"(\d+)x(\d+)\+", line)
                        if size is not None:
                            self.press(line.split()[0], int(size[1]) - 56, int(size[2]) - 28)
        return seen

    def press(self, window: str, x: int, y: int) -> None:
        subprocess.run(
            ["xdotool", "mousemove", "--window", window, str(x), str(y), "click", "1"],
            env=self.env,
            check=True,
        )
        time.sleep(6)

    def _windows(self) -> list[str]:
        tree = subprocess.run(["xwininfo", "-root", "-tree"], env=self.env, capture_output=True, text=True)
        return tree.stdout.splitlines()

    def close(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None


ASKS_AGAIN = "Process Invitation?"  # "You have recently deleted this item, are you sure ...?"
DIALOGS = ("An error has occurred", ASKS_AGAIN)  # the first: "Processing message failed. Status: ..."
BAR = (221, 238, 254)  # the calendar bar's light blue (Thunderbird 153, default theme)


def _bar(dump: bytes) -> tuple[int, int] | None:
    """Where to click the calendar bar's button (at the bar's right end, half-way down), or
    None when the message shows no bar. The bar moves with the subject's lines."""
    image = _Dump(dump)
    rows = [y for y in range(min(image.height, 400)) if image.rgb(image.width // 2, y) == BAR]
    if len(rows) < 10:
        return None
    return image.width - 37, (rows[0] + rows[-1]) // 2


def calendar_events(profile: Path) -> list[tuple[str, str]]:
    """The local calendar's events: title and start (UTC), read from its SQLite store."""
    store = profile / "calendar-data" / "local.sqlite"
    if not store.exists():
        return []
    with sqlite3.connect(store) as db:
        rows = db.execute("select title, event_start from cal_events order by event_start").fetchall()
    return [
        (str(title), datetime.fromtimestamp(start / 1e6, UTC).strftime("%Y-%m-%d %H:%M UTC"))
        for title, start in rows
    ]


def _tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        raise SystemExit(
            f"missing: {', '.join(missing)} (apt-get install thunderbird xvfb x11-apps x11-utils xdotool)"
        )


@contextmanager
def _display() -> Iterator[str]:
    """A private Xvfb display, its name."""
    read, write = os.pipe()
    xvfb = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x1000x24", "-nolisten", "tcp"],
        pass_fds=(write,),
        stderr=subprocess.DEVNULL,
    )
    os.close(write)
    try:
        yield ":" + os.read(read, 16).decode().strip()
    finally:
        os.close(read)
        xvfb.terminate()
        xvfb.wait(timeout=30)


def _steps(display: str, outdir: Path, steps: list[tuple[str, Path, bool]]) -> list[str]:
    """Opens each message in turn in one fresh profile, clicks its bar's button when asked; a
    line for each: the bar, and the calendar after."""
    lines = []
    with tempfile.TemporaryDirectory() as work:
        profile = Path(work) / "profile"
        profile.mkdir()
        (profile / "user.js").write_text(PREFS % {"reader": READER})
        thunderbird = Thunderbird(display, profile)
        try:
            for kind, path, click in steps:
                window = thunderbird.open(path, _subject(path)[:30])
                bar = _bar(thunderbird.shot(window, outdir / f"{path.stem}.png"))
                dialogs: list[str] = []
                if click and bar is not None:
                    dialogs = thunderbird.click(window, *bar)
                    thunderbird.shot("-root", outdir / f"{path.stem}-clicked.png")
                thunderbird.close()
                events = calendar_events(profile)
                car_t = [start for title, start in events if title.startswith("CAR T")]
                lines.append(
                    f"{kind}: {'a calendar bar' if bar else 'no calendar bar'}"
                    + (", clicked" if click and bar else "")
                    + "".join(f' (dialog "{title}")' for title in dialogs)
                    + f"; {len(events)} events in the calendar; the CAR T talk "
                    + (f"at {car_t[0]}" if car_t else "absent")
                )
        finally:
            thunderbird.close()
    return lines


def look(outdir: Path) -> list[str]:
    """Each step's line of figures."""
    _tools()
    outdir.mkdir(parents=True, exist_ok=True)
    received = messages(outdir)
    with _display() as display:
        return _steps(display, outdir, [(kind, path, dict(STEPS)[kind]) for kind, path in received])


def _rebuilt(digest: bytes, as_calendar_parts: bool) -> bytes:
    """The digest with its talks' files alone: each a text/calendar; method=PUBLISH part (as
    before 0.3), or each an application/ics file; the part of all the talks left out."""
    from email import message_from_bytes, policy

    message = message_from_bytes(digest, policy=policy.default)
    kept: list[Any] = []
    for part in message.iter_parts():
        name = part.get_filename() or ""
        if name.startswith("all-talks-"):
            continue
        if name.endswith(".ics") and as_calendar_parts:
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            rebuilt = EmailMessage(policy=policy.SMTP)
            rebuilt.set_content(
                data.decode(),
                subtype="calendar",
                cte="base64",
                params={"method": "PUBLISH", "name": name},
                disposition="attachment",
                filename=name,
            )
            del rebuilt["MIME-Version"]
            part = rebuilt
        kept.append(part)
    message.set_payload(kept)
    return message.as_bytes(policy=policy.SMTP)


def digest_structures(outdir: Path) -> list[str]:
    """The digest laid out three ways, each in a fresh profile: the bar, one click, the calendar."""
    _tools()
    outdir.mkdir(parents=True, exist_ok=True)
    digest = dict(messages(outdir))["digest"]
    layouts = {
        "a text/calendar part of all the talks, an application/ics file each (as sent)": digest.read_bytes(),
        "a text/calendar part each": _rebuilt(digest.read_bytes(), as_calendar_parts=True),
        "an application/ics file each": _rebuilt(digest.read_bytes(), as_calendar_parts=False),
    }
    lines = []
    with _display() as display:
        for number, (layout, data) in enumerate(layouts.items(), start=1):
            path = outdir / f"digest-layout-{number}.eml"
            path.write_bytes(data)
            [line] = _steps(display, outdir, [("digest", path, True)])
            lines.append(f"{layout}: {line}")
    return lines


def _subject(path: Path) -> str:
    from email import message_from_bytes, policy

    return str(message_from_bytes(path.read_bytes(), policy=policy.default)["Subject"])


if __name__ == "__main__":
    match sys.argv[1:]:
        case ["--digest-structures", folder]:
            found = digest_structures(Path(folder))
        case [folder] if not folder.startswith("-"):
            found = look(Path(folder))
        case _:
            raise SystemExit(__doc__)
    for line in found:
        print(line)
