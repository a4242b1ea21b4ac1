"""The audience ledger: who left the list, who bounces, who complained; every send leaves them out."""

from __future__ import annotations

import csv
import io
import itertools
import sqlite3
from base64 import b32decode, urlsafe_b64decode
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from announcer import clock, pipeline
from announcer.audience import bounces
from announcer.audience.ledger import Audience, AudienceLedger, How, State
from announcer.audience.tokens import unsubscribe_token, verp_address, verp_token, verp_token_of
from announcer.journal_file import JOURNAL_PATH, SCHEMA_VERSION
from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, configure_smtp, write
from tests.smtp_server import Server, smtp_server

LIST = "onkpat-seminars.example.org"
SECRET = "s3cret-of-the-workspace"
READERS = [  # recipients/example.csv, in its order
    "asa.lindqvist@example.org",
    "jurgen.mueller@example.org",
    "siobhan.oconnell@example.com",
    "zoe.martin@example.net",
    "chen.wei@example.org",
]


@pytest.fixture
def ledger(workspace: Path, backend: str | None) -> Iterator[AudienceLedger]:
    with Audience(workspace, LIST) as opened:
        yield opened


@pytest.fixture
def server(workspace: Path, backend: str | None, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("ANNOUNCER_UNSUBSCRIBE_SECRET", SECRET)
    path = Path("announcer.toml")
    path.write_text(
        path.read_text().replace(
            '"https://lists.example.org/onkpat-seminars/unsubscribe"',
            '"https://lists.example.org/onkpat-seminars/unsubscribe/{token}"',
        )
    )
    with smtp_server() as running:
        configure_smtp(running)
        yield running


def _at(moment: datetime) -> AbstractContextManager[None]:
    return clock.pinned(moment, (f"t{n}" for n in itertools.count()))


def test_an_unsubscription_is_kept_once_however_often_it_comes(ledger: AudienceLedger) -> None:
    first = ledger.unsubscribe("Asa.Lindqvist@Example.org", How.ONE_CLICK)
    again = ledger.unsubscribe("asa.lindqvist@example.org", How.MAILTO)
    assert first == again  # when and how it first came stay
    assert (first.state, first.how, first.address) == (State.UNSUBSCRIBED, "one-click", READERS[0])
    assert len(ledger.log()) == 1
    assert set(ledger.left_out()) == {READERS[0]}


def test_a_complaint_outranks_an_unsubscription_and_is_not_undone_by_one(ledger: AudienceLedger) -> None:
    ledger.unsubscribe(READERS[0], How.WEB_PAGE)
    assert ledger.complain(READERS[0], "ARF from example.org").state is State.COMPLAINED
    assert ledger.unsubscribe(READERS[0], How.ONE_CLICK).state is State.COMPLAINED


def test_the_reader_undoes_what_they_did_but_not_what_bounces_or_the_organiser_did(
    ledger: AudienceLedger,
) -> None:
    ledger.unsubscribe(READERS[0], How.ONE_CLICK)
    assert ledger.restore(READERS[0], How.WEB_PAGE).state is State.SUBSCRIBED
    ledger.remove(READERS[1], "left the department")
    assert ledger.restore(READERS[1], How.WEB_PAGE).state is State.REMOVED
    ledger.bounce(READERS[2], "5.1.1", "user unknown")
    assert ledger.restore(READERS[2], How.WEB_PAGE).state is State.BOUNCING
    assert ledger.restore(READERS[2], How.BY_HAND, "new mailbox").state is State.SUBSCRIBED
    assert set(ledger.left_out()) == {READERS[1]}


def test_a_mailbox_that_does_not_exist_is_left_out_at_its_first_bounce(ledger: AudienceLedger) -> None:
    standing = ledger.bounce(READERS[0], "5.1.1", "550 5.1.1 <asa@example.org>: user unknown")
    assert standing.state is State.BOUNCING
    assert "user unknown" in standing.reason


def test_a_full_mailbox_is_left_out_only_after_bouncing_for_days(ledger: AudienceLedger) -> None:
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    states = []
    for day in range(12):
        with _at(start + timedelta(days=day)):
            ledger.bounce(READERS[0], "4.2.2", "mailbox full")
            ledger.bounce(READERS[0], "4.2.2", "mailbox full")  # the same day: counted once
            states.append(ledger.standing(READERS[0]).state)  # type: ignore[union-attr]
    assert states[0] is State.SUBSCRIBED
    assert states[-1] is State.BOUNCING
    assert states.index(State.BOUNCING) >= 8  # 0.25 a day, halving slowly: 9 days of bounces


def test_a_bounce_long_ago_is_forgotten(ledger: AudienceLedger) -> None:
    with _at(datetime(2026, 1, 1, tzinfo=UTC)):
        ledger.bounce(READERS[0], "5.0.0", "rejected")
    with _at(datetime(2026, 9, 1, tzinfo=UTC)):
        standing = ledger.bounce(READERS[0], "5.0.0", "rejected")
    assert standing.state is State.SUBSCRIBED
    assert 1.0 <= standing.score < 1.01


@given(st.lists(st.sampled_from(["5.1.1", "5.0.0", "4.2.2", "4.4.1", "", "5.7.1"]), max_size=30))
def test_a_score_never_falls_when_a_bounce_counts(statuses: list[str]) -> None:
    score, since = 0.0, None
    now = datetime(2026, 1, 1, tzinfo=UTC)
    for status in statuses:
        now += timedelta(days=2)
        new, counted = bounces.scored(score, since, status, now)
        assert counted
        assert new >= bounces.decayed(score, since, now) if since else new > 0
        score, since = new, now


def test_tokens_name_a_reader_without_their_address() -> None:
    token, verp = unsubscribe_token(READERS[0], SECRET), verp_token(READERS[0], SECRET)
    assert "lindqvist" not in token + verp
    assert token == unsubscribe_token(READERS[0].upper(), SECRET)
    address = verp_address("bounces@lists.example.org", READERS[0], SECRET)
    assert address == f"bounces+{verp}@lists.example.org"
    assert verp_token_of("Bounces@Lists.Example.org", address.upper()) == verp
    assert verp_token_of("bounces@lists.example.org", "bounces+x@lists.example.org") is None
    assert verp_token_of("bounces@lists.example.org", f"bounces+{verp}@elsewhere.example") is None
    # Whoever sees a VERP address (a bounce processor, a log) learns nothing of the unsubscribe token.
    assert urlsafe_b64decode(token)[:15] != b32decode(verp.upper())


def test_every_send_leaves_out_whom_the_ledger_says(server: Server, cli: CLI, workspace: Path) -> None:
    with Audience(workspace, LIST) as ledger:
        ledger.unsubscribe(READERS[0], How.ONE_CLICK)
        ledger.bounce(READERS[1], "5.1.1", "user unknown")
        ledger.complain(READERS[2])
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--transport", "smtp", "--past")
    assert code == 0, err
    assert sorted(server.handler.counts()) == sorted(READERS[3:])
    assert "sent 2 of 2 by SMTP" in out
    assert "left out 3: 1 unsubscribed, 1 complained, 1 bouncing" in out

    code, out, err = cli("cancel", EXAMPLE_EVENT, "--transport", "smtp", "--past")
    assert code == 0, err
    # A cancellation reaches whoever has the event, and only them: the reader who unsubscribed
    # after it came would not have had it. Here nobody left afterwards; now one does:
    assert sorted(server.handler.counts()) == sorted(READERS[3:])


def test_a_send_names_whom_it_leaves_out_and_why_the_latest_first(
    server: Server, cli: CLI, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the organiser has not seen yet (who left since the last send) comes first; past
    NAMED_LEFT_OUT the rest are counted, for `audience list` to name."""
    monkeypatch.setattr(pipeline, "NAMED_LEFT_OUT", 2)
    changes: list[Callable[[AudienceLedger], object]] = [
        lambda ledger: ledger.bounce(READERS[1], "5.1.1", "user unknown"),
        lambda ledger: ledger.complain(READERS[2]),
        lambda ledger: ledger.unsubscribe(READERS[0], How.MAILTO, "mailed, by the token in it"),
    ]
    for day, change in enumerate(changes, start=1):
        with (
            clock.pinned(datetime(2026, 2, day, 9, tzinfo=UTC), iter(())),
            Audience(workspace, LIST) as ledger,
        ):
            change(ledger)
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--transport", "smtp", "--past")
    assert code == 0, err
    mailed = "(mailto: mailed, by the token in it)"
    assert out.splitlines()[-4:] == [
        "sent 2 of 2 by SMTP; left out 3: 1 unsubscribed, 1 complained, 1 bouncing (announcer audience list)",
        f"left out: {READERS[0]}  unsubscribed since 2026-02-03T09:00:00+00:00 {mailed}",
        f"left out: {READERS[2]}  complained since 2026-02-02T09:00:00+00:00 (complaint)",
        "left out: 1 more (announcer audience list)",
    ], out


def test_a_cancellation_reaches_a_reader_who_left_after_the_invitation(
    server: Server, cli: CLI, workspace: Path
) -> None:
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--transport", "smtp", "--past")
    assert code == 0, err
    with Audience(workspace, LIST) as ledger:
        ledger.unsubscribe(READERS[0], How.ONE_CLICK)  # has the event in their calendar
        ledger.bounce(READERS[1], "5.1.1", "user unknown")  # nothing reaches them
    server.handler.received.clear()
    code, out, err = cli("cancel", EXAMPLE_EVENT, "--transport", "smtp", "--past")
    assert code == 0, err
    assert sorted(server.handler.counts()) == sorted({*READERS} - {READERS[1]})
    assert "left out 1: 1 bouncing" in out


@pytest.mark.parametrize("connections", [1, 3])
def test_a_real_send_remembers_whom_each_token_names(
    server: Server, cli: CLI, workspace: Path, connections: int
) -> None:
    """Over several connections (a process each) the tokens are learned before the fork."""
    with Path("announcer.toml").open("a") as settings:
        settings.write(f"connections = {connections}\n")  # the [smtp] table is the last one
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--transport", "smtp", "--past")
    assert code == 0, err
    assert "sent 5 of 5 by SMTP" in out
    assert sorted(server.handler.counts()) == sorted(READERS)
    with Audience(workspace, LIST) as ledger:
        for reader in READERS:
            assert ledger.address_of(unsubscribe_token(reader, SECRET)) == reader
            assert ledger.address_of(verp_token(reader, SECRET)) == reader
        assert ledger.address_of("not-a-token") is None
    sent = {item.rcpt_tos[0]: item.message for item in server.handler.received}
    assert unsubscribe_token(READERS[0], SECRET) in str(sent[READERS[0]]["List-Unsubscribe"])


def test_a_dry_run_leaves_them_out_too_and_writes_no_journal(cli: CLI, workspace: Path) -> None:
    code, out, _ = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS)
    assert code == 0
    assert "left out" not in out
    assert not (workspace / JOURNAL_PATH).exists()
    with Audience(workspace, LIST) as ledger:
        ledger.remove(READERS[4], "retired")
    code, out, _ = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--outbox", "again")
    assert "wrote 4 messages" in out
    assert "left out 1: 1 removed" in out
    assert len(list(Path("again").rglob("*.eml"))) == 4


def test_audience_verbs_by_hand(cli: CLI, workspace: Path) -> None:
    code, out, err = cli("audience", "remove", READERS[0], "Tom@Example.org", "--reason", "left")
    assert code == 0, err
    assert out.splitlines() == [f"{READERS[0]}: removed", "tom@example.org: removed"]
    code, out, _ = cli("audience", "list")
    assert "sends leave out 2: 2 removed" in out
    assert f"{READERS[0]}  removed since" in out
    assert cli("audience", "restore", "tom@example.org")[0] == 0
    code, out, _ = cli("audience", "export")
    assert out.splitlines() == [
        "email,state,how,reason,since,bounce_score",
        f"{READERS[0]},removed,by hand,left,{out.splitlines()[1].split(',')[4]},0.0",
    ]
    code, out, _ = cli("audience", "log")
    assert [line.split("  ")[1:] for line in out.splitlines()] == [
        [READERS[0], "removed (by hand): left"],
        ["tom@example.org", "removed (by hand): left"],
        ["tom@example.org", "subscribed (by hand)"],
    ]
    code, _, err = cli("audience", "remove", "not an address")
    assert code == 1
    assert "not an address" in err


def test_an_import_checks_every_row_first(cli: CLI, workspace: Path) -> None:
    write(
        Path("bad.csv"),
        "Email,State,reason\nok@example.org,unsubscribed,\nbroken,removed,\nx@example.org,gone,\n",
    )
    code, _, err = cli("audience", "import", "bad.csv")
    assert code == 1
    assert "bad.csv:3" in err
    assert "bad.csv:4: state 'gone' is none of subscribed, unsubscribed" in err
    assert cli("audience", "list")[1].strip() == "sends leave out nobody"
    write(
        Path("good.csv"), "\ufeffemail,state,reason\nok@example.org,,moved away\nn@example.org,complained,\n"
    )
    code, out, err = cli("audience", "import", "good.csv")
    assert code == 0, err
    assert out.strip() == "read 2 rows: 1 unsubscribed, 1 complained"


def test_a_journal_of_schema_3_gains_the_audience_in_place(workspace: Path) -> None:
    path = workspace / JOURNAL_PATH
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema', '3')")
    with Audience(workspace, LIST) as ledger:
        ledger.unsubscribe(READERS[0], How.MAILTO)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT value FROM meta").fetchone() == (str(SCHEMA_VERSION),)


def test_check_says_whom_of_a_list_sends_leave_out(cli: CLI, workspace: Path) -> None:
    with Audience(workspace, LIST) as ledger:
        ledger.unsubscribe(READERS[1], How.MAILTO)
        ledger.remove("someone.else@example.org", "not on this list")
    _, out, _ = cli("check", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS)
    assert f"{EXAMPLE_RECIPIENTS}: 5 recipients; sends leave out 1: 1 unsubscribed" in out


def test_an_export_never_hands_a_spreadsheet_a_formula(cli: CLI, workspace: Path) -> None:
    with Audience(workspace, LIST) as ledger:
        ledger.remove(READERS[0], '=HYPERLINK("https://evil.example","click")')
    _, out, _ = cli("audience", "export")
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert row["reason"].startswith("'=HYPERLINK(")
