"""announcer inbox against hostile mail: forged DSNs and ARF reports change no one they do not
name in a way only we can make; huge, deep, many-parted and broken messages are bounded and
listed, never a traceback; generated reports and bytes keep both promises."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as count_as
from hypothesis import strategies as st

from announcer.audience.ledger import Audience, AudienceLedger, State
from announcer.audience.tokens import unsubscribe_token, verp_address
from announcer.clock import utc_now
from announcer.deliver.ledger import sent_to
from announcer.inbox.naming import Naming
from announcer.inbox.reading import MAX_DEPTH, MAX_MESSAGE_BYTES, MAX_PARTS
from announcer.inbox.sorter import Context, Kind, sort
from announcer.inbox.sources import FileMailbox, Stored
from tests.helpers import CLI
from tests.inbox_mail import (
    BOUNCES,
    LEAVE,
    LIST,
    READERS,
    SECRET,
    SERVER,
    UNSUBSCRIBE_URL,
    after_a_send,
    arf,
    crlf,
    deliver,
    dsn,
    mail,
    qmail_bounce,
)

STRANGERS = ["never.sent@example.com", "postmaster@example.org", "Asa.Lindqvist@example.org.evil"]


@pytest.fixture
def sent(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return after_a_send(workspace, monkeypatch)


@pytest.fixture
def ledger(sent: Path) -> Iterator[AudienceLedger]:
    with Audience(sent, LIST) as opened:
        yield opened


def _handle(data: bytes, ledger: AudienceLedger, workspace: Path, key: str) -> Kind:
    naming = Naming(BOUNCES, UNSUBSCRIBE_URL, ledger.address_of, lambda: sent_to(workspace))
    verdict = sort(Stored("generated", data, utc_now(), len(data)), Context(naming, LEAVE, SERVER))
    ledger.claim(key, verdict.detail, verdict.change)
    count_as(f"{verdict.kind.value}{' changing' if verdict.change else ''}")
    return verdict.kind


def _nested(depth: int) -> bytes:
    head = "From: a@example.net\nMessage-ID: <deep@example.net>\nMIME-Version: 1.0\n"
    body = "x\n"
    for level in range(depth):
        body = f'Content-Type: multipart/mixed; boundary="b{level}"\n\n--b{level}\n{body}--b{level}--\n'
    return crlf(head + body)


def _long_header() -> bytes:
    results = f"{SERVER}; {'dkim=pass ' * 2000}"
    return crlf(f"From: a@example.net\nTo: {LEAVE}\nAuthentication-Results: {results}\n\nx\n")


def _many_parts(count: int) -> bytes:
    parts = "".join(f"--b\nContent-Type: text/plain\n\n{number}\n" for number in range(count))
    return crlf(f'From: a@example.net\nContent-Type: multipart/mixed; boundary="b"\n\n{parts}--b--\n')


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (_nested(MAX_DEPTH + 2), f"nested more than {MAX_DEPTH} deep"),
        (_nested(3000), "nested"),
        (_many_parts(MAX_PARTS + 1), f"more than {MAX_PARTS} parts"),
        (_many_parts(120_000), "lines, over the"),
        (_long_header(), "header is over"),
    ],
    ids=["deep", "a thousand deep", "many parts", "a flood of parts", "a long header"],
)
def test_a_message_past_a_bound_is_listed_unread(
    ledger: AudienceLedger, sent: Path, data: bytes, why: str
) -> None:
    naming = Naming(BOUNCES, UNSUBSCRIBE_URL, ledger.address_of, lambda: sent_to(sent))
    verdict = sort(Stored("hostile", data, utc_now(), len(data)), Context(naming, LEAVE, SERVER))
    assert verdict.kind is Kind.UNREADABLE
    assert why in verdict.detail
    assert verdict.look


def test_a_50_mb_message_is_read_no_further_than_the_limit_and_listed(sent: Path, cli: CLI) -> None:
    maildir = sent / "Maildir"
    (huge,) = deliver(maildir, dsn(BOUNCES, READERS[0]))
    with huge.open("ab") as stream:
        stream.truncate(50_000_000)
    (read,) = FileMailbox(maildir).messages(MAX_MESSAGE_BYTES)
    assert (len(read.data), read.size) == (MAX_MESSAGE_BYTES + 1, 50_000_000), (
        "read no further than the limit"
    )
    code, out, err = cli("inbox", "--mailbox", str(maildir), "--move-to", "Handled")
    assert code == 4, err
    assert f"50,000,000 bytes, over the {MAX_MESSAGE_BYTES:,}" in out
    assert huge.exists()  # not handled, so not moved
    with Audience(sent, LIST) as audience:
        assert audience.standings() == []


def test_broken_encodings_and_control_characters_are_listed_safely(sent: Path, cli: CLI) -> None:
    maildir = sent / "Maildir"
    deliver(
        maildir,
        b"From: \xff\xfe<bad@example.net>\r\nSubject: =?x-unknown?b?////?= \x1b[31mred\r\n"
        b"Content-Type: text/plain; charset=x-nonsense\r\nContent-Transfer-Encoding: base64\r\n\r\n@@@@\r\n",
        mail("a@example.net", LEAVE, "=?utf-8?q?unsubscribe_=E2=80=AE?= \u202e"),
        b"\x00\x01\x02 not an email at all",
        b"",
    )
    code, out, err = cli("inbox", "--mailbox", str(maildir))
    assert code == 4, err
    assert "Traceback" not in out + err
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f\u202e]", out)
    assert "inbox: 4 new messages" in out


@pytest.mark.parametrize("headers", ["", "From: \n"], ids=["no From", "an empty From"])
def test_a_bounce_in_a_servers_own_form_without_a_from_is_read_without_a_traceback(
    sent: Path, headers: str
) -> None:
    maildir = sent / "Maildir"
    # A detector of flufl.bounce failed on a message without a From, logging its traceback (to
    # stderr, in a process of its own) and stopping the detectors after it: qmail's was not read.
    deliver(maildir, qmail_bounce(BOUNCES, READERS[2], headers=headers))
    done = subprocess.run(
        [sys.executable, "-m", "announcer", "inbox", "--mailbox", str(maildir)],
        cwd=sent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in done.stderr
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, "inbox: 1 new message: 1 bounce")
    with Audience(sent, LIST) as audience:
        standing = audience.standing(READERS[2])
    assert standing is not None
    assert standing.score > 0


def test_a_message_without_a_message_id_is_handled_once_by_its_bytes(sent: Path, cli: CLI) -> None:
    maildir = sent / "Maildir"
    data = dsn(BOUNCES, READERS[1]).replace(b"Message-Id:", b"X-No-Id:")
    deliver(maildir, data, data)  # the same bytes twice (a copy) is one message
    code, out, err = cli("inbox", "--mailbox", str(maildir))
    assert code == 0, err
    assert "inbox: 1 new message: 1 bounce; 1 handled before" in out


# Generated reports: whatever they claim, only our own names for a reader change anyone.

ADDRESSES = st.sampled_from([*READERS, *STRANGERS, "", "not an address", "<>", "rfc822;"])
TEXT = st.text(max_size=60).map(lambda text: re.sub(r"[\r\n]", " ", text))
# An envelope (a DSN's To, an ARF's Original-Mail-From): our own VERP address for a reader, a
# forged one, the bare bounce address, a stranger's, anything.
ENVELOPES = st.one_of(
    st.sampled_from(READERS).map(lambda reader: (verp_address(BOUNCES, reader, SECRET), reader)),
    st.sampled_from(READERS).map(lambda reader: (verp_address(BOUNCES, reader, "forged"), None)),
    st.sampled_from([BOUNCES, *STRANGERS]).map(lambda address: (address, None)),
    TEXT.map(lambda text: (text[:40], None)),
)
TOKENS = st.one_of(
    st.sampled_from(READERS).map(lambda reader: (unsubscribe_token(reader, SECRET), reader)),
    st.sampled_from(READERS).map(lambda reader: (unsubscribe_token(reader, "forged"), None)),
    st.text(alphabet="abcXYZ019_-", min_size=20, max_size=28).map(lambda token: (token, None)),
)
FAILED, NOT_FAILED = ["failed", "FAILED", " failed "], ["delayed", "delivered", "relayed", ""]
ABUSE, NOT_ABUSE = ["abuse", "ABUSE"], ["not-spam", "fraud", "other", ""]


@dataclass(frozen=True)
class Report:
    """A generated DSN or ARF report, and whom it names in a way `inbox` may take."""

    data: bytes
    is_dsn: bool
    may_name: frozenset[str]


@st.composite
def reports(draw: st.DrawFn) -> Report:
    """A DSN or an ARF report of any claims, perhaps mangled (a few bytes put in anywhere).

    Whom it may name: a reader of our own VERP address or token, or a reader's address as it
    is written (whom we sent to); nobody when the report says it is no failure, no abuse. Once
    mangled, what it says cannot be known, so any reader it writes may be named."""
    is_dsn = draw(st.booleans())
    if is_dsn:
        (envelope, by_verp), recipient = draw(ENVELOPES), draw(ADDRESSES)
        action = draw(st.sampled_from([*FAILED, *NOT_FAILED, "failed\x00"]))
        data = dsn(
            envelope,
            recipient,
            action=action,
            status=draw(st.sampled_from(["5.1.1", "4.2.2", "5.7.1", "", "9.9.9", "5.1.1.1"])),
            diagnostic=draw(TEXT),
        )
        named = {by_verp, recipient} if action not in NOT_FAILED else set()
    else:
        (envelope, by_verp), (token, by_token), recipient = draw(ENVELOPES), draw(TOKENS), draw(ADDRESSES)
        unsubscribe = draw(
            st.sampled_from(
                [
                    "",
                    f"<{UNSUBSCRIBE_URL.format(token=token)}>",
                    f"<mailto:{LEAVE}?subject=unsubscribe%20{token}>",
                ]
            )
        )
        kind = draw(st.sampled_from([*ABUSE, *NOT_ABUSE, "abuse\x00"]))
        data = arf(
            original_to=recipient,
            list_unsubscribe=unsubscribe,
            original_mail_from=envelope,
            feedback_type=kind,
        )
        named = {by_verp, by_token if unsubscribe else None, recipient} if kind not in NOT_ABUSE else set()
    cut = draw(st.none() | st.integers(0, 10_000))
    if cut is not None:
        at = cut % (len(data) + 1)
        data = data[:at] + draw(st.binary(min_size=1, max_size=20)) + data[at:]
        lowered = data.lower()
        named |= {by_verp, *(reader for reader in READERS if reader.encode() in lowered)}
        named |= {by_token} if not is_dsn else set()
    return Report(data, is_dsn, frozenset(reader for reader in READERS if reader in named))


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(found=st.lists(reports(), min_size=1, max_size=6))
def test_a_generated_report_changes_only_a_reader_it_names_in_our_ways_and_never_unsubscribes(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, found: list[Report]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "announcer.toml").write_bytes((workspace / "announcer.toml").read_bytes())
        after_a_send(root, monkeypatch)
        with Audience(root, LIST) as ledger:
            for number, report in enumerate(found):
                _handle(report.data, ledger, root, f"generated:{number}")
            bounced = {address for report in found if report.is_dsn for address in report.may_name}
            complained = {address for report in found if not report.is_dsn for address in report.may_name}
            for line in ledger.log():
                assert line.how in ("bounce", "complaint"), "a report never unsubscribes"
                assert line.address in (bounced if line.how == "bounce" else complained), (
                    f"{line.address} changed by a {line.how} that does not name them"
                )
            for standing in ledger.standings():
                assert standing.state in (State.SUBSCRIBED, State.BOUNCING, State.COMPLAINED)


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.binary(max_size=3000))
def test_any_bytes_are_sorted_without_a_traceback(ledger: AudienceLedger, sent: Path, data: bytes) -> None:
    naming = Naming(BOUNCES, UNSUBSCRIBE_URL, ledger.address_of, lambda: sent_to(sent))
    verdict = sort(Stored("bytes", data, utc_now(), len(data)), Context(naming, LEAVE, SERVER))
    assert verdict.change is None or verdict.kind in (Kind.BOUNCE, Kind.COMPLAINT, Kind.UNSUBSCRIPTION)
