"""The composer joins each message from parts encoded once: it must read back, part by part,
exactly as the stdlib's own message for the same recipient does."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from announcer.lifecycle import CANCELLED, Edition
from announcer.load.events import load_named
from announcer.model.recipient import Recipient
from announcer.model.settings import Letterhead, Settings
from announcer.model.text import line_problem
from announcer.model.window import Window
from announcer.render.content import RenderedContent, Renderer
from tests.helpers import (
    EXAMPLE_EVENT,
    SHARED_HEADERS,
    composer,
    parts,
    read_message,
    render_digest_of,
    to_name_and_address,
)
from tests.stdlib_composer import stdlib_message

SECRET = "a-secret-for-tokens"
READERS = [
    Recipient("plain@example.org"),
    Recipient("asa.lindqvist@example.org", "Åsa Lindqvist", {"team": "Tumour <immunology> & co"}),
    Recipient(
        "quoted@example.org",
        'O\'Brien, "Pat" \\ Jr.',
        {"timezone": "America/New_York"},
        timezone=ZoneInfo("America/New_York"),
    ),
    Recipient(
        "cjk@example.org", "陈伟 (Chen Wei)", {"timezone": "Asia/Tokyo"}, timezone=ZoneInfo("Asia/Tokyo")
    ),
    Recipient("long@example.org", "Siobhán " * 60 + "Ó Conaill"),
    Recipient("ascii.long@example.org", "Bartholomew " * 30 + "Smith"),
    Recipient("spaces@example.org", "  two  spaces  "),
]


def _contents(settings: Settings) -> dict[str, RenderedContent]:
    named = load_named(Path(EXAMPLE_EVENT), settings.defaults)
    uid = "2026-03-06-car-t-cell-therapy@example.org"
    renderer = Renderer(Letterhead.of(settings))
    before = {"Time": "2026-03-06T10:00:00+01:00/2026-03-06T11:00:00+01:00/Europe/Stockholm"}
    return {
        "invitation": renderer.render_event(named, Edition(uid, 0, "f")),
        "rsvp": renderer.render_event(named, Edition(uid, 0, "f", rsvp=True)),
        "update": renderer.render_event(named, Edition(uid, 1, "g", before, rsvp=True)),
        "cancellation": renderer.render_event(named, Edition(uid, 2, CANCELLED, rsvp=True)),
        "digest": render_digest_of(settings, Window(date(2026, 3, 2), 7)),
    }


def _assert_same(content: RenderedContent, settings: Settings, reader: Recipient) -> None:
    ours = read_message(composer(content, settings, SECRET).compose(reader).data)
    theirs = read_message(stdlib_message(content, settings, reader, SECRET).as_bytes())
    for name in SHARED_HEADERS:
        assert str(ours[name]) == str(theirs[name]), name
    assert to_name_and_address(ours) == (reader.name or "", reader.email)
    assert ours["MIME-Version"] == "1.0"
    assert parts(ours) == parts(theirs)
    assert all(part.defects == [] for part in ours.walk())


@pytest.mark.parametrize("kind", ["invitation", "rsvp", "update", "cancellation", "digest"])
def test_every_kind_of_message_reads_back_as_the_stdlib_s(kind: str, settings: Settings) -> None:
    content = _contents(settings)[kind]
    for reader in READERS:
        _assert_same(content, settings, reader)


def test_lines_stay_within_rfc_5322_and_bodies_are_ascii(settings: Settings) -> None:
    for content in _contents(settings).values():
        data = composer(content, settings, SECRET).compose(READERS[4]).data
        assert data.isascii()
        assert max(len(line) for line in data.split(b"\r\n")) <= 998
        assert b"\n" not in data.replace(b"\r\n", b""), "CRLF line ends only"


def test_no_line_starts_with_a_dot_and_encoded_lines_stay_within_76(settings: Settings) -> None:
    """SMTP need double no dot (RFC 5321 §4.5.2): the example's HTML has a line of CSS that starts
    with one, and a name may too; quoted-printable lines stay within RFC 2045's 76 characters."""
    dotted = Recipient("dot@example.org", ".Dot " + "Dotson " * 12, {"team": ".team"})
    for content in _contents(settings).values():
        message = composer(content, settings, SECRET).compose(dotted)
        lines = message.data.split(b"\r\n")
        assert not [line for line in lines if line.startswith(b".")]
        body = message.data.partition(b"\r\n\r\n")[2]
        assert max(len(line) for line in body.split(b"\r\n")) <= 76
        _assert_same(content, settings, dotted)
    assert b"\r\n=2E" in composer(_contents(settings)["invitation"], settings, SECRET).compose(dotted).data


_LINE = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=80).filter(
    lambda text: text.strip() == text and line_problem(text) is None
)


@hypothesis_settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=_LINE, team=_LINE)
def test_any_name_and_field_a_list_may_hold_reads_back_as_the_stdlib_s(
    name: str, team: str, settings: Settings
) -> None:
    content = _contents_once(settings)
    _assert_same(content, settings, Recipient("someone@example.org", name, {"team": team}))


_CACHE: dict[str, RenderedContent] = {}


def _contents_once(settings: Settings) -> RenderedContent:
    """The RSVP invitation rendered once for all examples (a render takes a while)."""
    if "rsvp" not in _CACHE:
        _CACHE["rsvp"] = _contents(settings)["rsvp"]
    return _CACHE["rsvp"]
