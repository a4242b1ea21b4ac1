"""The headers that close the loop exactly: each reader's VERP envelope sender (`[list]
bounce_address`), the reader's token in the List-Unsubscribe mailto, Feedback-ID, and a DKIM
signature over all of them, sent to a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from announcer import preflight
from announcer.audience.ledger import Audience
from announcer.audience.tokens import unsubscribe_token, verp_address, verp_token, verp_token_of
from announcer.compose.headers import feedback_id, mailto_unsubscribe
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


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Callable[[bytes, int], bytes]:
    """A DKIM key for example.org (the private key in the environment, as a user keeps it) and
    the DNS answer that publishes its public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    monkeypatch.setenv("ANNOUNCER_DKIM_PRIVATE_KEY", private.decode())
    with Path("announcer.toml").open("a") as settings:
        settings.write('\n[dkim]\ndomain = "example.org"\nselector = "seminars"\n')
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def answer(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"seminars._domainkey.example.org."
        return record

    return answer


def _send(cli: CLI, *extra: str) -> tuple[int, str, str]:
    return cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--transport", "smtp", "--past", *extra)


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


def _mailto(message_data: bytes) -> str:
    header = read_message(message_data)["List-Unsubscribe"]
    (mailto,) = re.findall(r"<(mailto:[^>]*)>", " ".join(str(header).split()))
    return str(mailto)


def test_the_mailto_carries_the_reader_s_token_and_the_inbox_can_name_them(
    cli: CLI, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Path("announcer.toml").read_text()
    write(Path("announcer.toml"), settings.replace('/unsubscribe"', '/unsubscribe/{token}"'))
    code, out, err = _send(cli)
    assert code == 0, out + err
    with Audience(Path.cwd(), LIST_ID) as ledger:
        for received in server.handler.received:
            (reader,) = received.rcpt_tos
            mailto = _mailto(received.data)
            token = unsubscribe_token(reader, SECRET)
            assert mailto == f"mailto:onkpat-seminars-leave@example.org?subject=unsubscribe%20{token}"
            parts = urlsplit(mailto)
            assert unquote(parts.path) == "onkpat-seminars-leave@example.org"
            assert parse_qs(parts.query) == {"subject": [f"unsubscribe {token}"]}  # RFC 6068, decoded
            assert ledger.address_of(token) == reader
            url = re.findall(r"<(https:[^>]*)>", str(received.message["List-Unsubscribe"]))
            assert url == [f"https://lists.example.org/onkpat-seminars/unsubscribe/{token}"]
            assert received.message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


@pytest.mark.parametrize(
    ("address", "written"),
    [
        ("leave@example.org", "leave@example.org"),
        ("leave#me?now&x=1%@example.org", "leave%23me%3Fnow%26x%3D1%25@example.org"),
        ("o'brien+leave@example.org", "o'brien+leave@example.org"),
    ],
)
def test_a_mailto_address_is_written_as_rfc_6068_reads_it(address: str, written: str) -> None:
    mailto = mailto_unsubscribe(address, "A" * 24)
    assert mailto == f"mailto:{written}?subject=unsubscribe%20{'A' * 24}"
    assert unquote(urlsplit(mailto).path) == address
    assert mailto_unsubscribe(address, None) == f"mailto:{written}?subject=unsubscribe"


def test_feedback_id_names_the_send_never_the_reader(cli: CLI, server: Server) -> None:
    code, out, err = _send(cli)
    assert code == 0, out + err
    code, out, err = cli("cancel", EXAMPLE_EVENT, "--transport", "smtp", "--past")
    assert code == 0, out + err
    found = {str(received.message["Feedback-ID"]) for received in server.handler.received}
    assert found == {
        f"2026-03-06-car-t-cell-therapy:{LIST_ID}:invitation:announcer",
        f"2026-03-06-car-t-cell-therapy-cancellation:{LIST_ID}:cancellation:announcer",
    }
    raw = server.handler.received[0].data
    assert re.search(rb"^Feedback-ID: [^\r\n]+\r\n(?![ \t])", raw, re.MULTILINE), "on one line"


@pytest.mark.parametrize(
    ("campaign", "customer", "kind", "expected"),
    [
        ("2026-03-06-talk", "seminars.example.org", "digest", "2026-03-06-talk:seminars.example.org:digest"),
        ("talk: ÜBER Zellen", "a=?b.example", "reminder", "talk-BER-Zellen:a-b.example:reminder"),
        ("::", "x" * 100, "", f"-:{'x' * 60}:-"),
    ],
)
def test_feedback_id_fields_hold_no_colon_and_stay_short(
    campaign: str, customer: str, kind: str, expected: str
) -> None:
    assert feedback_id(campaign, customer, kind) == f"Feedback-ID: {expected}:announcer\r\n".encode()


def test_the_dkim_signature_covers_the_headers_that_unsubscribe_and_count_complaints(
    cli: CLI, server: Server, dns: Callable[[bytes, int], bytes]
) -> None:
    """RFC 8058 §4: List-Unsubscribe and List-Unsubscribe-Post signed; so are Feedback-ID and
    the token in the mailto; none can be changed, nor a second one added, without breaking it."""
    _with_list(bounce_address=BOUNCES)
    settings = Path("announcer.toml").read_text()
    write(Path("announcer.toml"), settings.replace('/unsubscribe"', '/unsubscribe/{token}"'))
    code, out, err = _send(cli)
    assert code == 0, out + err
    for received in server.handler.received:
        data = received.data
        assert dkim.verify(data, dnsfunc=dns)
        signature = " ".join(str(read_message(data)["DKIM-Signature"]).split())
        signed = [name.strip() for name in re.search(r"\bh=([^;]+);", signature)[1].split(":")]  # type: ignore[index]
        for name in ("list-unsubscribe", "list-unsubscribe-post", "feedback-id", "list-id", "from"):
            assert name in signed, name
        token = unsubscribe_token(received.rcpt_tos[0], SECRET)
        other = unsubscribe_token("someone.else@example.org", SECRET)
        changed = [
            data.replace(f"unsubscribe%20{token}".encode(), f"unsubscribe%20{other}".encode()),
            data.replace(f"/unsubscribe/{token}".encode(), f"/unsubscribe/{other}".encode()),
            data.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"List-Unsubscribe-Post: x=y"),
            data.replace(b":invitation:announcer", b":digest:announcer"),
            data.replace(b"\r\nFrom: ", b"\r\nList-Unsubscribe: <mailto:evil@example.net>\r\nFrom: ", 1),
            data.replace(b"\r\nFrom: ", b"\r\nFeedback-ID: a:b:c:d\r\nFrom: ", 1),
        ]
        for forged in changed:
            assert forged != data
            assert not dkim.verify(forged, dnsfunc=dns)


@given(campaign=st.text(max_size=300), customer=st.text(max_size=300), kind=st.text(max_size=40))
def test_any_feedback_id_is_one_header_line_of_four_fields_the_pre_flight_accepts(
    campaign: str, customer: str, kind: str
) -> None:
    """Whatever a slug, a list id or a kind holds (a colon, CR/LF, bidi marks, any script):
    one ASCII line, four fields, none empty, nothing past 60 characters."""
    line = feedback_id(campaign, customer, kind)
    assert line.endswith(b"\r\n")
    value = line.decode("ascii").removeprefix("Feedback-ID: ").removesuffix("\r\n")
    assert "\r" not in value
    assert "\n" not in value
    assert preflight._FEEDBACK_ID.fullmatch(value), value
    assert value.endswith(":announcer")


_TOKEN = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-", min_size=24, max_size=24
)


@given(local=st.text(min_size=1, max_size=64).filter(lambda text: "@" not in text), token=st.none() | _TOKEN)
def test_any_unsubscribe_mailto_reads_back_as_its_address_and_subject(local: str, token: str | None) -> None:
    """RFC 6068: whatever an address's local part holds, the mailto stays one printable ASCII
    URI within its <…> and a mail client reads back the same address and subject."""
    address = f"{local}@lists.example.org"
    mailto = mailto_unsubscribe(address, token)
    assert mailto.isascii()
    assert mailto.isprintable()
    assert not set(mailto) & set('<> ,"\\')
    parts = urlsplit(mailto)
    assert unquote(parts.path, errors="strict") == address
    assert parse_qs(parts.query) == {"subject": [f"unsubscribe {token}" if token else "unsubscribe"]}
