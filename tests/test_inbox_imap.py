"""announcer inbox and rsvps over IMAP, against a real Dovecot on 127.0.0.1 with TLS verified."""

from __future__ import annotations

import imaplib
import shutil
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from announcer.audience.ledger import Audience, State
from announcer.audience.tokens import unsubscribe_token
from announcer.lifecycle import event_uid
from announcer.load.settings import load_settings
from tests.dovecot import PASSWORD, USER, Dovecot, running_dovecot
from tests.helpers import CLI, EXAMPLE_EVENT
from tests.inbox_mail import (
    BOUNCES,
    LEAVE,
    LIST,
    READERS,
    SECRET,
    after_a_send,
    auto_reply,
    deliver,
    dsn,
    mail,
    rsvp,
)


@pytest.fixture
def dovecot(request: pytest.FixtureRequest) -> Iterator[Dovecot]:
    # Not under tmp_path: pytest's folders are the test user's alone, and Dovecot's processes
    # run as its own users where the tests run as root. A test may give more settings (param).
    with (
        tempfile.TemporaryDirectory(prefix="announcer-dovecot-") as folder,
        running_dovecot(Path(folder), getattr(request, "param", "")) as server,
    ):
        yield server


@pytest.fixture
def sent(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return after_a_send(workspace, monkeypatch)


@pytest.fixture
def imap_workspace(sent: Path, dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copy(dovecot.ca_file, sent / "imap-ca.pem")
    settings = sent / "announcer.toml"
    settings.write_text(settings.read_text() + 'ca_file = "imap-ca.pem"\n')  # into [inbox], the last table
    monkeypatch.setenv("ANNOUNCER_IMAP_PASSWORD", PASSWORD)
    return sent


def _folder(dovecot: Dovecot, folder: str) -> list[tuple[int, bytes]]:
    """(UID, FLAGS) of each message of a folder, as another IMAP client sees it."""
    context = ssl.create_default_context(cafile=str(dovecot.ca_file))
    with imaplib.IMAP4_SSL("127.0.0.1", dovecot.port, ssl_context=context) as client:
        client.login(USER, PASSWORD)
        status, _ = client.select(folder, readonly=True)
        if status != "OK":
            return []
        _, found = client.uid("FETCH", "1:*", "(UID FLAGS)")
        return [(int(item.split(b"UID ")[1].split()[0]), item) for item in found if isinstance(item, bytes)]


def test_inbox_over_imap_handles_each_message_once_and_moves_only_what_it_handled(
    imap_workspace: Path, dovecot: Dovecot, cli: CLI
) -> None:
    token = unsubscribe_token(READERS[0], SECRET)
    deliver(
        dovecot.maildir,
        dsn(BOUNCES, READERS[1]),
        mail("someone@example.net", LEAVE, f"unsubscribe {token}"),
        auto_reply(READERS[2]),
        mail("colleague@example.net", "onkpat-seminars@example.org", "A question"),
    )
    code, out, err = cli("inbox", "--imap", dovecot.url(), "--move-to", "Handled")
    assert code == 4, err
    assert (
        "inbox: 4 new messages: 1 bounce, 1 unsubscription, 1 automatic reply, 1 other; moved 3 to Handled"
        in out
    )
    assert PASSWORD not in out + err
    assert len(_folder(dovecot, "Handled")) == 3
    left = _folder(dovecot, "INBOX")
    assert len(left) == 1
    assert b"\\Seen" not in left[0][1]  # read with BODY.PEEK: the colleague's question stays unread
    with Audience(imap_workspace, LIST) as audience:
        assert {s.address: s.state for s in audience.standings()} == {
            READERS[0]: State.UNSUBSCRIBED,
            READERS[1]: State.BOUNCING,
        }
    code, out, err = cli("inbox", "--imap", dovecot.url(), "--move-to", "Handled")
    assert (code, out) == (0, "inbox: 0 new messages; 1 handled before\n"), err


@pytest.mark.parametrize("dovecot", ["imap_max_line_length = 2500"], indirect=True)
def test_a_folder_of_many_messages_is_read_and_moved_in_commands_the_server_takes(
    imap_workspace: Path, dovecot: Dovecot, cli: CLI
) -> None:
    # 700 UIDs in one command line are 2,700 characters, past this server's limit (Dovecot's own
    # is 64 kB: 13,000 UIDs, a few days of bounces after a big send); 500 of them are not.
    deliver(dovecot.maildir, *(dsn(BOUNCES, READERS[number % 3]) for number in range(700)))
    code, out, err = cli("inbox", "--imap", dovecot.url(), "--move-to", "Handled")
    assert code == 0, err
    assert out.endswith("inbox: 700 new messages: 700 bounces; moved 700 to Handled\n")
    assert len(_folder(dovecot, "Handled")) == 700
    assert _folder(dovecot, "INBOX") == []


def test_the_servers_certificate_is_verified(
    sent: Path, dovecot: Dovecot, cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANNOUNCER_IMAP_PASSWORD", PASSWORD)
    deliver(dovecot.maildir, dsn(BOUNCES, READERS[1]))
    code, _out, err = cli("inbox", "--imap", dovecot.url())  # without the CA: a stranger's certificate
    assert code == 1
    assert "TLS failed" in err
    assert "CERTIFICATE_VERIFY_FAILED" in err
    with Audience(sent, LIST) as audience:
        assert audience.standings() == []


def test_a_wrong_password_is_refused_and_never_shown(
    imap_workspace: Path, dovecot: Dovecot, cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANNOUNCER_IMAP_PASSWORD", "not-the-password")
    code, out, err = cli("inbox", "--imap", dovecot.url())
    assert code == 1
    assert "the server refused" in err
    assert "not-the-password" not in out + err


def test_rsvps_counts_the_answers_in_an_imap_folder(imap_workspace: Path, dovecot: Dovecot, cli: CLI) -> None:
    uid = event_uid("2026-03-06-car-t-cell-therapy", load_settings(imap_workspace / "announcer.toml").sender)
    deliver(dovecot.maildir, rsvp(READERS[0], uid), rsvp(READERS[1], uid, "DECLINED"))
    code, out, err = cli("rsvps", EXAMPLE_EVENT, "--mailbox", dovecot.url())
    assert code == 0, err
    assert "2 answers: 1 yes, 1 no." in out
