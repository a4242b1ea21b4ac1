"""Real delivery to a real SMTP server on 127.0.0.1: every person exactly once."""

from __future__ import annotations

import csv
import io
import logging
import re
import smtplib
from collections.abc import Iterator
from pathlib import Path

import dkim
import pytest
import vobject
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from announcer.compose.message import Outgoing
from announcer.deliver.ledger import Ledger, Outcome
from announcer.deliver.transports.smtp import SMTPServer, SMTPTransport
from announcer.errors import DeliveryError
from announcer.preview.model import Target, build_items
from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, configure_smtp, read_message, write
from tests.smtp_server import PASSWORD, USERNAME, CertificateAuthority, Server, smtp_server

ADDRESSES = [
    "asa.lindqvist@example.org",
    "jurgen.mueller@example.org",
    "siobhan.oconnell@example.com",
    "zoe.martin@example.net",
    "chen.wei@example.org",
]


@pytest.fixture
def ca(tmp_path: Path) -> CertificateAuthority:
    return CertificateAuthority(tmp_path)


@pytest.fixture(params=[False, True], ids=["one-command-at-a-time", "pipelined"])
def plain_server(workspace: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    """A server without authentication or TLS: one that answers each command in turn, and one that
    offers PIPELINING (RFC 2920), where the same refusals come as replies to commands sent together."""
    with smtp_server(pipelining=request.param) as server:
        configure_smtp(server)
        yield server


def _send(cli: CLI, *extra: str) -> tuple[int, str, str]:
    return cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--transport", "smtp", "--past", *extra)


def test_delivers_once_per_recipient_and_a_rerun_sends_none(cli: CLI, plain_server: Server) -> None:
    code, out, err = _send(cli)
    assert code == 0, out + err
    assert "sent 5 of 5 by SMTP" in out
    assert sorted(plain_server.handler.counts()) == sorted(ADDRESSES)
    assert plain_server.handler.connections == 1, "one connection, reused for every message"
    received = plain_server.handler.received[0]
    assert received.mail_from == "onkpat-seminars@example.org"
    message = received.message
    assert str(message["To"]) == "Åsa Lindqvist <asa.lindqvist@example.org>"
    assert "Dear Åsa Lindqvist," in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    code, out, err = _send(cli)
    assert code == 0, out + err
    assert "sent 0 of 5 by SMTP; 5 had it already" in out
    assert len(plain_server.handler.received) == 5

    code, out, _ = cli("status", EXAMPLE_EVENT)
    assert code == 0
    assert "invitation (SEQUENCE 0): 5 delivered, 0 failed, 0 in doubt" in out


def test_resend_sends_to_everyone_again(cli: CLI, plain_server: Server) -> None:
    assert _send(cli)[0] == 0
    code, out, _ = _send(cli, "--resend")
    assert code == 0
    assert "sent 5 of 5" in out
    assert set(plain_server.handler.counts().values()) == {2}


def test_temporary_failures_are_retried_and_permanent_ones_recorded(cli: CLI, plain_server: Server) -> None:
    plain_server.handler.scripted = {
        "asa.lindqvist@example.org": ["451 4.3.0 try again later"],  # once: delivered on the retry
        "jurgen.mueller@example.org": ["452 4.2.2 mailbox full"] * 10,  # always: fails after retries
        "siobhan.oconnell@example.com": ["550 5.1.1 no such user"],
        "zoe.martin@example.net": ["421 4.7.0 closing, come back later"],  # drops the connection
    }
    code, out, err = _send(cli)
    assert code == 3, out + err
    assert "sent 3 of 5 by SMTP" in out
    assert "failed: jurgen.mueller@example.org: 452 4.2.2 mailbox full" in err
    assert "failed: siobhan.oconnell@example.com: 550 5.1.1 no such user" in err
    counts = plain_server.handler.counts()
    assert counts == {"asa.lindqvist@example.org": 1, "zoe.martin@example.net": 1, "chen.wei@example.org": 1}
    assert plain_server.handler.scripted["jurgen.mueller@example.org"] == ["452 4.2.2 mailbox full"] * 5
    assert plain_server.handler.connections == 2, "a 421 closes the connection; the next message reconnects"

    code, out, _ = cli("status", EXAMPLE_EVENT)
    assert "3 delivered, 2 failed, 0 in doubt" in out
    assert "failed: siobhan.oconnell@example.com" in out

    plain_server.handler.scripted = {}
    code, out, _ = _send(cli)  # the re-run sends only to those who did not get it
    assert code == 0
    assert "sent 2 of 5 by SMTP; 3 had it already" in out
    assert set(plain_server.handler.counts().values()) == {1}


def test_a_connection_lost_after_data_is_in_doubt_and_never_resent_unasked(
    cli: CLI, plain_server: Server
) -> None:
    plain_server.handler.drop_after_data = {"jurgen.mueller@example.org"}
    code, out, err = _send(cli)
    assert code == 3
    assert "sent 4 of 5 by SMTP" in out
    assert "in doubt: jurgen.mueller@example.org:" in err
    assert "connection lost after the message was sent" in err
    assert "check, then --resend-in-doubt to send it again" in err
    assert plain_server.handler.counts()["jurgen.mueller@example.org"] == 1
    assert "4 delivered, 0 failed, 1 in doubt" in cli("status", EXAMPLE_EVENT)[1]

    code, out, err = _send(cli)
    assert (code, "in doubt:" in err) == (0, False), "told once, by the run that found it"
    assert out == (
        "sent 0 of 5 by SMTP; 4 had it already; 1 in doubt, reported by an earlier run "
        "(announcer status; --resend-in-doubt sends again)\n"
    )
    assert plain_server.handler.counts()["jurgen.mueller@example.org"] == 1

    code, out, _ = _send(cli, "--resend-in-doubt")
    assert code == 0
    assert plain_server.handler.counts()["jurgen.mueller@example.org"] == 2


def test_a_doubt_is_marked_told_only_once_a_run_has_printed_it(cli: CLI, plain_server: Server) -> None:
    """A run that finds a doubt and then stops on an error (here a template that fails for a
    new Swedish reader) never printed it: it stays untold, and the next run that ends tells it."""
    maria = "maria.rossi@example.org"
    write(Path("recipients/one.csv"), f"email,name\n{maria},Maria Rossi\n")
    write(
        Path("recipients/two.csv"), f"email,name,language\n{maria},Maria Rossi,\nlars@example.org,Lars,sv\n"
    )
    plain_server.handler.drop_after_data.add(maria)
    code, out, err = _send(cli, "--to", "recipients/one.csv")
    assert code == 3, out + err
    assert f"in doubt: {maria}" in err
    with Ledger(Path.cwd(), lock=False) as ledger:  # then a run killed in DATA: a new doubt, untold
        (key,) = {entry.key for entry in ledger.entries("") if entry.recipient == maria}
        ledger.record(key, maria, "<m@x>", Outcome.IN_FLIGHT, "killed while sending")
    broken = Path("templates/email/invitation.subject.j2")
    write(broken, "{% if language == 'sv' %}{{ nothing.at_all }}{% endif %}x")
    code, out, err = _send(cli, "--to", "recipients/two.csv")
    assert code == 1, out + err
    assert "in doubt:" not in err, "found, then the run stopped before its summary"
    broken.unlink()
    code, out, err = _send(cli, "--to", "recipients/two.csv")
    assert code == 3, out + err
    assert f"in doubt: {maria}: in doubt since" in err, "told by the run that printed it"
    assert "killed while sending" in err
    code, out, err = _send(cli, "--to", "recipients/two.csv")
    assert code == 0, out + err
    assert "in doubt:" not in err
    assert "1 had it already; 1 in doubt, reported by an earlier run" in out, out


def test_status_names_every_reader_with_who_and_writes_them_as_csv(cli: CLI, plain_server: Server) -> None:
    """`status` counts; `--who` names each reader of each send (and when); `--csv` gives the same
    for a spreadsheet, a name that looks like a formula kept as text."""
    write(
        Path("recipients/who.csv"),
        "email,name\nasa.lindqvist@example.org,Åsa Lindqvist\nformula@example.org,=SUM(1+1)\n"
        "bare@example.org,\n",
    )
    plain_server.handler.scripted = {"bare@example.org": ["550 5.1.1 no such user"]}
    code, out, err = _send(cli, "--to", "recipients/who.csv")
    assert code == 3, out + err
    code, counts, _ = cli("status", EXAMPLE_EVENT)
    assert code == 0
    assert "invitation (SEQUENCE 0): 2 delivered, 1 failed, 0 in doubt" in counts
    assert "delivered:" not in counts, "counts alone, unless asked"
    code, out, _ = cli("status", EXAMPLE_EVENT, "--who")
    assert code == 0
    minute = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"
    lines = out.splitlines()
    assert lines[0] == "invitation (SEQUENCE 0): 2 delivered, 1 failed, 0 in doubt"
    assert len(lines) == 4, out
    said = "\n".join(sorted(lines[1:]))
    assert re.fullmatch(
        rf"  delivered: asa\.lindqvist@example\.org \(Åsa Lindqvist\), {minute}\n"
        rf"  delivered: formula@example\.org \(=SUM\(1\+1\)\), {minute}\n"
        rf"  failed: bare@example\.org, {minute}: 550 5\.1\.1 no such user",
        said,
    ), out
    code, out, _ = cli("status", EXAMPLE_EVENT, "--csv")
    assert code == 0
    rows = {row["email"]: row for row in csv.DictReader(io.StringIO(out))}
    assert set(rows) == {"asa.lindqvist@example.org", "formula@example.org", "bare@example.org"}
    assert rows["formula@example.org"]["name"] == "'=SUM(1+1)", "never a formula in a spreadsheet"
    assert rows["asa.lindqvist@example.org"]["name"] == "Åsa Lindqvist"
    assert [rows["bare@example.org"][column] for column in ("kind", "sequence", "outcome")] == [
        "invitation",
        "0",
        "failed",
    ]
    assert rows["asa.lindqvist@example.org"]["outcome"] == "delivered"


def test_test_to_sends_recipient_one_s_message_without_journal(cli: CLI, plain_server: Server) -> None:
    code, out, err = _send(cli, "--test-to", "organiser@example.org")
    assert code == 0, out + err
    assert "sent 1 of 1 by SMTP; a test: recipient #1's message, for organiser@example.org" in out
    (received,) = plain_server.handler.received
    assert received.rcpt_tos == ["organiser@example.org"]
    assert str(received.message["To"]) == "organiser@example.org"
    assert "Dear Åsa Lindqvist," in received.message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert _send(cli)[0] == 0
    assert len(plain_server.handler.received) == 6, "a test send is not journaled"


def test_a_changed_time_makes_the_next_send_an_update(cli: CLI, plain_server: Server) -> None:
    assert _send(cli)[0] == 0
    event = Path(EXAMPLE_EVENT)
    event.write_text(event.read_text().replace("Cell Therapy: From", "Cell Therapy – From"))
    code, out, _ = _send(cli)
    assert "sent 0 of 5" in out, "an edit that does not move the event sends nothing again"
    cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS)  # a dry run reads SEQUENCE, never raises it
    event.write_text(event.read_text().replace("start: 2026-03-06 12:00", "start: 2026-03-06 12:15"))
    code, out, _ = _send(cli)
    assert code == 0
    assert "sent 5 of 5" in out
    latest = plain_server.handler.received[-1].message
    attachment = next(part for part in latest.iter_attachments() if part.get_filename() == "invite.ics")
    calendar = vobject.readOne(attachment.get_content())
    assert calendar.vevent.sequence.value == "1"
    assert calendar.vevent.uid.value == "2026-03-06-car-t-cell-therapy@example.org"
    code, out, _ = cli("status", EXAMPLE_EVENT)
    assert "update (SEQUENCE 1): 5 delivered" in out


def test_starttls_and_auth_with_the_password_from_the_environment(
    cli: CLI,
    workspace: Path,
    ca: CertificateAuthority,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with smtp_server("starttls", ca, auth=True) as server:
        configure_smtp(server, username=USERNAME)
        monkeypatch.delenv("ANNOUNCER_SMTP_PASSWORD", raising=False)
        code, out, err = _send(cli)
        assert code == 1
        assert "set ANNOUNCER_SMTP_PASSWORD in the environment" in err
        monkeypatch.setenv("ANNOUNCER_SMTP_PASSWORD", "wrong password")
        code, out, err = _send(cli)
        assert code == 3
        assert "login as organiser refused: 535" in err
        monkeypatch.setenv("ANNOUNCER_SMTP_PASSWORD", PASSWORD)
        code, out, err = _send(cli)
        assert code == 0, out + err
        assert len(server.handler.received) == 5
        for text in (
            out,
            err,
            caplog.text,
            Path(".announcer/journal.sqlite").read_bytes().decode(errors="replace"),
        ):
            assert PASSWORD not in text
            assert "wrong password" not in text


def test_implicit_tls(cli: CLI, workspace: Path, ca: CertificateAuthority) -> None:
    with smtp_server("tls", ca) as server:
        configure_smtp(server)
        code, out, err = _send(cli)
        assert code == 0, out + err
        assert len(server.handler.received) == 5


def test_an_untrusted_certificate_is_refused(cli: CLI, workspace: Path, ca: CertificateAuthority) -> None:
    with smtp_server("tls", ca) as server:
        server.ca_file = None  # the client does not know the test CA
        configure_smtp(server)
        code, _, err = _send(cli)
        assert code == 3
        assert "the server's certificate is not trusted: unable to get local issuer certificate" in err
        assert server.handler.received == []


@pytest.mark.parametrize("written", [None, "not a certificate\n"], ids=["missing", "not-pem"])
def test_a_ca_file_that_cannot_be_read_stops_the_send_naming_it(
    cli: CLI, workspace: Path, ca: CertificateAuthority, written: str | None
) -> None:
    with smtp_server("tls", ca) as server:
        server.ca_file = workspace / "our-ca.pem"
        if written is not None:
            server.ca_file.write_text(written, encoding="utf-8")
        configure_smtp(server)
        code, _, err = _send(cli)
        assert code == 3, err
        assert f"[smtp] ca_file {server.ca_file}: cannot read its certificates" in err
        assert "cannot connect" not in err  # not retried as a passing trouble of the server's
        assert server.handler.received == []


def test_starttls_that_the_server_does_not_offer_is_refused(cli: CLI, workspace: Path) -> None:
    with smtp_server("none") as server:
        server.security = "starttls"
        configure_smtp(server)
        code, _, err = _send(cli)
        assert code == 3
        assert "does not offer STARTTLS" in err
        assert server.handler.received == []


def test_dkim_signature_verifies(cli: CLI, plain_server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
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
    code, out, err = _send(cli)
    assert code == 0, out + err
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"seminars._domainkey.example.org."
        return record

    for received in plain_server.handler.received:
        assert received.data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256;")
        assert dkim.verify(received.data, dnsfunc=dns)
        assert b"Abstract" in received.data
        assert not dkim.verify(received.data.replace(b"Abstract", b"Abstrakt"), dnsfunc=dns)


def test_bad_dkim_key_is_a_located_settings_error(cli: CLI, plain_server: Server) -> None:
    write(Path("dkim.pem"), "not a key")
    with Path("announcer.toml").open("a") as settings:
        settings.write('\n[dkim]\ndomain = "example.org"\nselector = "s"\nkey_file = "dkim.pem"\n')
    code, _, err = _send(cli)
    assert code == 1
    assert "error: announcer.toml: [dkim]: the DKIM key does not sign" in err
    assert plain_server.handler.received == []


def test_a_digest_is_journaled_like_an_invitation(cli: CLI, plain_server: Server) -> None:
    args = ("digest", "events", "--to", EXAMPLE_RECIPIENTS, "--from", "2026-03-02", "--transport", "smtp")
    code, out, err = cli(*args)
    assert code == 0, out + err
    assert "sent 5 of 5 by SMTP" in out
    code, out, _ = cli(*args)
    assert "sent 0 of 5 by SMTP; 5 had it already" in out
    assert len(plain_server.handler.received) == 5
    # one calendar part of the four talks, and a file for each
    assert len(list(plain_server.handler.received[0].message.iter_attachments())) == 1 + 4


def test_an_unreachable_server_stops_the_send_with_its_address(cli: CLI, workspace: Path) -> None:
    with smtp_server() as server:
        configure_smtp(server)
    code, out, err = _send(cli)  # the server has gone: nothing listens on its port
    assert code == 3, out + err
    assert f"error: 127.0.0.1:{server.port}: cannot connect:" in err
    assert "4 delivered" not in cli("status", EXAMPLE_EVENT)[1]


def test_mail_from_refused_permanently_fails_that_message_and_the_run_goes_on(
    cli: CLI, plain_server: Server
) -> None:
    plain_server.handler.mail_replies = ["553 5.7.1 sender not allowed"]
    code, out, err = _send(cli)
    assert code == 3, out + err
    assert "sent 4 of 5 by SMTP" in out
    assert "failed: asa.lindqvist@example.org: 553 5.7.1 sender not allowed" in err
    assert "asa.lindqvist@example.org" not in plain_server.handler.counts()


def test_a_connection_lost_before_data_ends_is_retried_not_in_doubt(cli: CLI, plain_server: Server) -> None:
    plain_server.handler.drop_at_rcpt = {"jurgen.mueller@example.org"}
    code, out, err = _send(cli)
    assert code == 0, out + err
    assert "sent 5 of 5 by SMTP" in out
    assert "in doubt" not in err
    assert plain_server.handler.counts()["jurgen.mueller@example.org"] == 1
    assert plain_server.handler.connections == 2, "the retry reconnects"


def test_a_refusal_after_data_is_recorded_and_not_retried(cli: CLI, plain_server: Server) -> None:
    plain_server.handler.data_replies = {"zoe.martin@example.net": ["554 5.7.1 message rejected as spam"]}
    code, out, err = _send(cli)
    assert code == 3, out + err
    assert "failed: zoe.martin@example.net: 554 5.7.1 message rejected as spam" in err
    assert plain_server.handler.data_replies["zoe.martin@example.net"] == [], "asked once, never retried"
    assert "4 delivered, 1 failed, 0 in doubt" in cli("status", EXAMPLE_EVENT)[1]


def test_the_password_is_never_sent_in_clear_to_another_machine() -> None:
    remote = SMTPServer(host="192.0.2.25", port=25, security="none", username="u", password="p")
    with pytest.raises(
        DeliveryError, match=re.escape("192.0.2.25:25: security = none would send the password in clear")
    ):
        SMTPTransport(remote)
    for host in ("127.0.0.1", "localhost", "::1"):
        local = SMTPServer(host=host, port=25, security="none", username="u", password="p")
        SMTPTransport(local)  # a local relay: allowed


def test_render_digest_and_preview_carry_the_sequence_the_journal_holds(
    cli: CLI, plain_server: Server
) -> None:
    assert _send(cli)[0] == 0
    event = Path(EXAMPLE_EVENT)
    event.write_text(event.read_text().replace("start: 2026-03-06 12:00", "start: 2026-03-06 12:15"))
    assert _send(cli)[0] == 0  # the update: SEQUENCE 1 in the journal
    code, out, err = cli("render", EXAMPLE_EVENT, "-o", "rendered")
    assert code == 0, out + err
    assert b"SEQUENCE:1\r\n" in Path("rendered/2026-03-06-car-t-cell-therapy.ics").read_bytes()
    code, out, err = cli("digest", "events", "--to", EXAMPLE_RECIPIENTS, "--from", "2026-03-02")
    assert code == 0, out + err
    digest = read_message(next(Path("outbox/digest-2026-03-02").glob("*.eml")))
    sequences = {
        part.get_filename(): re.search(rb"SEQUENCE:(\d+)", part.get_payload(decode=True))[1]  # type: ignore[index, arg-type]
        for part in digest.iter_attachments()
    }
    assert sequences["2026-03-06-car-t-cell-therapy.ics"] == b"1"
    assert sequences["2026-03-02-thymus-atlas.ics"] == b"0"
    preview = build_items(Target(event, Path("announcer.toml")))
    assert b"SEQUENCE:1\r\n" in preview["2026-03-06-car-t-cell-therapy"].content.ics


def test_a_cancellation_reaches_everyone_who_had_the_event_once(cli: CLI, plain_server: Server) -> None:
    assert _send(cli)[0] == 0
    code, out, err = cli("cancel", EXAMPLE_EVENT, "--transport", "smtp", "--past")
    assert code == 0, out + err
    assert "sent 5 of 5 by SMTP" in out
    cancels = plain_server.handler.received[5:]
    assert sorted(address for item in cancels for address in item.rcpt_tos) == sorted(ADDRESSES)
    message = cancels[0].message
    assert str(message["Subject"]).startswith("Cancelled: CAR T Cell Therapy")
    inline = [
        part
        for part in message.walk()
        if part.get_content_type() == "text/calendar" and not part.get_filename()
    ]
    assert [part.get_param("method") for part in inline] == ["CANCEL"], (
        "the iTIP part, inline, as servers send it"
    )
    calendar = vobject.readOne(inline[0].get_content())
    assert calendar.method.value == "CANCEL"
    assert calendar.vevent.status.value == "CANCELLED"
    assert calendar.vevent.sequence.value == "1", "raised above the invitation's"
    assert calendar.vevent.uid.value == "2026-03-06-car-t-cell-therapy@example.org"
    assert "cancellation (SEQUENCE 1): 5 delivered" in cli("status", EXAMPLE_EVENT)[1]
    code, out, _ = cli("cancel", EXAMPLE_EVENT, "--transport", "smtp", "--past")
    assert "sent 0 of 5 by SMTP; 5 had it already" in out
    assert len(plain_server.handler.received) == 10


def test_a_cancellation_needs_someone_to_tell(cli: CLI) -> None:
    code, _, err = cli("cancel", EXAMPLE_EVENT)
    assert code == 1
    assert "nobody has received it yet (dry runs are not journaled): name whom to tell with --to" in err
    code, out, err = cli("cancel", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS)
    assert code == 0, out + err
    assert "wrote 5 messages to outbox/2026-03-06-car-t-cell-therapy-cancellation" in out


ON_WITHOUT_CAR_T = (
    "2026-03-02-thymus-atlas",
    "2026-03-04-engineered-tregs-online",
    "2026-03-05-computational-pathology",
)


def test_the_digest_and_the_preview_show_a_cancelled_event_as_cancelled(
    cli: CLI, plain_server: Server
) -> None:
    assert _send(cli)[0] == 0
    assert cli("cancel", EXAMPLE_EVENT, "--transport", "smtp", "--past")[0] == 0
    assert cli("digest", "events", "--to", "a@example.org", "--from", "2026-03-02")[0] == 0
    digest = read_message(next(Path("outbox/digest-2026-03-02").glob("*.eml")))
    text = str(digest.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "12:00–13:00 Stockholm time (CET)\nOnkPat Friday Seminar\n[CANCELLED] CAR T Cell Therapy" in (
        text.replace("\r\n", "\n")
    )
    html = str(digest.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert re.search(r"cancelled-label[^>]*>Cancelled</span>", html)
    names = [part.get_filename() for part in digest.iter_attachments()]
    assert "2026-03-06-car-t-cell-therapy.ics" not in names, "nothing to add a cancelled talk from"
    assert names == ["all-talks-2026-03-02.ics", *(f"{slug}.ics" for slug in ON_WITHOUT_CAR_T)]
    preview = build_items(Target(Path(EXAMPLE_EVENT), Path("announcer.toml")))
    assert preview["2026-03-06-car-t-cell-therapy"].content.subject.startswith("Cancelled: ")


def test_an_update_says_what_changed_to_those_who_had_it_and_invites_the_rest(
    cli: CLI, plain_server: Server
) -> None:
    assert _send(cli)[0] == 0
    event = Path(EXAMPLE_EVENT)
    event.write_text(
        event.read_text()
        .replace("2026-03-06 12:00", "2026-03-06 14:00")
        .replace("2026-03-06 13:00", "2026-03-06 15:00")
    )
    with Path(EXAMPLE_RECIPIENTS).open("a") as recipients:
        recipients.write("newcomer@example.org,New Comer,Pathology\n")
    code, out, err = _send(cli)
    assert code == 0, out + err
    assert "sent 6 of 6 by SMTP" in out
    update = {item.rcpt_tos[0]: item.message for item in plain_server.handler.received[5:]}
    told = update["asa.lindqvist@example.org"]
    assert str(told["Subject"]).startswith("New time: CAR T Cell Therapy")
    text = str(told.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert (
        "THIS EVENT HAS CHANGED\nTime: Friday, 6 March 2026, 14:00–15:00 Stockholm time (CET)\n"
        in text.replace("\r\n", "\n")
    )
    assert "(CET)\n  was 12:00–13:00\n" in text.replace("\r\n", "\n"), "the old time alone on the same day"
    html = str(told.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert html.index("This event has changed") < html.index("Dear Åsa Lindqvist,")
    invited = update["newcomer@example.org"]
    assert str(invited["Subject"]).startswith("CAR T Cell Therapy"), "someone new gets a plain invitation"
    assert "THIS EVENT HAS CHANGED" not in str(invited.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    for message in (told, invited):
        ics = next(part for part in message.iter_attachments()).get_content()
        assert "SEQUENCE:1" in ics
    event.write_text(event.read_text().replace("Cell Therapy: From", "Cell Therapy – From"))
    code, out, _ = _send(cli)
    assert "sent 0 of 6 by SMTP; 6 had it already" in out, "a typo fixed sends nothing"


def test_commands_are_pipelined_where_the_server_offers_it(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[bytes | str] = []
    send = smtplib.SMTP.send

    def counted(connection: smtplib.SMTP, data: bytes | str) -> None:
        writes.append(data)
        send(connection, data)

    monkeypatch.setattr(smtplib.SMTP, "send", counted)
    for pipelining, per_message in ((True, 3), (False, 5)):
        with smtp_server(pipelining=pipelining) as server:
            config = SMTPServer(host="127.0.0.1", port=server.port, security="none")
            with SMTPTransport(config) as transport:
                writes.clear()
                for address in ADDRESSES:
                    message = Outgoing(
                        address, "<m@example.org>", b"Subject: hi\r\n\r\nHello\r\n", "s@example.org"
                    )
                    transport.send(message)
                assert len(writes) == per_message * len(ADDRESSES), writes[:6]
            assert sorted(server.handler.counts()) == sorted(ADDRESSES)


def test_several_connections_deliver_everyone_once(cli: CLI, workspace: Path) -> None:
    many = [f"person{number:03d}@example.org" for number in range(80)]
    write(Path("recipients/many.csv"), "email\n" + "\n".join(many) + "\n")
    with smtp_server(pipelining=True) as server:
        configure_smtp(server, connections=4)
        server.handler.scripted = {"person007@example.org": ["550 5.1.1 no such user"]}
        code, out, err = cli(
            "send", EXAMPLE_EVENT, "--to", "recipients/many.csv", "--transport", "smtp", "--past"
        )
        assert code == 3, out + err
        assert "sent 79 of 80 by SMTP" in out
        assert "failed: person007@example.org: 550 5.1.1 no such user" in err
        assert server.handler.connections == 4
        assert server.handler.counts() == dict.fromkeys([a for a in many if a != "person007@example.org"], 1)
        code, out, err = cli(
            "send", EXAMPLE_EVENT, "--to", "recipients/many.csv", "--transport", "smtp", "--past"
        )
        assert "sent 1 of 80 by SMTP; 79 had it already" in out, out + err


def test_several_connections_at_a_pace_each_carry_their_own_conversation(cli: CLI, workspace: Path) -> None:
    """With --rate the connections are threads of one process, each its own line to the server:
    two threads on one line would interleave their commands."""
    many = [f"person{number:03d}@example.org" for number in range(40)]
    write(Path("recipients/many.csv"), "email\n" + "\n".join(many) + "\n")
    with smtp_server(pipelining=True) as server:
        configure_smtp(server, connections=4)
        code, out, err = cli(
            "send",
            EXAMPLE_EVENT,
            "--to",
            "recipients/many.csv",
            "--transport",
            "smtp",
            "--past",
            "--rate",
            "1000/s",
        )
        assert code == 0, out + err
        assert "sent 40 of 40 by SMTP" in out
        assert server.handler.connections == 4
        assert server.handler.counts() == dict.fromkeys(many, 1)
