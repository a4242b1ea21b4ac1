"""announcer inbox: bounces, complaints, mailed unsubscriptions, automatic replies and RSVP
answers read from a Maildir, each once; what a stranger forges changes nobody's standing."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from announcer.audience.ledger import Audience, AudienceLedger, State
from announcer.audience.tokens import unsubscribe_token, verp_address
from announcer.clock import utc_now
from announcer.deliver.ledger import sent_to
from announcer.inbox.naming import Naming
from announcer.inbox.run import MOVE_BATCH, Handled, read_inbox
from announcer.inbox.sorter import Context, Kind, Verdict, sort
from announcer.inbox.sources import FileMailbox, Stored
from announcer.lifecycle import event_uid
from announcer.load.settings import load_settings
from tests.helpers import CLI, EXAMPLE_EVENT
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
    auto_reply,
    deliver,
    dsn,
    exim_bounce,
    mail,
    our_message_id,
    rsvp,
)

STRANGER = "never.sent@example.com"


@pytest.fixture
def sent(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return after_a_send(workspace, monkeypatch)


@pytest.fixture
def ledger(sent: Path) -> Iterator[AudienceLedger]:
    with Audience(sent, LIST) as opened:
        yield opened


def _context(ledger: AudienceLedger, workspace: Path, *, bounce_address: str | None = BOUNCES) -> Context:
    naming = Naming(bounce_address, UNSUBSCRIBE_URL, ledger.address_of, lambda: sent_to(workspace))
    return Context(naming, LEAVE, SERVER)


def _sorted(data: bytes, ledger: AudienceLedger, workspace: Path, **options: str | None) -> Verdict:
    verdict = sort(Stored("test", data, utc_now(), len(data)), _context(ledger, workspace, **options))
    if verdict.change is not None:
        ledger.claim(f"test:{hashlib.sha256(data).hexdigest()}", verdict.detail, verdict.change)
    return verdict


def _state(ledger: AudienceLedger, address: str) -> State | None:
    standing = ledger.standing(address)
    return standing.state if standing else None


def test_a_dsn_to_our_verp_address_counts_for_its_reader_whatever_it_names(
    ledger: AudienceLedger, sent: Path
) -> None:
    # The DSN names the address the mail was forwarded to; the VERP address names our reader.
    verdict = _sorted(dsn(verp_address(BOUNCES, READERS[0], SECRET), "old@forwarded.example"), ledger, sent)
    assert verdict.kind is Kind.BOUNCE
    assert "by our VERP address" in verdict.detail
    standing = ledger.standing(READERS[0])
    assert standing is not None
    assert standing.state is State.BOUNCING
    assert standing.score == 2.0


def test_a_dsn_to_a_verp_token_we_never_wrote_counts_for_nobody(ledger: AudienceLedger, sent: Path) -> None:
    forged = verp_address(BOUNCES, READERS[0], "another secret")
    verdict = _sorted(dsn(forged, READERS[0]), ledger, sent)
    assert verdict.look
    assert "no send of ours wrote" in verdict.detail
    assert ledger.standing(READERS[0]) is None


def test_without_verp_a_dsn_counts_only_for_an_address_the_ledger_sent_to(
    ledger: AudienceLedger, sent: Path
) -> None:
    assert _sorted(dsn(BOUNCES, READERS[1]), ledger, sent, bounce_address=None).change is not None
    assert _state(ledger, READERS[1]) is State.BOUNCING
    forged = _sorted(dsn(BOUNCES, STRANGER), ledger, sent, bounce_address=None)
    assert forged.kind is Kind.BOUNCE
    assert forged.change is None
    assert forged.look
    assert ledger.standing(STRANGER) is None


def test_a_bounce_or_complaint_naming_a_reader_without_our_message_to_them_changes_nothing(
    ledger: AudienceLedger, sent: Path
) -> None:
    """Anyone can mail the bounce address a report that names a reader; only the reader's servers
    have our Message-ID of their copy. Without it the report is listed, never applied."""
    for forged in (
        dsn(BOUNCES, READERS[1], quoted="<guessed@example.org>"),
        dsn(BOUNCES, READERS[1], quoted=our_message_id(READERS[2])),  # another reader's copy
        arf(original_to=READERS[1]).replace(our_message_id(READERS[1]).encode(), b"<guessed@example.org>"),
    ):
        verdict = _sorted(forged, ledger, sent, bounce_address=None)
        assert verdict.change is None, verdict.detail
        assert verdict.look
    assert (
        "returns no message we sent there"
        in _sorted(dsn(BOUNCES, READERS[1], quoted=""), ledger, sent, bounce_address=None).detail
    )
    assert ledger.left_out() == {}


@pytest.mark.parametrize("action", ["delayed", "delivered", "relayed", "expanded"])
def test_a_dsn_that_is_no_failure_is_no_bounce(ledger: AudienceLedger, sent: Path, action: str) -> None:
    verdict = _sorted(
        dsn(verp_address(BOUNCES, READERS[0], SECRET), READERS[0], action=action, status="4.4.1"),
        ledger,
        sent,
    )
    assert verdict.kind is Kind.NOTICE
    assert verdict.change is None
    assert ledger.standing(READERS[0]) is None


def test_a_bounce_in_a_servers_own_form_is_read_by_flufl_bounce(ledger: AudienceLedger, sent: Path) -> None:
    verdict = _sorted(exim_bounce(SENDER_ENVELOPE, READERS[2]), ledger, sent, bounce_address=None)
    assert verdict.kind is Kind.BOUNCE
    assert READERS[2] in verdict.detail
    standing = ledger.standing(READERS[2])
    assert standing is not None
    assert standing.score > 0


SENDER_ENVELOPE = "onkpat-seminars@example.org"


def test_a_complaint_names_its_reader_by_our_token_even_when_the_address_is_redacted(
    ledger: AudienceLedger, sent: Path
) -> None:
    token = unsubscribe_token(READERS[0], SECRET)
    header = f"<{UNSUBSCRIBE_URL.format(token=token)}>, <mailto:{LEAVE}?subject=unsubscribe%20{token}>"
    verdict = _sorted(arf(list_unsubscribe=header), ledger, sent)
    assert verdict.kind is Kind.COMPLAINT
    assert not verdict.look
    assert _state(ledger, READERS[0]) is State.COMPLAINED


def test_a_complaint_by_verp_or_by_an_address_we_sent_to(ledger: AudienceLedger, sent: Path) -> None:
    _sorted(arf(original_mail_from=verp_address(BOUNCES, READERS[1], SECRET)), ledger, sent)
    _sorted(arf(original_to=READERS[2]), ledger, sent)
    assert _state(ledger, READERS[1]) is State.COMPLAINED
    assert _state(ledger, READERS[2]) is State.COMPLAINED


def test_a_complaint_naming_no_reader_we_know_leaves_nobody_out(ledger: AudienceLedger, sent: Path) -> None:
    forged_token = unsubscribe_token(READERS[0], "not our secret")
    for report in (
        arf(original_to=STRANGER),
        arf(),
        arf(list_unsubscribe=f"<{UNSUBSCRIBE_URL.format(token=forged_token)}>"),
    ):
        verdict = _sorted(report, ledger, sent)
        assert verdict.kind is Kind.COMPLAINT
        assert verdict.change is None
        assert verdict.look
    assert ledger.left_out() == {}


def test_a_feedback_report_that_is_not_a_complaint_is_left_alone(ledger: AudienceLedger, sent: Path) -> None:
    verdict = _sorted(arf(original_to=READERS[0], feedback_type="not-spam"), ledger, sent)
    assert verdict.kind is Kind.OTHER
    assert verdict.change is None


@pytest.mark.parametrize(
    ("header", "subject"),
    [
        ("Auto-Submitted: auto-replied", "Re: CAR T"),
        ("X-Autoreply: yes", "Re: CAR T"),
        ("Precedence: auto_reply", "Re: CAR T"),
        ("X-Mailer: Outlook", "Automatic reply: CAR T Cell Therapy"),
        ("X-Mailer: Outlook", "=?utf-8?q?Fr=C3=A5nvaro=3A_CAR_T?="),
    ],
)
def test_an_automatic_reply_is_listed_and_never_a_bounce(
    ledger: AudienceLedger, sent: Path, header: str, subject: str
) -> None:
    verdict = _sorted(auto_reply(READERS[0], header=header, subject=subject), ledger, sent)
    assert verdict.kind is Kind.AUTO_REPLY
    assert verdict.change is None
    assert not verdict.look
    assert ledger.standing(READERS[0]) is None


def test_a_mailed_unsubscription_with_our_token_names_its_reader_whoever_sends_it(
    ledger: AudienceLedger, sent: Path
) -> None:
    token = unsubscribe_token(READERS[0], SECRET)
    verdict = _sorted(mail("other.account@gmail.example", LEAVE, f"unsubscribe {token}"), ledger, sent)
    assert verdict.kind is Kind.UNSUBSCRIPTION
    assert not verdict.look
    standing = ledger.standing(READERS[0])
    assert standing is not None
    assert (standing.state, standing.how) == (State.UNSUBSCRIBED, "mailto")


def test_a_mailed_unsubscription_without_a_token_needs_the_receiving_servers_word(
    ledger: AudienceLedger, sent: Path
) -> None:
    forged = _sorted(mail(READERS[1], LEAVE, "unsubscribe"), ledger, sent)
    assert forged.kind is Kind.UNSUBSCRIPTION
    assert forged.change is None
    assert forged.look
    # A result written by the sender below one of another server is not our server's word.
    spoofed = (
        "Authentication-Results: elsewhere.example; none\n"
        f"Authentication-Results: {SERVER}; dmarc=pass header.from=example.org\n"
    )
    assert _sorted(mail(READERS[1], LEAVE, "unsubscribe", headers=spoofed), ledger, sent).change is None
    failing = f"Authentication-Results: {SERVER}; dkim=fail header.d=example.org; dmarc=fail\n"
    assert _sorted(mail(READERS[1], LEAVE, "unsubscribe", headers=failing), ledger, sent).change is None
    other_domain = f"Authentication-Results: {SERVER}; dkim=pass header.d=attacker.example\n"
    assert _sorted(mail(READERS[1], LEAVE, "unsubscribe", headers=other_domain), ledger, sent).change is None
    assert ledger.left_out() == {}
    verified = (
        f"Authentication-Results: {SERVER};\n"
        "\tdkim=pass header.d=example.org header.s=sel;\n\tdmarc=pass header.from=example.org\n"
    )
    verdict = _sorted(mail(READERS[1], LEAVE, "Please take me off", headers=verified), ledger, sent)
    assert verdict.change is not None
    assert _state(ledger, READERS[1]) is State.UNSUBSCRIBED


def test_an_rsvp_answer_is_listed_as_rsvps_counts_it(ledger: AudienceLedger, sent: Path) -> None:
    verdict = _sorted(rsvp(READERS[0], "uid-1"), ledger, sent)
    assert verdict.kind is Kind.RSVP
    assert f"yes from {READERS[0]}" in verdict.detail
    assert ledger.standing(READERS[0]) is None


def test_inbox_handles_each_message_once_lists_what_needs_a_look_and_moves_only_what_it_handled(
    sent: Path, cli: CLI
) -> None:
    token = unsubscribe_token(READERS[0], SECRET)
    maildir = sent / "Maildir"
    deliver(
        maildir,
        dsn(BOUNCES, READERS[1]),
        dsn(BOUNCES, READERS[2], action="delayed", status="4.4.7"),
        arf(original_to=READERS[2]),
        mail("someone@example.net", LEAVE, f"unsubscribe {token}"),
        auto_reply(READERS[1]),
        rsvp(READERS[2], "uid-1"),
        mail("colleague@example.net", "onkpat-seminars@example.org", "A question about the seminar"),
    )
    code, out, err = cli("inbox", "--mailbox", str(maildir), "--move-to", "Handled")
    assert code == 4, err  # the colleague's question needs a look
    assert "look: " in out
    assert "A question about the seminar" in out
    assert (
        "inbox: 7 new messages: 1 bounce, 1 delivery notice, 1 complaint, 1 unsubscription, "
        "1 automatic reply, 1 RSVP answer, 1 other; moved 5 to Handled"
    ) in out
    assert len(list((maildir / ".Handled" / "cur").iterdir())) == 5
    left = sorted(path.read_bytes() for path in (maildir / "new").iterdir())
    assert len(left) == 2
    assert b"A question" in left[0]
    assert b"METHOD:REPLY" in left[1]  # where `announcer rsvps` reads it
    with Audience(sent, LIST) as audience:
        states = {standing.address: standing.state for standing in audience.standings()}
    assert states == {
        READERS[0]: State.UNSUBSCRIBED,
        READERS[1]: State.BOUNCING,
        READERS[2]: State.COMPLAINED,
    }

    code, out, err = cli("inbox", "--mailbox", str(maildir), "--move-to", "Handled")
    assert (code, out) == (0, "inbox: 0 new messages; 2 handled before\n"), err


def test_an_rsvp_answer_stays_where_rsvps_counts_it(sent: Path, cli: CLI) -> None:
    uid = event_uid("2026-03-06-car-t-cell-therapy", load_settings(sent / "announcer.toml").sender)
    maildir = sent / "Maildir"
    deliver(maildir, rsvp(READERS[0], uid), dsn(BOUNCES, READERS[1]))
    code, out, err = cli("inbox", "--mailbox", str(maildir), "--move-to", "Handled")
    assert "inbox: 2 new messages: 1 bounce, 1 RSVP answer; moved 1 to Handled" in out, err
    code, out, err = cli("rsvps", EXAMPLE_EVENT, "--mailbox", str(maildir))
    assert code == 0, err
    assert "1 answer: 1 yes" in out


def test_inbox_reads_an_mbox_and_refuses_to_move_from_one(sent: Path, cli: CLI) -> None:
    mbox = sent / "inbox.mbox"
    mbox.write_bytes(
        b"From MAILER-DAEMON Mon Mar  2 09:45:01 2026\n" + dsn(BOUNCES, READERS[1]).replace(b"\r\n", b"\n")
    )
    code, out, err = cli("inbox", "--mailbox", str(mbox), "--move-to", "Handled")
    assert code == 1
    assert "not a Maildir" in err
    code, out, err = cli("inbox", "--mailbox", str(mbox))
    assert code == 0, err
    assert "1 bounce" in out


def test_inbox_takes_one_mailbox(cli: CLI, sent: Path) -> None:
    assert cli("inbox")[0] == 2
    assert cli("inbox", "--mailbox", "x", "--imap", "imaps://u@h/INBOX")[0] == 2
    code, _out, err = cli("inbox", "--imap", "imaps://user:secret@imap.example.org/INBOX")
    assert code == 1
    assert "ANNOUNCER_IMAP_PASSWORD" in err
    assert "secret" not in err
    code, _out, err = cli("inbox", "--mailbox", "imap://user@imap.example.org/INBOX")
    assert code == 1
    assert "imaps://" in err


def test_inbox_reads_the_verp_address_of_the_lists_bounce_address(sent: Path, cli: CLI) -> None:
    settings = sent / "announcer.toml"
    settings.write_text(
        settings.read_text().replace("[list]\n", f'[list]\nbounce_address = "{BOUNCES}"\n', 1)
    )
    maildir = sent / "Maildir"
    # The DSN names the address the mail was forwarded to; only the VERP address names the reader.
    deliver(maildir, dsn(verp_address(BOUNCES, READERS[2], SECRET), "old@forwarded.example"))
    code, out, err = cli("inbox", "--mailbox", str(maildir))
    assert code == 0, err
    assert f"bounce: {READERS[2]} (5.1.1" in out
    assert "by our VERP address" in out


def test_inbox_moves_as_it_goes_so_a_big_mailbox_keeps_no_list_and_a_kill_leaves_little(
    ledger: AudienceLedger, sent: Path
) -> None:
    maildir = sent / "Maildir"
    deliver(maildir, *(dsn(BOUNCES, READERS[number % 3]) for number in range(MOVE_BATCH + 50)))
    moved_before_the_last: list[int] = []

    def each(handled: Handled) -> None:
        moved_before_the_last[:] = [len(list((maildir / ".Handled" / "cur").glob("*")))]

    summary = read_inbox(FileMailbox(maildir), ledger, _context(ledger, sent), move_to="Handled", each=each)
    assert moved_before_the_last == [MOVE_BATCH]
    assert (summary.counts[Kind.BOUNCE], summary.moved) == (MOVE_BATCH + 50, MOVE_BATCH + 50)
    assert list((maildir / "new").iterdir()) == []
