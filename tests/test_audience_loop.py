"""The audience loop end to end, with real parts: a send to a list through Postfix on 127.0.0.1
with `[list] bounce_address`, then each way a reader leaves as it happens in the world, then
the next send.

- one address Postfix cannot deliver: Postfix's own DSN goes back to the reader's VERP address
  (the envelope sender of their message) and lands in the list's Maildir;
- one reader presses their mail client's unsubscribe: the RFC 8058 one-click POST to a real
  `announcer serve` (uvicorn, its own process), at the URL their message carried;
- one reader mails the List-Unsubscribe mailto (its subject, with their token, as their
  message carried it), through Postfix into the list's Maildir;
- one reader's provider sends an ARF complaint about the message they got (their address
  redacted, as Yahoo and Microsoft do), through Postfix;
- one reader's vacation program answers the envelope sender (their VERP address), through
  Postfix: an automatic reply, never a bounce.

`announcer inbox` reads what Postfix delivered: as a Maildir, and over IMAP from a real Dovecot
(tests/dovecot.py) that files it; the next send reaches exactly the other two, and says whom it
left out and why. Postfix is set up by `tests/postfix/start` (CI runs it; it needs root):
skipped without ANNOUNCER_POSTFIX_MAILDIR, as tests/test_postfix.py is.
"""

from __future__ import annotations

import os
import re
import shutil
import smtplib
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.mime.base import MIMEBase
from email.mime.message import MIMEMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.parser import BytesParser
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from announcer.audience.ledger import Audience, How, State
from announcer.audience.tokens import unsubscribe_token, verp_address
from announcer.deliver.ledger import Ledger
from announcer.lifecycle import event_uid
from announcer.load.settings import load_settings
from tests.dovecot import PASSWORD, running_dovecot
from tests.helpers import CLI, EXAMPLE_EVENT, read_message, write
from tests.inbox_mail import deliver
from tests.serving import ONE_CLICK, SECRET, Process, with_token_url

MAILDIR = os.environ.get("ANNOUNCER_POSTFIX_MAILDIR")
LIST = "onkpat-seminars.example.org"
NEXT_EVENT = "events/2026-03-13-tumour-microenvironment.yaml"
WAIT_SECONDS = 120  # for Postfix to deliver what it was given, on a loaded machine

pytestmark = pytest.mark.skipif(
    not MAILDIR,
    reason="no Postfix here: run `tests/postfix/start` as root, then set ANNOUNCER_POSTFIX_MAILDIR "
    "to the folder it prints",
)

_DELIVERED_TO = re.compile(rb"^Delivered-To: ([^\r\n]+)", re.MULTILINE)


class Run:
    """This run's readers and list addresses: the Maildirs outlive the test, so each run's own."""

    def __init__(self) -> None:
        run = uuid.uuid4().hex[:8]
        self.prefix = f"l{run}-"  # the local part of every address of this run's list
        self.bounce_address = f"l{run}-bounces@lists.example.org"
        self.leave = f"l{run}-leave@lists.example.org"
        self.feedback_loop = f"l{run}-fbl@lists.example.org"
        self.gone = f"gone-{run}@example.org"  # tests/postfix/start: Postfix bounces gone-…
        self.one_click = f"b{run}@example.org"
        self.mailed = f"c{run}@example.com"
        self.complained = f"d{run}@example.net"
        self.away = f"e{run}@example.org"
        self.stays = f"f{run}@example.org"

    @property
    def readers(self) -> list[str]:
        return [self.gone, self.one_click, self.mailed, self.complained, self.away, self.stays]


@pytest.fixture
def run(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """The example workspace as a list of this run's readers, sending through Postfix with VERP."""
    ours = Run()
    with_token_url(workspace, monkeypatch)
    settings = Path("announcer.toml")
    text = settings.read_text().replace(
        'unsubscribe_mailto = "onkpat-seminars-leave@example.org"\n',
        f'unsubscribe_mailto = "{ours.leave}"\nbounce_address = "{ours.bounce_address}"\n',
    )
    assert ours.bounce_address in text
    write(settings, text + '\n[smtp]\nhost = "127.0.0.1"\nport = 25\nsecurity = "none"\n')
    write(
        Path("list.csv"),
        "email,name\n" + "".join(f"{reader},Reader {reader[0]}\n" for reader in ours.readers),
    )
    return ours


def _wait_for(found: Callable[[], list[Path]], count: int, what: str) -> list[Path]:
    """What `found` finds, once it finds `count` (Postfix delivers in its own time)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while len(paths := found()) < count:
        assert time.monotonic() < deadline, f"Postfix delivered {len(paths)} of {count} {what}"
        threading.Event().wait(0.2)  # between looks into the Maildir
    assert len(paths) == count, f"{len(paths)} {what}, not {count}"
    return paths


def _delivered_to(folder: Path, wanted: Callable[[str], bool]) -> list[Path]:
    """The messages in a Maildir's new/ whose envelope recipient (Delivered-To) is wanted."""
    paths = []
    for path in sorted((folder / "new").glob("*")) if (folder / "new").is_dir() else []:
        stamp = _DELIVERED_TO.search(path.read_bytes()[:4096])
        if stamp and wanted(stamp[1].decode()):
            paths.append(path)
    return paths


def _read(path: Path) -> EmailMessage:
    return read_message(re.sub(rb"(?<!\r)\n", b"\r\n", path.read_bytes()))  # a Maildir's line ends


def _received(readers: set[str], subject: str) -> dict[str, Path]:
    """Each reader's copy of the message of `subject` in Postfix's Maildir, once all have arrived."""

    def theirs(path: Path) -> bool:
        return subject in str(_read(path)["Subject"])

    paths = _wait_for(
        lambda: [p for p in _delivered_to(Path(MAILDIR or "") / "all", readers.__contains__) if theirs(p)],
        len(readers),
        f"copies of {subject!r}",
    )
    return {str(_read(path)["Delivered-To"]): path for path in paths}


def _post(message: EmailMessage | MIMEMultipart, envelope_from: str) -> None:
    """A message into Postfix on 127.0.0.1:25, as another server or a mail client hands it
    (`envelope_from` "": the null sender of automatic mail)."""
    (to,) = re.findall(r"[^\s<>,]+@[^\s<>,]+", str(message["To"]))
    with smtplib.SMTP("127.0.0.1", 25, timeout=30) as server:
        server.sendmail(envelope_from, [to], message.as_bytes(policy=SMTP_POLICY))


def _unsubscribe_targets(message: EmailMessage) -> tuple[str, str]:
    """The https URL and the mailto of a message's List-Unsubscribe."""
    value = " ".join(str(message["List-Unsubscribe"]).split())
    (url,) = re.findall(r"<(https://[^>]+)>", value)
    (mailto,) = re.findall(r"<(mailto:[^>]+)>", value)
    return url, mailto


def _mailed_unsubscription(reader: str, mailto: str) -> EmailMessage:
    """What a mail client sends for a List-Unsubscribe mailto (RFC 6068: the address, a subject)."""
    parts = urlsplit(mailto)
    message = EmailMessage()
    message["From"] = f"Reader <{reader}>"
    message["To"] = unquote(parts.path)
    (message["Subject"],) = parse_qs(parts.query)["subject"]
    message.set_content("This message will unsubscribe you from the list.\n")
    return message


def _complaint(run: Run, original: bytes) -> MIMEMultipart:
    """An RFC 5965 report of spam, as a provider's feedback loop sends it about the message
    its user got: the original attached, the user's address redacted."""
    redacted = original.replace(run.complained.encode(), b"redacted@example.net")
    report = MIMEMultipart("report", report_type="feedback-report")
    report["From"] = "Feedback Loop <fbl@provider.example.net>"
    report["To"] = run.feedback_loop
    report["Subject"] = "Abuse report"
    report.attach(MIMEText("This is an email abuse report for a message sent to one of our users.\n"))
    fields = MIMEBase("message", "feedback-report")
    fields.set_payload(
        "Feedback-Type: abuse\nUser-Agent: ProviderFBL/1.0\nVersion: 1\nReported-Domain: example.org\n"
    )
    report.attach(fields)
    report.attach(MIMEMessage(BytesParser().parsebytes(redacted)))
    return report


def _vacation_reply(reader: str, envelope_sender: str) -> EmailMessage:
    """A vacation program's answer, sent to the envelope sender (RFC 3834 §4)."""
    reply = EmailMessage()
    reply["From"] = reader
    reply["To"] = envelope_sender
    reply["Subject"] = "Out of office: back on Monday"
    reply["Auto-Submitted"] = "auto-replied"
    reply.set_content("I am away until Monday and read no mail.\n")
    return reply


@dataclass(frozen=True)
class Mailbox:
    """Where the list's mail is filed, and how `announcer inbox` is told to read it."""

    maildir: Path
    arguments: tuple[str, ...]


@pytest.fixture(params=["maildir", "imap"])
def mailbox(
    request: pytest.FixtureRequest, run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Mailbox]:
    """The list's mailbox: a Maildir read as a folder, or the Maildir of a real Dovecot on
    127.0.0.1 read over IMAP with TLS verified (see tests/dovecot.py)."""
    if request.param == "maildir":
        yield Mailbox(tmp_path / "Maildir", ("--mailbox", str(tmp_path / "Maildir")))
        return
    # Not under tmp_path: Dovecot's processes run as its own users where the tests run as root.
    with (
        tempfile.TemporaryDirectory(prefix="announcer-dovecot-") as folder,
        running_dovecot(Path(folder)) as server,
    ):
        shutil.copy(server.ca_file, "imap-ca.pem")
        with Path("announcer.toml").open("a", encoding="utf-8") as settings:
            settings.write('\n[inbox]\nca_file = "imap-ca.pem"\n')
        monkeypatch.setenv("ANNOUNCER_IMAP_PASSWORD", PASSWORD)
        yield Mailbox(server.maildir, ("--imap", server.url()))


@contextmanager
def serving() -> Iterator[Process]:
    """`announcer serve` as a user starts it, in the workspace, until the block ends."""
    process = Process()
    try:
        yield process
    finally:
        process.client.close()
        code, _, err = process.stop()
        assert code == 0, err


def test_each_way_a_reader_leaves_is_applied_and_the_next_send_reaches_exactly_the_others(
    run: Run, mailbox: Mailbox, cli: CLI, workspace: Path
) -> None:
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", "list.csv", "--transport", "smtp", "--past")
    assert code == 0, out + err
    assert "sent 6 of 6 by SMTP" in out, out

    received = _received(set(run.readers) - {run.gone}, "CAR T")
    lists = Path(MAILDIR or "") / "lists"

    def ours(to: str) -> bool:
        return to.lower().startswith(run.prefix)

    # Postfix's own DSN for the address it cannot deliver, to that reader's VERP address.
    (bounce,) = _wait_for(lambda: _delivered_to(lists, ours), 1, "DSNs")
    dsn = _read(bounce)
    assert dsn["Delivered-To"] == verp_address(run.bounce_address, run.gone, SECRET)
    assert dsn["Return-Path"] == "<>"
    assert dsn.get_content_type() == "multipart/report"
    assert f"Final-Recipient: rfc822; {run.gone}" in bounce.read_text()

    # The one-click POST, to the URL their own message carried, on a real `announcer serve`.
    url, _ = _unsubscribe_targets(_read(received[run.one_click]))
    assert url.endswith("/" + unsubscribe_token(run.one_click, SECRET))
    with serving() as server:
        answer = server.client.post(urlsplit(url).path, ONE_CLICK)
    assert answer.status == 200, answer.text

    # The mailto, the complaint and the vacation reply, handed to Postfix like any mail.
    _, mailto = _unsubscribe_targets(_read(received[run.mailed]))
    envelope_sender = str(_read(received[run.away])["Return-Path"]).strip("<>")
    assert envelope_sender == verp_address(run.bounce_address, run.away, SECRET)
    _post(_mailed_unsubscription(run.mailed, mailto), run.mailed)
    _post(_complaint(run, received[run.complained].read_bytes()), "fbl-bounces@provider.example.net")
    _post(_vacation_reply(run.away, envelope_sender), "")
    arrived = _wait_for(lambda: _delivered_to(lists, ours), 4, "messages in the list's mailbox")

    # The list's mailbox: this run's messages alone, taken out of Postfix's shared Maildir into
    # a Maildir of the test's own or Dovecot's, as a delivery agent files them.
    deliver(mailbox.maildir, *(path.read_bytes() for path in arrived))
    for path in arrived:
        path.unlink()

    code, out, err = cli("inbox", *mailbox.arguments)
    assert code == 0, out + err
    said = [line.split(": ", 2)[2] for line in out.splitlines() if not line.startswith("inbox: ")]
    assert sorted(said) == [  # in the order of their kinds' names
        f"automatic reply: Auto-Submitted: auto-replied: from {run.away}: 'Out of office: back on Monday'",
        f"bounce: {run.gone} (5.1.1: X-Postfix; mailbox unavailable), by our VERP address",
        f"complaint: {run.complained}, by our VERP address: left out",
        f"unsubscription: {run.mailed}, by the token in it: unsubscribed",
    ], out
    assert "inbox: 4 new messages: 1 bounce, 1 complaint, 1 unsubscription, 1 automatic reply" in out, out
    code, out, err = cli("inbox", *mailbox.arguments)  # as cron runs it again: each message once
    assert (code, out) == (0, "inbox: 0 new messages; 4 handled before\n"), out + err

    with Audience(workspace, LIST) as audience:
        standing = {address: audience.standing(address) for address in run.readers}
    assert {address: (found.state, found.how) if found else None for address, found in standing.items()} == {
        run.gone: (State.BOUNCING, How.BOUNCE.value),
        run.one_click: (State.UNSUBSCRIBED, How.ONE_CLICK.value),
        run.mailed: (State.UNSUBSCRIBED, How.MAILTO.value),
        run.complained: (State.COMPLAINED, How.COMPLAINT.value),
        run.away: None,  # an automatic reply is no bounce
        run.stays: None,
    }

    code, out, err = cli("send", NEXT_EVENT, "--to", "list.csv", "--transport", "smtp", "--past")
    assert code == 0, out + err
    assert "sent 2 of 2 by SMTP; left out 4: 2 unsubscribed, 1 complained, 1 bouncing" in out, out
    code, listed, err = cli("audience", "list")
    assert code == 0, listed + err
    for address, why in (
        (run.gone, "bouncing since"),
        (run.one_click, "unsubscribed since"),
        (run.mailed, "unsubscribed since"),
        (run.complained, "complained since"),
    ):
        (named,) = [line for line in out.splitlines() if line.startswith(f"left out: {address}  ")]
        assert why in named, out
        assert named.removeprefix("left out: ") in listed.splitlines(), listed
    next_readers = {run.away, run.stays}
    assert set(_received(next_readers, "Tumour")) == next_readers
    with Ledger(workspace) as ledger:
        reached = {
            reader.email
            for reader in ledger.received(
                event_uid(Path(NEXT_EVENT).stem, load_settings(Path("announcer.toml")).sender)
            )
        }
    assert reached == next_readers
