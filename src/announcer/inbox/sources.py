"""Where messages are read from: a Maildir, an mbox file, `.eml` files, or an IMAP folder
(`imap`); each message as the mailbox holds it, read no further than a limit, and when the
mailbox received it (the mailbox's word, never the sender's).

Moving what was handled into a folder: a Maildir renames each file into its Maildir++ folder
(`.Handled/cur/`), the same file system, so a kill leaves it in one place or the other; an
mbox file or a folder of `.eml` files is not moved (they are read, never written).
"""

from __future__ import annotations

import mailbox
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from announcer.clock import utc_now
from announcer.errors import MailboxError, Problem
from announcer.model.text import shown_safely
from announcer.paths import display_path

IMAP_SCHEME = "imaps://"


@dataclass(frozen=True)
class Stored:
    """A message as the mailbox holds it: at most `limit + 1` of its bytes (`size` says how
    many it has), when the mailbox received it, and what `move` takes to move it."""

    source: str  # how a note names it: a file, "an mbox, message 3", "imaps://host/INBOX, UID 17"
    data: bytes
    arrived: datetime
    size: int
    handle: str = ""  # a Maildir file's path, an IMAP UID; "" where it cannot be moved

    @property
    def whole(self) -> bool:
        return len(self.data) == self.size


class Mailbox(Protocol):
    """A mailbox `inbox` and `rsvps` read; `move` is for what was handled (`--move-to`)."""

    name: str

    def messages(self, limit: int) -> Iterator[Stored]:
        """Each message, at most `limit + 1` bytes of it (so a longer one is known as such)."""
        ...

    def can_move(self, folder: str) -> str:
        """Why messages cannot be moved to `folder` here (in an organiser's words); "" if they can."""
        ...

    def move(self, handles: Sequence[str], folder: str) -> None:
        """Move these messages (by `Stored.handle`) into `folder`, creating it if need be."""
        ...

    def close(self) -> None: ...


def note(source: str, message: str) -> Problem:
    """A problem with a message, fit to print (the source and the words are a stranger's too)."""
    return Problem(shown_safely(source, 300), shown_safely(message, 500))


class FileMailbox:
    """A Maildir (cur/ and new/), a folder of `.eml` files, an mbox file, or one `.eml` file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = display_path(path)
        self.is_maildir = path.is_dir() and any((path / part).is_dir() for part in ("cur", "new"))

    def messages(self, limit: int) -> Iterator[Stored]:
        path = self.path
        if path.is_dir():
            folders = [path / "cur", path / "new"] if self.is_maildir else [path]
            for folder in folders:
                if not folder.is_dir():
                    continue
                pattern = "*.eml" if folder == path else "*"
                for file in sorted(folder.glob(pattern)):
                    if not file.name.startswith(".") and file.is_file():
                        stored = _read(file, limit)
                        if stored is not None:
                            yield stored
            return
        if not path.is_file():
            message = "no such mailbox: give a Maildir folder, an mbox file or .eml files"
            raise MailboxError([note(display_path(path), message)])
        with path.open("rb") as opened:
            starts_as_mbox = opened.read(5) == b"From "
        if not starts_as_mbox:
            stored = _read(path, limit)
            if stored is not None:
                yield stored
            return
        yield from _mbox(path, limit)

    def can_move(self, folder: str) -> str:
        if not self.is_maildir:
            return f"{self.name} is not a Maildir: only a Maildir's or an IMAP folder's messages can be moved"
        try:
            maildir_folder(folder)
        except MailboxError as exc:
            return str(exc.problems[0].message)
        return ""

    def move(self, handles: Sequence[str], folder: str) -> None:
        """Rename each file into the Maildir++ folder `.FOLDER` (cur/, as a message already seen
        by a reader: `inbox` read it); a file gone already (moved by a run killed after it) is
        passed over."""
        target = self.path / maildir_folder(folder)
        for part in ("cur", "new", "tmp"):
            (target / part).mkdir(parents=True, exist_ok=True)
        (target / "maildirfolder").touch()
        for handle in handles:
            file = Path(handle)
            name = file.name if ":2," in file.name else f"{file.name}:2,"
            try:
                os.rename(file, target / "cur" / name)
            except FileNotFoundError:
                continue

    def close(self) -> None:
        return None


_FOLDER_NAME = re.compile(r"[^\x00-\x1f\x7f/\\]{1,200}")


def maildir_folder(folder: str) -> str:
    """The Maildir++ directory of a folder (`Handled` → `.Handled`, `Lists/Handled` →
    `.Lists.Handled`); a name that could leave the Maildir is refused."""
    parts = folder.strip("/").split("/")
    if not all(
        _FOLDER_NAME.fullmatch(part) and part not in (".", "..") and "." not in part for part in parts
    ):
        raise MailboxError([note(folder, "not a folder name for a Maildir (no dots, no control characters)")])
    return "." + ".".join(parts)


def _read(file: Path, limit: int) -> Stored | None:
    """A file's first `limit + 1` bytes; None if it went away meanwhile (another run moved it)."""
    try:
        with file.open("rb") as opened:
            size = os.fstat(opened.fileno()).st_size
            data = opened.read(limit + 1)
            return Stored(display_path(file), data, _modified(opened), max(size, len(data)), str(file))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MailboxError([note(display_path(file), f"cannot be read: {exc.strerror}")]) from None


def _mbox(path: Path, limit: int) -> Iterator[Stored]:
    shown = display_path(path)
    box = mailbox.mbox(path, create=False)
    try:
        with path.open("rb") as opened:
            written = _modified(opened)  # no message in it arrived after the file was last written
        for number, key in enumerate(box.iterkeys(), start=1):
            with box.get_file(key, from_=True) as stored:
                from_line = stored.readline(limit)
                data = stored.read(limit + 1)
                size = len(data)
                while size > limit and (rest := stored.read(1 << 20)):  # counted, not kept
                    size += len(rest)
            arrived = _from_line_time(from_line)
            yield Stored(f"{shown}, message {number}", data, min(arrived or written, written), size)
    finally:
        box.close()


def _modified(opened: BinaryIO) -> datetime:
    """When the file was last written, and never after now (a copied file may carry any time)."""
    now = utc_now()
    try:
        return min(datetime.fromtimestamp(os.fstat(opened.fileno()).st_mtime, UTC), now)
    except (OverflowError, ValueError, OSError):
        return now


_ASCTIME = re.compile(rb" ([A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4})")


def _from_line_time(line: bytes) -> datetime | None:
    """The time on an mbox From_ line (`From sender Mon Mar  2 09:45:01 2026`), written by the
    receiving side; read as UTC (the writer's zone is not stated, and the file's time bounds it)."""
    found = _ASCTIME.search(line)
    if found is None:
        return None
    try:
        return datetime.strptime(" ".join(found[1].decode().split()), "%b %d %H:%M:%S %Y").replace(tzinfo=UTC)
    except ValueError:
        return None
