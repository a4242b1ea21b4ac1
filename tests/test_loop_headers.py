"""The headers that close the loop exactly: each reader's VERP envelope sender (`[list]
bounce_address`), the reader's token in the List-Unsubscribe mailto, Feedback-ID, and a DKIM
signature over all of them, sent to a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from announcer.audience.ledger import Audience
from announcer.audience.tokens import verp_address, verp_token, verp_token_of
from announcer.model.settings import MailingList
from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, configure_smtp, read_message, write
from tests.smtp_server import Server, smtp_server

SECRET = "a-secret-for-the-loop"
BOUNCES = "bounces@lists.example.org"
LIST_ID = "onkpat-seminars.example.org"
MAILTO = 'unsubscribe_mailto = "onkpat-seminars-leave@example.org"\n'


def _with_list(**values: str) -> None:
    """The example's `[list]` with these keys added."""
    settings = Path("announcer.toml").read_text()
    added = "".join(f'{key} = "{value}"\n' for key, value in values.items())
    write(Path("announcer.toml"), settings.replace(MAILTO, MAILTO + added))


@pytest.fixture
def server(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    monkeypatch.setenv("ANNOUNCER_UNSUBSCRIBE_SECRET", SECRET)
    with smtp_server() as running:
        configure_smtp(running)
        yield running


def _send(cli: CLI, *extra: str) -> tuple[int, str, str]:
    return cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--transport", "smtp", *extra)


def test_with_a_bounce_address_each_message_bounces_to_its_reader_s_own_address(
    cli: CLI, server: Server
) -> None:
    _with_list(bounce_address=BOUNCES)
    code, out, err = _send(cli)
    assert code == 0, out + err
    assert len(server.handler.received) == 5
    with Audience(Path.cwd(), LIST_ID) as ledger:
        for received in server.handler.received:
            (reader,) = received.rcpt_tos
            assert received.mail_from == verp_address(BOUNCES, reader, SECRET)
            assert received.mail_from.startswith("bounces+")
            assert received.mail_from.endswith("@lists.example.org")
            token = verp_token_of(BOUNCES, received.mail_from)
            assert token is not None
            assert ledger.address_of(token) == reader, "a bounce names its reader"
            # The envelope is the envelope: no Return-Path in the message (RFC 5321 §4.4: the
            # final server adds it; Postfix drops one it is handed).
            assert "Return-Path" not in received.message
    assert len({received.mail_from for received in server.handler.received}) == 5


def test_a_test_send_bounces_to_the_test_address_s_own(cli: CLI, server: Server) -> None:
    _with_list(bounce_address=BOUNCES)
    code, out, err = _send(cli, "--test-to", "me@example.org")
    assert code == 0, out + err
    (received,) = server.handler.received
    assert received.mail_from == verp_address(BOUNCES, "me@example.org", SECRET)


def test_a_bounce_address_without_the_secret_says_which_and_sends_nothing(
    cli: CLI, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANNOUNCER_UNSUBSCRIBE_SECRET")
    _with_list(bounce_address=BOUNCES)
    code, _, err = _send(cli)
    assert code == 1
    assert (
        "error: announcer.toml: [list].bounce_address is set (each reader's bounce address carries "
        "their token): set ANNOUNCER_UNSUBSCRIBE_SECRET in the environment"
    ) in err
    assert server.handler.received == []
    code, out, err = cli("check", EXAMPLE_EVENT)
    assert code == 1
    assert "ANNOUNCER_UNSUBSCRIBE_SECRET" in out + err


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("bounces+x@lists.example.org", "the part before @ may not hold '+' or quotes"),
        ("not an address", "is not a valid email address"),
        ("b" * 40 + "@lists.example.org", "at most 39, so that it and a reader's +<token> keep within 64"),
    ],
)
def test_a_bad_bounce_address_is_located(cli: CLI, workspace: Path, address: str, expected: str) -> None:
    _with_list(bounce_address=address)
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS)
    assert code == 1
    line = Path("announcer.toml").read_text().splitlines().index(f'bounce_address = "{address}"') + 1
    assert f"error: announcer.toml:{line}: [list].bounce_address: " in err
    assert expected in err
    assert not Path("outbox").exists()


def test_the_dry_run_writes_the_message_as_it_goes_on_the_wire(
    cli: CLI, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The envelope is not written into the .eml: what the acceptance check reads is the message."""
    monkeypatch.setenv("ANNOUNCER_UNSUBSCRIBE_SECRET", SECRET)
    _with_list(bounce_address=BOUNCES)
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS)
    assert code == 0, out + err
    messages = [read_message(path) for path in sorted(Path("outbox").rglob("*.eml"))]
    assert len(messages) == 5
    assert not [message for message in messages if "Return-Path" in message]


def test_the_bounce_address_init_explains_works_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cli = CLI()
    code, out, err = cli("init", "mine")
    assert code == 0, out + err
    settings = tmp_path / "mine" / "announcer.toml"
    commented = '# bounce_address = "bounces@lists.example.org"\n'
    assert commented in settings.read_text()
    settings.write_text(settings.read_text().replace(commented, commented[2:]))
    monkeypatch.chdir(tmp_path / "mine")
    monkeypatch.setenv("ANNOUNCER_UNSUBSCRIBE_SECRET", SECRET)
    (event,) = Path("events").glob("*.yaml")
    code, out, err = cli("send", str(event), "--to", "recipients/list.csv")
    assert code == 0, out + err


_LOCAL = st.text(st.sampled_from("abcxyz09.+-_=?!#%&'*/^`{|}~\"é \t"), min_size=0, max_size=70)


@given(local=_LOCAL, domain=st.sampled_from(["lists.example.org", "example", "xn--bcher-kva.example", ""]))
def test_any_bounce_address_is_refused_or_makes_verp_addresses_that_read_back(
    local: str, domain: str
) -> None:
    """Whatever is written, the settings refuse it with a reason, or every reader's VERP
    address is one SMTP carries (a local part within 64) and names that reader's token."""
    try:
        mailing = MailingList(id=LIST_ID, bounce_address=f"{local}@{domain}")
    except ValidationError as error:
        ((problem),) = error.errors()
        assert problem["loc"] == ("bounce_address",)
        assert problem["type"] == "value_error", "refused for what it is, as a key the settings know"
        return
    assert mailing.bounce_address is not None
    for reader in ("a@example.org", "Åsa.Lindqvist@example.org"):
        verp = verp_address(mailing.bounce_address, reader, SECRET)
        assert len(verp.rpartition("@")[0]) <= 64
        assert verp.isascii()
        assert verp_token_of(mailing.bounce_address, verp) == verp_token(reader, SECRET)
        assert verp_token_of(mailing.bounce_address, verp.upper()) == verp_token(reader, SECRET)
