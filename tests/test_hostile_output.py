"""What we write stays readable by its readers whatever the input held: feeds, calendars, renders."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Calendar

from announcer.render.site import _xml_text
from tests.helpers import CLI, EXAMPLE_EVENT

EXAMPLES = 5000 if os.environ.get("CI") else 500


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.text())
def test_any_text_in_the_atom_feed_is_a_well_formed_xml_text(text: str) -> None:
    shown = _xml_text(text)
    element = ElementTree.fromstring(f"<t>{escape(shown)}</t>".encode(errors="surrogatepass"))
    assert (element.text or "") == shown.replace("\r\n", "\n").replace("\r", "\n")
    assert len(shown) == len(text), "each character kept or shown as U+FFFD, none dropped"


def _replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path} no longer holds {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize("character", ["\ufffe", "\uffff", "\ufdd0", "\U0010ffff"])
def test_a_noncharacter_in_a_title_is_refused_where_it_stands(cli: CLI, character: str) -> None:
    event = Path(EXAMPLE_EVENT)
    escaped = f"\\U{ord(character):08X}"  # YAML refuses the character itself, not its escape
    _replace_in(event, 'title: "CAR T Cell Therapy', f'title: "CAR T{escaped} Cell Therapy')
    code, out, err = cli("site", "--out", "public")
    assert code == 4, "the rest of the site is written, the broken event named: " + out + err
    assert f"{EXAMPLE_EVENT}:3: title: holds U+{ord(character):04X}, which is not a character" in err
    assert not list(Path("public").rglob("*car-t-cell-therapy*")), "no page for the event left out"
    assert character not in "".join(page.read_text() for page in Path("public").rglob("*.html"))


def test_a_series_description_of_two_paragraphs_reaches_both_feeds_as_plain_text(cli: CLI) -> None:
    _replace_in(
        Path("series/onkpat.yaml"),
        "description: >\n  Friday lunchtime talks",
        "description: |\n  Lunch *talks*, with [a link](https://example.org).\n\n"
        "  Second paragraph.\n\n  Friday lunchtime talks",
    )
    code, out, err = cli("site", "--out", "public")
    assert code == 0, out + err
    calendar = Calendar.from_ical((Path("public") / "onkpat.ics").read_bytes())
    description = "Lunch talks, with a link (https://example.org).\n\nSecond paragraph."
    assert str(calendar["DESCRIPTION"]).startswith(description)
    escaped = description.replace(",", "\\,").replace("\n", "\\n")  # icalendar leaves X- names as written
    assert str(calendar["X-WR-CALDESC"]).startswith(escaped)
    feed = feedparser.parse((Path("public") / "onkpat.atom").read_bytes())
    assert not feed.bozo, feed.get("bozo_exception")
    assert feed.feed.subtitle.startswith(description)


def test_render_of_a_workspace_whose_unsubscribe_url_holds_a_token_shows_the_url_as_written(cli: CLI) -> None:
    _replace_in(
        Path("announcer.toml"),
        'unsubscribe_url = "https://lists.example.org/onkpat-seminars/unsubscribe"',
        'unsubscribe_url = "https://lists.example.org/onkpat-seminars/unsubscribe/{token}"',
    )
    code, out, err = cli("render", EXAMPLE_EVENT, "-o", "rendered")
    assert code == 0, out + err
    text = next(Path("rendered").glob("*.txt")).read_text()
    assert "https://lists.example.org/onkpat-seminars/unsubscribe/{token}" in text


@pytest.mark.parametrize(
    "verb",
    [
        ("init", "{blocked}/workspace"),
        ("render", EXAMPLE_EVENT, "-o", "{blocked}/rendered"),
        ("site", "--out", "{blocked}/site"),
        ("new", "onkpat", "--date", "2031-05-16", "--events", "{blocked}/events"),
    ],
    ids=lambda verb: verb[0],
)
def test_a_place_that_cannot_be_written_is_named_not_a_traceback(cli: CLI, verb: tuple[str, ...]) -> None:
    blocked = Path("a-file")
    blocked.write_text("not a folder\n")
    code, out, err = cli(*(part.format(blocked=blocked) for part in verb))
    assert code == 1, out + err
    assert err.startswith("error: a-file/"), err
    assert err.rstrip().endswith("Not a directory"), err
    assert "Traceback" not in err
