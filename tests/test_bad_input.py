"""Bad input gets a clear error naming its file, line and field, and nothing is written."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest

from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, write

GOOD_EVENT = """\
title: A talk
start: 2026-04-10 15:00
speakers:
  - name: Ada Example
    affiliation: Example University
abstract: |
  First paragraph.

  Second paragraph.
"""


def _send(cli: CLI, event: str = EXAMPLE_EVENT, to: str = EXAMPLE_RECIPIENTS) -> tuple[int, str]:
    code, out, err = cli("send", event, "--to", to)
    return code, out + err


def _assert_nothing_written() -> None:
    outbox = Path("outbox")
    assert not outbox.exists() or not any(outbox.rglob("*.eml")), "nothing may reach the outbox"


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        pytest.param(
            GOOD_EVENT.replace("  - name: Ada Example\n", "  - title: Dr\n"),
            "events/bad.yaml:4: speakers[0].name: required, but missing",
            id="missing-field",
        ),
        pytest.param(
            GOOD_EVENT + "titel: Typo\n",
            "events/bad.yaml:10: titel: unknown key (did you mean 'title'?)",
            id="unknown-key",
        ),
        pytest.param(
            GOOD_EVENT + "timezone: Europe/Stockholmm\n",
            "events/bad.yaml:10: timezone: unknown time zone 'Europe/Stockholmm'",
            id="bad-zone",
        ),
        pytest.param(
            GOOD_EVENT + "end: 2026-04-10 14:00\n",
            "events/bad.yaml:10: end: 2026-04-10 14:00 is not after start 2026-04-10 15:00",
            id="end-before-start",
        ),
        pytest.param(
            GOOD_EVENT.replace("title: A talk", 'title: "A talk\\r\\nBcc: victim@example.org"'),
            "events/bad.yaml:1: title: must be one line: it holds a line break",
            id="crlf-in-title",
        ),
        pytest.param(
            GOOD_EVENT.replace("start: 2026-04-10 15:00", "start: 2026-03-29 02:30"),
            "events/bad.yaml:2: start: 2026-03-29 02:30 does not exist in Europe/Stockholm",
            id="time-in-dst-gap",
        ),
        pytest.param(
            GOOD_EVENT + "title: Again\n",
            "events/bad.yaml:10: title: appears twice in the same block",
            id="duplicate-key",
        ),
        pytest.param(
            GOOD_EVENT.replace("start: 2026-04-10 15:00", "start: next Friday"),
            "events/bad.yaml:2: start: 'next Friday' is not a date and time",
            id="bad-date",
        ),
        pytest.param("title: [unclosed\n", "events/bad.yaml:2: not valid YAML", id="yaml-syntax"),
        pytest.param("", "events/bad.yaml: the file is empty", id="empty-file"),
        pytest.param(
            GOOD_EVENT.replace("abstract: |", "abstract: 12\nx: |"),
            "events/bad.yaml:6: abstract: needs text here",
            id="wrong-type",
        ),
    ],
)
def test_bad_event_is_located_and_nothing_is_sent(cli: CLI, yaml_text: str, expected: str) -> None:
    write(Path("events/bad.yaml"), yaml_text)
    code, output = _send(cli, "events/bad.yaml")
    assert code == 1, output
    assert f"error: {expected}" in output
    _assert_nothing_written()


def test_every_problem_is_reported_at_once(cli: CLI) -> None:
    write(Path("events/bad.yaml"), GOOD_EVENT.replace("title: A talk\n", "") + "venue: {room: 2.14}\n")
    code, output = _send(cli, "events/bad.yaml")
    assert code == 1
    assert "events/bad.yaml:1: title: required, but missing" in output
    assert "events/bad.yaml:9: venue.name: required, but missing" in output


def test_script_in_abstract_is_escaped_never_executed(cli: CLI) -> None:
    write(
        Path("events/talk.yaml"),
        GOOD_EVENT.replace(
            "First paragraph.", "First <script>alert('x')</script> paragraph <b onclick=x>bold</b>."
        ),
    )
    code, out, err = cli("check", "events/talk.yaml")
    assert code == 0, out + err
    assert "events/talk.yaml:7: abstract: raw HTML is shown as typed, not rendered: <script>" in err
    assert "events/talk.yaml:7: abstract: raw HTML is shown as typed, not rendered: <b onclick=x>" in err
    code, output = _send(cli, "events/talk.yaml")
    assert code == 0, output
    eml = next(Path("outbox/talk").glob("*.eml")).read_bytes()
    message = message_from_bytes(eml, policy=policy.default)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script" not in html.lower()
    assert "<b onclick" not in html
    assert "&lt;script&gt;alert('x')&lt;/script&gt;" in html
    assert "&lt;b onclick=x&gt;bold&lt;/b&gt;" in html
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "First <script>alert('x')</script> paragraph" in text  # plain text shows what was typed


@pytest.mark.parametrize(
    ("csv_text", "expected"),
    [
        pytest.param(
            "email,name\nok@example.org,Ok\nnot-an-address,Bad\n",
            "recipients/bad.csv:3: email: 'not-an-address' is not a valid email address",
            id="bad-address",
        ),
        pytest.param("email,name\n", "recipients/bad.csv: holds no recipients", id="empty-list"),
        pytest.param("", "recipients/bad.csv: is empty: it needs a header row", id="empty-file"),
        pytest.param(
            "mail,name\nok@example.org,Ok\n",
            "recipients/bad.csv:1: the header row has no `email` column",
            id="no-email-column",
        ),
        pytest.param(
            "email,name\nok@example.org,Ok,extra\n",
            "recipients/bad.csv:2: has 3 fields, the header has 2",
            id="extra-field",
        ),
        pytest.param(
            'email,name\nok@example.org,"Ok\nBcc: x@example.org"\n',
            "recipients/bad.csv:3: name: must be one line: it holds a line break",
            id="newline-in-name",
        ),
    ],
)
def test_bad_recipients_are_located_and_nothing_is_sent(cli: CLI, csv_text: str, expected: str) -> None:
    write(Path("recipients/bad.csv"), csv_text)
    code, output = _send(cli, to="recipients/bad.csv")
    assert code == 1, output
    assert f"error: {expected}" in output
    _assert_nothing_written()


def test_non_utf8_csv_names_the_line(cli: CLI) -> None:
    write(
        Path("recipients/bad.csv"),
        "email,name\nok@example.org,Ok\nasa@example.org,Åsa\n",
        encoding="latin-1",
    )
    code, output = _send(cli, to="recipients/bad.csv")
    assert code == 1
    assert "error: recipients/bad.csv:3: not UTF-8 (byte 0xc5); save the file as UTF-8" in output
    _assert_nothing_written()


def test_missing_recipients_file(cli: CLI) -> None:
    code, output = _send(cli, to="recipients/nobody.csv")
    assert code == 1
    assert "error: recipients/nobody.csv: not found" in output


_SENDER = '[sender]\nname = "S"\nemail = "s@example.org"\n'
_SMTP = _SENDER + '[smtp]\nhost = "h"\n'


@pytest.mark.parametrize(
    ("toml_text", "expected"),
    [
        pytest.param(
            '[sender]\nname = "S"\nemail = "s@example.org"\ncolour = "red"\n',
            "announcer.toml:4: [sender].colour: unknown key (known keys: name, email, reply_to)",
            id="unknown-key",
        ),
        pytest.param(
            '[sender]\nname = "S"\nemail = "nobody"\n',
            "announcer.toml:3: [sender].email: 'nobody' is not a valid email address",
            id="bad-sender",
        ),
        pytest.param(
            '[sender]\nname = "S"\nemail = "s@example.org"\n[brand]\naccent = "red"\n',
            "announcer.toml:5: [brand].accent: 'red' is not a colour",
            id="bad-colour",
        ),
        pytest.param(
            '[sender]\nname = "S"\nemail = "s@example.org"\n[defaults]\ntimezone = "Mars/Olympus"\n',
            "announcer.toml:5: [defaults].timezone: unknown time zone 'Mars/Olympus'",
            id="bad-zone",
        ),
        pytest.param(
            _SMTP + 'ca_file = "ca\\r\\nBcc: x.pem"\n',
            "announcer.toml:6: [smtp].ca_file: must be one line: it holds a line break",
            id="ca-file-line-break",
        ),
        pytest.param(
            _SENDER + '[dkim]\ndomain = "d"\nselector = "s"\nkey_file = "=?utf-8?q?k=0D=0A?=.pem"\n',
            "announcer.toml:7: [dkim].key_file: holds an encoded word",
            id="key-file-encoded-word",
        ),
        pytest.param(
            _SMTP + 'ca_file = "ca\u202egnp.pem"\n',
            "announcer.toml:6: [smtp].ca_file: holds an invisible or direction-changing character (U+202E)",
            id="ca-file-bidi",
        ),
        pytest.param(
            _SMTP + f'ca_file = "{"a" * 10_000}"\n',
            "announcer.toml:6: [smtp].ca_file: is 10,000 characters long: one line holds at most 500",
            id="ca-file-huge",
        ),
        pytest.param("[sender\n", "announcer.toml:1: not valid TOML", id="toml-syntax"),
        pytest.param(
            '[brand]\naccent = "#123456"\n',
            "announcer.toml: [sender]: required, but missing",
            id="no-sender",
        ),
    ],
)
def test_bad_settings_are_located(cli: CLI, toml_text: str, expected: str) -> None:
    write(Path("announcer.toml"), toml_text)
    code, output = _send(cli)
    assert code == 1, output
    assert f"error: {expected}" in output
    _assert_nothing_written()


def test_token_url_without_secret_is_refused(cli: CLI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANNOUNCER_UNSUBSCRIBE_SECRET", raising=False)
    settings = Path("announcer.toml").read_text()
    write(Path("announcer.toml"), settings.replace('/unsubscribe"', '/unsubscribe/{token}"'))
    code, output = _send(cli)
    assert code == 1
    assert "ANNOUNCER_UNSUBSCRIBE_SECRET" in output
    _assert_nothing_written()


def test_missing_settings_file(cli: CLI) -> None:
    Path("announcer.toml").unlink()
    code, output = _send(cli)
    assert code == 1
    assert (
        "error: announcer.toml: not found: run announcer in your workspace, "
        "or name the file with --config" in output
    )
