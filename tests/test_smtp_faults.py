"""Servers that break in each way a server can: per recipient, the copies the server kept agree
with what the journal (and `announcer status`) says, and a rerun against a good server doubles nobody.

delivered ⇒ exactly one complete copy; failed or never tried ⇒ none; in doubt ⇒ at most one.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from announcer.deliver.ledger import Ledger, Outcome
from announcer.deliver.transports.smtp import _Shown
from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS
from tests.scripted_smtp import Fault, Script, scripted_smtp

ASA, JURGEN, SIOBHAN, ZOE, CHEN = (
    "asa.lindqvist@example.org",
    "jurgen.mueller@example.org",
    "siobhan.oconnell@example.com",
    "zoe.martin@example.net",
    "chen.wei@example.org",
)
EVERYONE = (ASA, JURGEN, SIOBHAN, ZOE, CHEN)
# Short waits: a hung or trickling server costs a second; one retry, at once.
FAST = {"timeout_seconds": 1, "deadline_seconds": 1, "retries": 1, "retry_delay_seconds": 0.01}
USERNAME = "organiser"
PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Case:
    """A server's fault, and how each recipient should stand after the first send."""

    fault: Fault
    expected: dict[str, str] = field(default_factory=dict)  # else: delivered
    only: str | None = None
    times: int | None = None
    pipelining: bool = False
    # Outcomes the client cannot choose between (the line lost while the message goes out).
    either: dict[str, set[str]] = field(default_factory=dict)

    def outcomes(self, address: str) -> set[str]:
        return self.either.get(address) or {self.expected.get(address, "delivered")}


CASES = {
    "552-at-mail-yet-rcpt-and-data-taken": Case(
        "552-at-mail-then-data", dict.fromkeys(EVERYONE, "failed"), pipelining=True
    ),
    "garbage-answer-to-mail-once": Case("garbage-at-mail", times=1),
    "421-at-one-rcpt-then-retried": Case("421-at-rcpt", only=ZOE, times=1),
    "452-too-many-recipients-always": Case("452-at-rcpt", {SIOBHAN: "failed"}, only=SIOBHAN),
    "550-one-rcpt-of-several": Case("550-at-rcpt", {CHEN: "failed"}, only=CHEN),
    "550-one-rcpt-of-several-pipelined": Case("550-at-rcpt", {CHEN: "failed"}, only=CHEN, pipelining=True),
    "drops-the-line-mid-data": Case(
        "drop-mid-data", only=JURGEN, times=1, either={JURGEN: {"delivered", "in doubt"}}
    ),
    "hangs-after-the-dot": Case("hang-after-data", {JURGEN: "in doubt"}, only=JURGEN),
    "trickles-after-the-dot": Case("trickle-after-data", {JURGEN: "in doubt"}, only=JURGEN),
    "multi-line-junk-after-the-dot": Case("junk-after-data", {ZOE: "in doubt"}, only=ZOE),
    "garbage-after-the-dot": Case("garbage-after-data", {ASA: "in doubt"}, only=ASA),
    "554-after-the-dot": Case("554-after-data", {ZOE: "failed"}, only=ZOE),
    "closes-after-greeting": Case("close-after-greeting", dict.fromkeys(EVERYONE, "untried"), times=1),
    "hangs-at-greeting": Case("hang-at-greeting", dict.fromkeys(EVERYONE, "untried"), times=1),
}


def _configure(port: int, **extra: object) -> None:
    lines = ["\n[smtp]", 'host = "127.0.0.1"', f"port = {port}", 'security = "none"']
    lines += [f"{key} = {value!r}".replace("'", '"') for key, value in {**FAST, **extra}.items()]
    with Path("announcer.toml").open("a") as settings_file:
        settings_file.write("\n".join(lines) + "\n")


def _send(cli: CLI) -> tuple[int, str, str]:
    return cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--transport", "smtp", "--past")


def _standing(cli: CLI) -> dict[str, str]:
    """Each recipient as the journal has them (untried if absent), checked against `status`."""
    words = {Outcome.DELIVERED: "delivered", Outcome.FAILED: "failed", Outcome.IN_FLIGHT: "in doubt"}
    with Ledger(Path.cwd(), lock=False) as journal:
        standing = {entry.recipient: words[entry.outcome] for entry in journal.entries("")}
    code, out, err = cli("status", EXAMPLE_EVENT)
    assert code == 0, out + err
    if standing:
        counts = [sum(outcome == word for outcome in standing.values()) for word in words.values()]
        assert "{} delivered, {} failed, {} in doubt".format(*counts) in out, out
    return {address: standing.get(address, "untried") for address in EVERYONE}


def _agrees(standing: dict[str, str], script: Script) -> None:
    """What the journal says of each recipient is what the server kept."""
    copies = script.copies()
    for address in EVERYONE:
        kept = copies[address]
        allowed = {"delivered": {1}, "failed": {0}, "untried": {0}, "in doubt": {0, 1}}[standing[address]]
        assert kept in allowed, f"{address}: {standing[address]} but the server kept {kept} copies"
    assert set(copies) <= set(EVERYONE)


@pytest.mark.parametrize("connections", [1, 4], ids=["1-connection", "4-connections"])
@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_what_a_broken_server_kept_is_what_the_journal_says(cli: CLI, case: Case, connections: int) -> None:
    script = Script(case.fault, only=case.only, times=case.times, pipelining=case.pipelining)
    script.trickle_seconds = 0.2
    with scripted_smtp(script) as port:
        _configure(port, connections=connections)
        code, out, err = _send(cli)
        assert "Traceback" not in out + err
        first = _standing(cli)
        for address in EVERYONE:
            assert first[address] in case.outcomes(address), (address, out + err)
        _agrees(first, script)
        assert code == (0 if set(first.values()) == {"delivered"} else 3), out + err
        for line in (out + err).splitlines():
            assert line.isprintable(), line

        script.behave("none")  # the server mended: the rest go, nobody twice
        code, out, err = _send(cli)
        again = _standing(cli)
        _agrees(again, script)
        for address in EVERYONE:
            assert again[address] == ("in doubt" if first[address] == "in doubt" else "delivered")
        assert max(script.copies().values()) == 1, "nobody receives the message twice"
        assert code == 0, out + err  # a doubt is told by the run that found it, not by every rerun
        doubts = sum(standing == "in doubt" for standing in again.values())
        assert (f"{doubts} in doubt, reported by an earlier run" in out) == bool(doubts), out
        assert "in doubt:" not in err, err


def test_a_refused_mail_from_never_carries_a_message_even_when_data_is_opened(cli: CLI) -> None:
    """The probe's server: 552 to MAIL, yet 250 to the pipelined RCPT and 354 to DATA. The client
    ends nothing it could take for a message (no content, no final dot): it hangs up."""
    script = Script("552-at-mail-then-data")
    with scripted_smtp(script) as port:
        _configure(port)
        code, out, err = _send(cli)
    assert code == 3, out + err
    assert "sent 0 of 5 by SMTP" in out
    assert f"failed: {ASA}: 552 5.3.4 message size exceeds fixed maximum message size" in err
    assert script.data_complete == [], "no DATA was ended, not even an empty one"
    assert script.copies() == {}


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN", "PLAIN LOGIN"])
def test_a_refused_login_echoing_the_auth_lines_shows_no_part_of_the_password(
    cli: CLI, monkeypatch: pytest.MonkeyPatch, mechanism: str
) -> None:
    script = Script("535-echoing-auth", auth_mechanisms=mechanism)
    monkeypatch.setenv("ANNOUNCER_SMTP_PASSWORD", PASSWORD)
    with scripted_smtp(script) as port:
        _configure(port, username=USERNAME)
        code, out, err = _send(cli)
    assert code == 3, out + err
    assert f"login as {USERNAME} refused: 535 5.7.8" in err
    assert "check the password in the environment variable ANNOUNCER_SMTP_PASSWORD" in err
    sent = b" ".join(script.auth_lines).decode()
    forms = _forms(USERNAME, PASSWORD)
    assert any(form in sent for form in forms), "the server was sent (and echoed) a form of the password"
    for form in forms:
        assert form not in out + err
    for word in PASSWORD.split():
        assert word not in out + err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert errors == err.strip().splitlines()[-1:], "the server's words on the error's one line"
    assert "[hidden]" in err


def _forms(user: str, password: str) -> list[str]:
    """Every form in which a client sends the password: itself, and the base64 of AUTH LOGIN and
    of the AUTH PLAIN blob (empty or repeated authorisation identity), padded or not."""
    blobs = [password, f"\0{user}\0{password}", f"{user}\0{user}\0{password}"]
    encoded = [base64.b64encode(blob.encode()).decode() for blob in blobs]
    return [password, *encoded, *(form.rstrip("=") for form in encoded)]


@settings(max_examples=200, deadline=None)
@given(
    user=st.text(st.characters(codec="utf-8", exclude_characters="\0"), max_size=20),
    password=st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
    before=st.text(max_size=200),
    after=st.text(max_size=200),
    which=st.integers(0, 6),
    split=st.integers(0, 80),
)
def test_no_form_of_the_password_survives_in_what_a_server_says(
    user: str, password: str, before: str, after: str, which: int, split: int
) -> None:
    forms = _forms(user, password)
    form = forms[which]
    cut = split % (len(form) + 1)
    said = f"{before}{form[:cut]}\n{form[cut:]}{after}" if split > 40 else f"{before}{form}{after}"
    shown = _Shown.hiding(user, password)(said.encode())
    assert shown.isprintable(), "one line, no control, invisible or direction-changing character"
    assert len(shown) <= 300
    for secret in forms:
        assert secret not in shown


def test_what_a_server_says_is_kept_as_it_said_it_when_it_holds_no_secret() -> None:
    shown = _Shown.hiding(USERNAME, PASSWORD)
    assert shown(b"250 2.0.0 Ok: queued as 4F2a9\r\n") == "250 2.0.0 Ok: queued as 4F2a9"
    assert shown.reply(550, b"5.1.1 <zoe.martin@example.net>:\nno such user") == (
        "550 5.1.1 <zoe.martin@example.net>: no such user"
    )
    assert shown(b"\x1b[31mred\xe2\x80\xae evil\x00") == "\ufffd[31mred\ufffd evil\ufffd"
    assert len(shown(b"x" * 100_000)) == 300


def test_a_server_that_talks_on_and_on_is_cut_off(cli: CLI) -> None:
    script = Script("junk-after-data", only=ZOE)
    with scripted_smtp(script) as port:
        _configure(port)
        code, _, err = _send(cli)
    assert code == 3
    assert re.search(rf"in doubt: {re.escape(ZOE)}: .*the server's reply went on past 100 lines", err), err
