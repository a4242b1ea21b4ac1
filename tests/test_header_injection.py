"""Header text reads back as written, whatever it holds: no encoded word of the input is decoded.

RFC 2047 encoded words are decoded by readers leniently (white space inside, any charset, a
payload that is a lone CR or LF), so no refusal of their form can be complete. These tests
generate the forms a probe used, in every header-bearing field, and read what we write with the
stdlib's parsers: each header must hold exactly the text it was given, and no other header may
appear.
"""

from __future__ import annotations

import base64
import dataclasses
import itertools
import os
import quopri
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from announcer import clock
from announcer.compose import headers
from announcer.compose.headers import HEADERS_WRITTEN
from announcer.model.recipient import Recipient
from announcer.model.settings import Settings
from announcer.render.content import RenderedContent
from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, composer, render_event, write

EXAMPLES = 5000 if os.environ.get("CI") else 500
INJECTED = "\r\nBcc: victim@evil.example"
PAYLOADS = [INJECTED, "\r", "\n", "\r\n", "\n\nbody", "\x00", "\r\nX-Injected: 1", "\u2028"]
CHARSETS = ["utf-8", "UTF-8", "iso-8859-1", "us-ascii", "windows-1252", "koi8-r", "utf-8*en", "UTF8", ""]


@st.composite
def encoded_words(draw: st.DrawFn) -> str:
    """An RFC 2047 encoded word in one of the many forms readers decode, carrying a payload
    that would make a line or a header if it were decoded."""
    payload = draw(st.sampled_from(PAYLOADS)).encode("latin-1", errors="ignore") or b"\r\n"
    encoding = draw(st.sampled_from("qQbB"))
    if encoding in "qQ":
        body = quopri.encodestring(payload, header=True).decode().replace("=\n", "")
        body = "".join(f"={byte:02X}" for byte in payload) if draw(st.booleans()) else body
    else:
        body = base64.b64encode(payload).decode()
    charset = draw(st.sampled_from(CHARSETS))
    parts = ["=?", charset, "?", encoding, "?", body, "?="]
    gaps = draw(st.lists(st.sampled_from([" ", "\t", "  "]), max_size=len(parts)))
    for place, gap in zip(draw(st.permutations(range(1, len(parts)))), gaps, strict=False):
        parts[place] = gap + parts[place]  # white space inside the word, where lenient readers skip it
    word = "".join(parts)
    before = draw(st.sampled_from(["", "Eve ", "Talk: ", "Åsa "]))
    after = draw(st.sampled_from(["", " Lindqvist", "=?", "?=", " =?utf-8?q?x?="]))
    return before + word + after


ANY_TEXT = st.one_of(
    encoded_words(),
    st.text(min_size=1, max_size=200),
    st.text(alphabet=st.sampled_from("=? qQbB\r\n\t:-_aÅ"), min_size=1, max_size=60),
)
SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _parsed(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _reads_back(actual: str, value: str) -> bool:
    """Whether a header written from `value` read back as it: every character, control characters
    shown as U+FFFD; for literal text, up to the white space at its ends (readers trim it)."""
    shown = headers.one_line(value)
    return actual.strip() == shown.strip() if headers.literal(shown) else actual == shown


def display_name(message: EmailMessage, field: str) -> str:
    """The display name as RFC 2047 reads it. The stdlib's address parser puts a space between
    adjacent encoded words (section 6.2 says to drop the white space there), so an encoded name is
    decoded the RFC's way, from the raw header; a literal one is the parser's."""
    raw = next(value for name, value in message.raw_items() if name == field)
    phrase = raw[: raw.rindex("<")].strip()
    if phrase.startswith("=?"):
        return str(make_header(decode_header(phrase)))
    return str(message[field].addresses[0].display_name)


def _only_expected_headers(message: EmailMessage) -> None:
    stray = {name for name in message if name.lower() not in HEADERS_WRITTEN}
    assert stray == set(), stray
    for name in ("From", "To", "Subject", "List-Id"):
        assert len(message.get_all(name) or []) <= 1, name
    for name, value in message.items():
        assert "\r" not in str(value), name
        assert "\n" not in str(value), name


@SETTINGS
@given(text=ANY_TEXT)
def test_a_subject_reads_back_as_the_text_it_was_given(text: str) -> None:
    line = headers.unstructured("Subject", text)
    assert all(len(part) <= 78 for part in line.split(b"\r\n")) or headers.literal(text)
    message = _parsed(line + b"\r\n")
    assert message.keys() == ["Subject"]
    assert _reads_back(str(message["Subject"]), text)


@SETTINGS
@given(name=ANY_TEXT, field=st.sampled_from(["From", "To"]))
def test_a_display_name_reads_back_as_the_text_it_was_given(name: str, field: str) -> None:
    line = headers.mailbox(field, name, "anna.berg@example.org")
    assert all(len(part) <= 78 for part in line.split(b"\r\n")) or headers.literal(name)
    message = _parsed(line + b"\r\n")
    assert message.keys() == [field]
    (address,) = message[field].addresses
    assert address.addr_spec == "anna.berg@example.org"
    assert _reads_back(display_name(message, field), name)


@pytest.fixture(scope="module")
def content(tmp_path_factory: pytest.TempPathFactory) -> tuple[RenderedContent, Settings]:
    from announcer.load.settings import load_settings
    from tests.helpers import ROOT

    folder = tmp_path_factory.mktemp("workspace")
    (folder / "announcer.toml").write_bytes((ROOT / "announcer.toml").read_bytes())
    loaded = load_settings(folder / "announcer.toml")
    return render_event(loaded, ROOT / EXAMPLE_EVENT), loaded


@SETTINGS
@given(subject=ANY_TEXT, sender=ANY_TEXT, reader=ANY_TEXT)
def test_whatever_the_subject_sender_and_reader_hold_the_message_has_only_its_own_headers(
    content: tuple[RenderedContent, Settings], subject: str, sender: str, reader: str
) -> None:
    rendered, loaded = content
    hostile = loaded.model_copy(
        update={"sender": loaded.sender.model_copy(update={"name": sender})}
    )  # past the model's checks: the composer alone must hold
    made = composer(dataclasses.replace(rendered, subject=subject), hostile, None)
    message = _parsed(made.compose(Recipient(email="anna.berg@example.org", name=reader)).data)
    _only_expected_headers(message)
    assert _reads_back(str(message["Subject"]), subject)
    assert _reads_back(display_name(message, "From"), sender)
    assert _reads_back(display_name(message, "To"), reader)
    assert message["To"].addresses[0].addr_spec == "anna.berg@example.org"


# Forms that pass the model's helpful refusal (it matches the plain form only) and so reach a header.
LENIENT = [
    "=?utf-8 ?q?Eve=0D=0ABcc:_victim@evil.example?=",
    "=? utf-8?q?Eve=0ABcc:_victim@evil.example?=",
    "=?iso-8859-1?q?Eve=0D=0ABcc:_victim@evil.example ?=",
    "Talk =?utf-8?b?DQpCY2M6IHZpY3RpbUBldmlsLmV4YW1wbGU= ?=",
    "=?utf-8?q?Eve=0A Bcc:_victim@evil.example?=",
]


def _messages(folder: Path) -> list[EmailMessage]:
    written = sorted(folder.rglob("*.eml"))
    assert written, f"nothing written in {folder}"
    return [_parsed(path.read_bytes()) for path in written]


def _put(path: str, old: str, new: str) -> None:
    text = Path(path).read_text(encoding="utf-8")
    assert old in text, f"{path} no longer holds {old!r}"
    Path(path).write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.mark.parametrize("hostile", LENIENT)
def test_lenient_encoded_words_in_every_field_reach_each_message_as_literal_text(
    cli: CLI, workspace: Path, hostile: str
) -> None:
    quoted = hostile.replace('"', '\\"')
    _put(EXAMPLE_EVENT, 'title: "CAR T Cell Therapy', f'title: "{quoted} CAR T Cell Therapy')
    _put(EXAMPLE_EVENT, "- name: Dimitrios Mougiakakos", f'- name: "{quoted}"')
    _put("series/onkpat.yaml", "name: Air & Fire", f'name: "{quoted}"')
    _put("announcer.toml", 'name = "OnkPat Friday Seminar"', f'name = "{quoted}"')
    write(Path("recipients/hostile.csv"), f'email,name\nanna.berg@example.org,"{hostile}"\n')
    to = ("--to", "recipients/hostile.csv")

    assert cli("send", EXAMPLE_EVENT, *to, "--outbox", "sent")[0] == 0
    with clock.pinned(datetime(2026, 3, 6, 10, tzinfo=UTC), (f"t{n}" for n in itertools.count())):
        assert cli("remind", *to, "--outbox", "reminded")[0] == 0
    assert (
        cli("digest", "events", "--to", EXAMPLE_RECIPIENTS, "--from", "2026-03-02", "--outbox", "digest")[0]
        == 0
    )
    assert cli("cancel", EXAMPLE_EVENT, *to, "--outbox", "cancelled")[0] == 0
    for folder in ("sent", "reminded", "cancelled", "digest"):
        for message in _messages(Path(folder)):
            _only_expected_headers(message)
            assert "Bcc" not in message
            assert display_name(message, "From") == hostile
            if folder != "digest":
                assert hostile in str(message["Subject"])
                assert display_name(message, "To") == hostile
    speaker_and_venue = [
        str(message["Subject"]) for message in _messages(Path("sent")) + _messages(Path("reminded"))
    ]
    assert all(subject.count(hostile) == 2 for subject in speaker_and_venue), speaker_and_venue


def test_a_lone_surrogate_reaches_a_header_as_a_replacement_character() -> None:
    """YAML's escapes can make one ("\\ud800"); the model refuses it, and the header holds anyway."""
    message = _parsed(headers.unstructured("Subject", "Talk \ud800 =?") + b"\r\n")
    assert str(message["Subject"]) == "Talk \ufffd =?"
