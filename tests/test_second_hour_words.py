"""The second hour's words, in every language we write: greetings as people write them to a
colleague (a list may give `given_name` or `greeting`), publication months in the reader's
language, and a plain text whose lines stay within 78 characters with the reader's own time."""

from __future__ import annotations

import re
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from announcer.lifecycle import CANCELLED, Edition
from announcer.load.events import load_named
from announcer.model.recipient import Recipient
from announcer.model.settings import Letterhead, Settings
from announcer.model.window import Window
from announcer.reader import greeting_form
from announcer.render.content import RenderedContent, Renderer
from announcer.render.digest import render_digest
from tests.helpers import CLI, EXAMPLE_EVENT, composer, read_message, render_event, write

LANGUAGES = ("en", "sv", "de")
LINE = 78  # the plain text's longest line (RFC 5322's advice)
NEW_YORK = ZoneInfo("America/New_York")


def _parts(content: RenderedContent, settings: Settings, reader: Recipient) -> tuple[str, str]:
    """The reader's HTML and text as their message carries them."""
    return composer(content, settings, "secret").personalised(reader)


# 1. Greetings


@pytest.mark.parametrize(
    ("language", "reader", "expected"),
    [
        ("en", Recipient("a@example.org", "Åsa Lindqvist", given_name="Åsa"), "Dear Åsa,"),
        ("en", Recipient("a@example.org", "Åsa Lindqvist"), "Dear Åsa Lindqvist,"),
        ("en", Recipient("a@example.org"), "Dear colleague,"),
        ("sv", Recipient("a@example.org", "Åsa Lindqvist", given_name="Åsa"), "Hej Åsa,"),
        ("sv", Recipient("a@example.org", "Åsa Lindqvist"), "Hej,"),  # never "Hej Åsa Lindqvist,"
        ("sv", Recipient("a@example.org"), "Hej,"),
        ("de", Recipient("a@example.org", "Anna Schmidt"), "Guten Tag Anna Schmidt,"),  # goes with Sie
        ("de", Recipient("a@example.org", "Anna Schmidt", given_name="Anna"), "Guten Tag Anna,"),
        ("de", Recipient("a@example.org"), "Guten Tag,"),
        (
            "de",
            Recipient(
                "a@example.org", "A. Schmidt", given_name="Anna", greeting="Sehr geehrte Frau Dr. Schmidt,"
            ),
            "Sehr geehrte Frau Dr. Schmidt,",
        ),
    ],
)
def test_each_language_greets_a_colleague_as_its_people_do(
    settings: Settings, language: str, reader: Recipient, expected: str
) -> None:
    html, text = _parts(render_event(settings, EXAMPLE_EVENT, language), settings, reader)
    assert f"\n{expected}\n" in text
    assert f">{expected}</p>" in html
    assert "Hallo" not in text, "German says Sie, so it does not say Hallo"


def test_a_reader_s_own_greeting_is_escaped_in_html_and_as_written_in_text(settings: Settings) -> None:
    reader = Recipient("a@example.org", "Eve", greeting='Hi <img src=x> & "Co",')
    html, text = _parts(render_event(settings, EXAMPLE_EVENT, "en"), settings, reader)
    assert '\nHi <img src=x> & "Co",\n' in text
    assert ">Hi &lt;img src=x&gt; &amp; &quot;Co&quot;,</p>" in html
    given = Recipient("a@example.org", "Eve", given_name="<b>Eve</b>")
    html, _ = _parts(render_event(settings, EXAMPLE_EVENT, "en"), settings, given)
    assert ">Dear &lt;b&gt;Eve&lt;/b&gt;,</p>" in html


def test_the_list_s_given_name_and_greeting_columns_reach_every_message(cli: CLI) -> None:
    write(
        Path("recipients/greeted.csv"),
        "email,name,given_name,greeting,language\n"
        "asa@example.org,Åsa Lindqvist,Åsa,,sv\n"
        "anna@example.org,Anna Schmidt,,Liebe Anna,de\n"
        "max@example.org,Max Weber,,,de\n",
    )
    assert cli("send", EXAMPLE_EVENT, "--to", "recipients/greeted.csv")[0] == 0
    expected = {
        "asa@example.org": "Hej Åsa,",
        "anna@example.org": "Liebe Anna",
        "max@example.org": "Guten Tag Max Weber,",
    }
    messages = [read_message(path) for path in Path("outbox").rglob("*.eml")]
    assert len(messages) == 3
    for message in messages:
        text = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        html = str(message.get_body(("html",)).get_content())  # type: ignore[union-attr]
        greeting = expected[str(message["To"]).split("<")[1].rstrip(">")]
        assert greeting in text.splitlines()
        assert f">{greeting}</p>" in html


@settings(max_examples=150, deadline=None)
@given(
    name=st.none() | st.text(max_size=20),
    given_name=st.none() | st.text(max_size=20),
    own=st.none() | st.text(max_size=20),
)
def test_the_greeting_rule_always_names_one_of_its_forms(
    name: str | None, given_name: str | None, own: str | None
) -> None:
    reader = Recipient("a@example.org", name, given_name=given_name, greeting=own)
    text, is_own = greeting_form(reader, "G", "N", "-")
    assert is_own == bool(own)
    assert text == (own if own else "G" if given_name else "N" if name else "-")


# 2. Publication months


def test_publication_months_are_named_in_the_reader_s_language(settings: Settings) -> None:
    for language, months in {"en": ("Jan", "Oct"), "sv": ("jan.", "okt."), "de": ("Jan", "Okt")}.items():
        content = render_event(settings, EXAMPLE_EVENT, language)
        assert f"Lancet 2026 {months[0]};407(10527):489-491" in content.text, language
        assert f"Ann Rheum Dis 2024 {months[1]};83(11)" in content.text, language
        assert f"</em> 2024 {months[1]};83(11)" in content.html, language


def test_a_month_in_other_words_stays_as_written(cli: CLI, settings: Settings) -> None:
    event = Path(EXAMPLE_EVENT)
    event.write_text(event.read_text().replace("month: Jan", "month: Winter", 1))
    assert "month: Winter" in event.read_text()
    assert " 2026 Winter;407" in render_event(settings, EXAMPLE_EVENT, "de").text


# 3. The plain text within 78 characters, the reader's own time on a line of its own


def _every_kind(settings: Settings, language: str) -> dict[str, RenderedContent]:
    named = load_named(Path(EXAMPLE_EVENT), settings.defaults)
    renderer = Renderer(Letterhead.of(settings))
    uid = "talk@example.org"
    before = {"Time": "2026-03-06T10:00:00+01:00/2026-03-06T11:00:00+01:00/Europe/Stockholm"}
    editions = {
        "invitation": Edition(uid, 0, "f"),
        "with --rsvp": Edition(uid, 0, "f", rsvp=True),
        "update": Edition(uid, 1, "g", before),
        "cancellation": Edition(uid, 2, CANCELLED),
        "reinstatement": Edition(uid, 3, "g", reinstates=True),
    }
    kinds = {name: renderer.render_event(named, edition, language) for name, edition in editions.items()}
    now = datetime(2026, 3, 5, 12, tzinfo=named.event.zone)
    kinds["reminder"] = renderer.render_reminder(named, editions["invitation"], "1d", now, language)
    window = Window(date(2026, 3, 2), 7)
    kinds["digest"] = render_digest(renderer, window, [(named, editions["invitation"])], language)
    return kinds


def _too_long(text: str) -> list[str]:
    """Lines over 78 characters, but a web address alone on its line (it cannot be broken)."""
    return [
        line
        for line in text.splitlines()
        if len(line) > LINE and not re.fullmatch(r"\s*(\S+: )?https://\S+", line)
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_line_of_any_kind_s_text_runs_past_78_with_the_reader_s_own_time(
    settings: Settings, language: str
) -> None:
    reader = Recipient("a@example.org", "Maria Rossi", language=language, timezone=NEW_YORK)
    for kind, content in _every_kind(settings, language).items():
        _, text = _parts(content, settings, reader)
        assert _too_long(text) == [], (kind, language)
        if kind != "cancellation":  # a cancellation says when the event was, not when to come
            own = {"en": "your time (EST)", "sv": "din tid (EST)", "de": "Ihre Zeit (EST)"}[language]
            [line] = [line for line in text.splitlines() if own in line]
            assert line.lstrip().startswith(("06:00", "Fri 06:00")), (kind, line)


def test_the_reader_s_own_time_is_its_own_line_under_the_when_line(settings: Settings) -> None:
    reader = Recipient("a@example.org", "Maria Rossi", timezone=NEW_YORK)
    _, text = _parts(render_event(settings, EXAMPLE_EVENT, "en"), settings, reader)
    when = "When:  Friday, 6 March 2026, 12:00–13:00 Stockholm time (CET)\n       06:00 your time (EST)\n"
    assert when in text
    _, text = _parts(render_event(settings, EXAMPLE_EVENT, "en"), settings, Recipient("b@example.org"))
    assert "Stockholm time (CET)\nWhere: " in text, "not even an empty line for a reader on the event's clock"
