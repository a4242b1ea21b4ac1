"""The mailbox a user names: an IMAP folder by its URL, or a path (a Maildir, an mbox file, a
folder of `.eml` files, one `.eml` file); above `sources` and `imap`, which read them."""

from __future__ import annotations

from pathlib import Path

from announcer.inbox.imap import IMAPMailbox
from announcer.inbox.sources import FileMailbox, Mailbox


def open_mailbox(spec: str | Path, *, ca_file: Path | None = None, timeout: float = 60) -> Mailbox:
    """The mailbox `spec` names: `imaps://user@host[:port]/FOLDER`, or a path."""
    if isinstance(spec, str) and spec.lower().startswith(("imaps://", "imap://")):
        return IMAPMailbox.from_url(spec, ca_file=ca_file, timeout=timeout)
    return FileMailbox(Path(spec))
