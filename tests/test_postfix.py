"""A real mail server: 1,000 messages through Postfix on 127.0.0.1, over 1 and over 4 connections.

Postfix is set up by `tests/postfix/start` (CI runs it; it needs root) and delivers every copy
into one Maildir with its Delivered-To header. Each recipient must hold exactly one message,
and its parts must be those of the dry run's message for them.
"""

from __future__ import annotations

import os
import re
import time
import uuid
from collections import defaultdict
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.helpers import CLI, EXAMPLE_EVENT, SHARED_HEADERS, parts, read_message, to_name_and_address, write

MAILDIR = os.environ.get("ANNOUNCER_POSTFIX_MAILDIR")
COUNT = 1000
NAMES = ("Åsa Lindqvist", "Jürgen Müller", "Chen Wei 陈伟", "Pat O'Brien", "")

pytestmark = pytest.mark.skipif(
    not MAILDIR,
    reason="no Postfix here: run `tests/postfix/start` as root, then set ANNOUNCER_POSTFIX_MAILDIR "
    "to the folder it prints",
)


def _delivered(folder: Path, addresses: set[str], timeout: float = 300) -> dict[str, list[EmailMessage]]:
    """The messages in the Maildir for these addresses, once every one of them has arrived."""
    deadline = time.monotonic() + timeout
    found: dict[str, list[EmailMessage]] = defaultdict(list)
    seen: set[str] = set()
    while True:
        for path in sorted((folder / "new").glob("*")) if (folder / "new").is_dir() else []:
            if path.name in seen:
                continue
            data = path.read_bytes()
            stamp = _DELIVERED_TO.search(data)  # other runs' messages, kept in the Maildir, are not parsed
            if stamp and (recipient := stamp[1].decode()) in addresses:
                crlf = re.sub(rb"(?<!\r)\n", b"\r\n", data)  # a Maildir holds local line ends
                found[recipient].append(read_message(crlf))
            seen.add(path.name)
        if set(found) == addresses or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


@pytest.mark.parametrize("connections", [1, 4])
def test_postfix_delivers_each_recipient_one_message_equal_to_the_dry_run(
    cli: CLI, workspace: Path, connections: int
) -> None:
    run = uuid.uuid4().hex[:8]  # the Maildir outlives the test: this run's recipients are its own
    people = [f"p{run}-{number:04d}@example.org" for number in range(COUNT)]
    names = [NAMES[number % len(NAMES)] for number in range(COUNT)]
    write(
        Path("list.csv"), "email,name\n" + "".join(f'{a},"{n}"\n' for a, n in zip(people, names, strict=True))
    )
    with Path("announcer.toml").open("a", encoding="utf-8") as settings:
        settings.write(
            f'\n[smtp]\nhost = "127.0.0.1"\nport = 25\nsecurity = "none"\nconnections = {connections}\n'
        )

    code, out, err = cli("send", EXAMPLE_EVENT, "--to", "list.csv", "--outbox", "dry")
    assert code == 0, out + err
    started = time.monotonic()
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", "list.csv", "--transport", "smtp", "--past")
    seconds = time.monotonic() - started
    assert code == 0, out + err
    assert f"sent {COUNT} of {COUNT} by SMTP" in out
    print(f"\n{COUNT} messages into Postfix over {connections} connection(s): {COUNT / seconds:.0f}/s")

    received = _delivered(Path(MAILDIR or "") / "all", set(people))
    assert sorted(received) == sorted(people), "everyone has the message"
    assert {address: len(messages) for address, messages in received.items()} == dict.fromkeys(people, 1)

    dry_run = {read_message(path)["To"].addresses[0].addr_spec: path for path in Path("dry").rglob("*.eml")}
    for address in people:
        ours, expected = received[address][0], read_message(dry_run[address])
        for name in SHARED_HEADERS:
            assert str(ours[name]) == str(expected[name]), (address, name)
        assert to_name_and_address(ours) == to_name_and_address(expected)
        assert _unstamped(parts(ours)) == _unstamped(parts(expected)), address


def _unstamped(found: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    """Parts with each calendar's DTSTAMP (when the calendar was made: each send makes its own) blanked."""
    return [tuple(_DTSTAMP.sub("DTSTAMP:", v) if isinstance(v, str) else v for v in part) for part in found]


_DTSTAMP = re.compile(r"DTSTAMP:\d{8}T\d{6}Z")
_DELIVERED_TO = re.compile(rb"^Delivered-To: (\S+)$", re.MULTILINE)
