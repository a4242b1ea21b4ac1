"""An IMAP folder as a mailbox, over TLS with the certificate verified (the system's store, or
`[inbox] ca_file`); the password from the environment only (`ANNOUNCER_IMAP_PASSWORD`), never
from the URL, an argument or a log.

Messages are read with BODY.PEEK (nothing is marked as read), no more than the size limit of
each (a partial FETCH), in batches of at most 10 MB; no command names more than 500 UIDs.
Moving what was handled: MOVE (RFC 6851) where the server has it, else COPY, then \\Deleted
and UID EXPUNGE (RFC 4315) of exactly those UIDs; a server with neither keeps them flagged
\\Deleted, never expunging others.
"""

from __future__ import annotations

import imaplib
import re
import socket
import ssl
from base64 import b64encode
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

from announcer.clock import utc_now
from announcer.errors import MailboxError
from announcer.inbox.sources import Stored, note
from announcer.load.secrets import imap_password

BATCH_BYTES = 10_000_000  # fetched at once
UIDS_PER_COMMAND = 500  # a command line of 500 UIDs stays far below servers' limits (Dovecot: 64 kB)
_FETCHED = re.compile(rb"UID (\d+)")
_SIZE = re.compile(rb"RFC822\.SIZE (\d+)")
_INTERNALDATE = re.compile(rb'INTERNALDATE "([^"]+)"')


class IMAPMailbox:
    """One folder of an IMAP account, read and (on request) moved from."""

    def __init__(
        self,
        host: str,
        port: int,
        user: str,
        folder: str,
        *,
        ca_file: Path | None = None,
        timeout: float = 60,
    ) -> None:
        self.host, self.port, self.user, self.folder = host, port, user, folder
        self.name = f"imaps://{user}@{host}:{port}/{folder}"
        self.ca_file = ca_file
        self.timeout = timeout
        self._connection: imaplib.IMAP4_SSL | None = None
        self._capabilities: set[str] = set()

    @classmethod
    def from_url(cls, url: str, *, ca_file: Path | None = None, timeout: float = 60) -> IMAPMailbox:
        """`imaps://user@host[:port]/FOLDER` (RFC 5092's form; the user and folder may be
        %-encoded: `imaps://seminars%40example.org@imap.example.org/INBOX`)."""
        shown = url.split("@", 1)[-1] if "@" in url else url  # nothing before the host is echoed
        try:
            parts = urlsplit(url)
            port = parts.port or 993
        except ValueError:
            raise _error(shown, "not an IMAP URL like imaps://user@imap.example.org/INBOX") from None
        if parts.scheme.lower() != "imaps":
            raise _error(
                shown, "use imaps:// (IMAP over TLS): announcer reads no mailbox over a plain connection"
            )
        if parts.password is not None:
            raise _error(
                shown, "the password comes from ANNOUNCER_IMAP_PASSWORD in the environment, not the URL"
            )
        if not parts.username or not parts.hostname:
            raise _error(shown, "give the user and the host: imaps://user@imap.example.org/INBOX")
        folder = unquote(parts.path.lstrip("/")) or "INBOX"
        return cls(parts.hostname, port, unquote(parts.username), folder, ca_file=ca_file, timeout=timeout)

    def _connect(self) -> imaplib.IMAP4_SSL:
        if self._connection is not None:
            return self._connection
        password = imap_password()
        try:
            context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
            connection = imaplib.IMAP4_SSL(self.host, self.port, ssl_context=context, timeout=self.timeout)
        except ssl.SSLError as exc:
            raise _error(self.name, f"TLS failed: {exc.reason or exc}") from None
        except (OSError, imaplib.IMAP4.error) as exc:
            raise _error(self.name, f"cannot connect: {_said(exc)}") from None
        try:
            connection.login(self.user, password)
            said = _ok(connection.capability(), self.name, "cannot ask what the server can do")  # after login
            self._capabilities = {
                word.upper() for item in said if isinstance(item, bytes) for word in item.decode().split()
            }
            _ok(connection.select(_quoted(self.folder)), self.name, "cannot open the folder")
        except (OSError, imaplib.IMAP4.error) as exc:
            connection.shutdown()
            raise _error(self.name, f"the server refused: {_said(exc)}") from None
        except MailboxError:
            connection.shutdown()
            raise
        self._connection = connection
        return connection

    def messages(self, limit: int) -> Iterator[Stored]:
        connection = self._connect()
        try:
            found = _ok(connection.uid("SEARCH", "ALL"), self.name, "cannot list the messages")
            uids = [int(uid) for uid in b" ".join(item for item in found if isinstance(item, bytes)).split()]
            sizes = self._sizes(connection, uids)
            batch: list[int] = []
            taken = 0
            for uid in uids:
                size = min(sizes.get(uid, 0), limit + 1)
                if batch and (taken + size > BATCH_BYTES or len(batch) == UIDS_PER_COMMAND):
                    yield from self._fetch(connection, batch, sizes, limit)
                    batch, taken = [], 0
                batch.append(uid)
                taken += size
            if batch:
                yield from self._fetch(connection, batch, sizes, limit)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise _error(self.name, f"reading failed: {_said(exc)}") from None

    def _sizes(self, connection: imaplib.IMAP4_SSL, uids: list[int]) -> dict[int, int]:
        if not uids:
            return {}
        sizes: dict[int, int] = {}
        for start in range(0, len(uids), UIDS_PER_COMMAND):
            chunk = ",".join(str(uid) for uid in uids[start : start + UIDS_PER_COMMAND])
            for item in _ok(
                connection.uid("FETCH", chunk, "(UID RFC822.SIZE)"), self.name, "cannot list sizes"
            ):
                line = item[0] if isinstance(item, tuple) else item
                if (
                    isinstance(line, bytes)
                    and (uid := _FETCHED.search(line))
                    and (size := _SIZE.search(line))
                ):
                    sizes[int(uid[1])] = int(size[1])
        return sizes

    def _fetch(
        self, connection: imaplib.IMAP4_SSL, uids: list[int], sizes: dict[int, int], limit: int
    ) -> Iterator[Stored]:
        wanted = ",".join(str(uid) for uid in uids)
        answer = connection.uid("FETCH", wanted, f"(UID INTERNALDATE BODY.PEEK[]<0.{limit + 1}>)")
        for item in _ok(answer, self.name, "cannot fetch messages"):
            if not isinstance(item, tuple) or len(item) < 2:
                continue
            line, data = item[0], item[1]
            uid = _FETCHED.search(line)
            if uid is None:
                continue
            number = int(uid[1])
            yield Stored(
                f"{self.name}, UID {number}",
                bytes(data),
                _arrived(line),
                max(sizes.get(number, len(data)), len(data)),
                str(number),
            )

    def can_move(self, folder: str) -> str:
        return "" if folder.strip() and folder.isprintable() else f"{folder!r} is not a folder name"

    def move(self, handles: Sequence[str], folder: str) -> None:
        connection = self._connect()
        target = _quoted(folder)
        try:
            connection.create(target)  # NO when it exists already: that is fine
            for start in range(0, len(handles), UIDS_PER_COMMAND):
                self._move(connection, ",".join(handles[start : start + UIDS_PER_COMMAND]), target, folder)
        except (OSError, imaplib.IMAP4.error) as exc:
            raise _error(self.name, f"moving failed: {_said(exc)}") from None

    def _move(self, connection: imaplib.IMAP4_SSL, uids: str, target: str, folder: str) -> None:
        capabilities = self._capabilities
        if "MOVE" in capabilities:
            _ok(connection.uid("MOVE", uids, target), self.name, f"cannot move messages to {folder}")
            return
        _ok(connection.uid("COPY", uids, target), self.name, f"cannot copy messages to {folder}")
        _ok(connection.uid("STORE", uids, "+FLAGS.SILENT", r"(\Deleted)"), self.name, "cannot flag messages")
        if "UIDPLUS" in capabilities:
            _ok(connection.uid("EXPUNGE", uids), self.name, "cannot expunge the messages moved")

    def close(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.logout()
        except (OSError, imaplib.IMAP4.error):
            self._connection.shutdown()
        self._connection = None


def _ok(answer: tuple[str, Sequence[object]], name: str, what: str) -> list[object]:
    status, data = answer
    if status != "OK":
        said = b" ".join(item for item in data if isinstance(item, bytes)).decode("utf-8", "replace")
        raise _error(name, f"{what}: {said[:200]}")
    return list(data)


def _arrived(line: bytes) -> datetime:
    """INTERNALDATE: when the server received the message (never after now)."""
    found = _INTERNALDATE.search(line)
    if found is not None:
        try:
            moment = datetime.strptime(found[1].decode("ascii"), "%d-%b-%Y %H:%M:%S %z").astimezone(UTC)
            return min(moment, utc_now())
        except ValueError:
            pass
    return utc_now()


def _quoted(folder: str) -> str:
    """A folder name as IMAP writes it: modified UTF-7 (RFC 3501 §5.1.3), quoted."""
    encoded = []
    pending = ""
    for character in folder + "\0":
        if character != "\0" and not (" " <= character <= "~"):
            pending += character
            continue
        if pending:
            wide = b64encode(pending.encode("utf-16-be")).rstrip(b"=").decode("ascii").replace("/", ",")
            encoded.append(f"&{wide}-")
            pending = ""
        if character == "&":
            encoded.append("&-")
        elif character != "\0":
            encoded.append(character)
    text = "".join(encoded)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(error: BaseException) -> str:
    if isinstance(error, socket.timeout | TimeoutError):
        return "no answer in time"
    return str(error)[:200] or type(error).__name__


def _error(where: str, message: str) -> MailboxError:
    return MailboxError([note(where, message)])
