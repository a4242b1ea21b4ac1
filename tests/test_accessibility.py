"""What a screen reader meets: the Email Markup Consortium's automated criteria on every kind of
message in every language, on the site's pages, and each criterion failing where it should."""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pytest

from announcer.accessibility import barriers, read_markup
from announcer.render.theme import compile_mjml
from tests.helpers import CLI, EXAMPLE_EVENT, read_message

PASSING = (
    '<html lang="sv" dir="ltr"><head><title>Seminarium</title></head><body>'
    '<table role="presentation"><tr><td><img src="https://example.org/a.png" alt="">'
    '<a href="https://example.org/talk">Programmet för mars</a>'
    '<a href="https://example.org/x"><img src="https://example.org/logo.png" alt="Institutionen"></a>'
    '<a href="https://example.org/y" aria-label="Läs mer: Celler">Läs mer</a>'
    "</td></tr></table></body></html>"
)


def test_a_document_that_meets_every_criterion_has_no_barrier() -> None:
    assert barriers(read_markup(PASSING), "sv") == []


@pytest.mark.parametrize(
    ("old", "new", "said"),
    [
        ('lang="sv"', "", "says its language is None"),
        ('lang="sv"', 'lang="en"', "says its language is 'en', not 'sv'"),
        ('dir="ltr"', "", "which way its text runs"),
        ('dir="ltr"', 'dir="sideways"', "which way its text runs"),
        ("<title>Seminarium</title>", "<title> </title>", "has no title"),
        ('<table role="presentation">', "<table>", '1 layout table(s) without role="presentation"'),
        ('alt=""', "", "https://example.org/a.png has no alt text"),
        ('alt="Institutionen"', 'alt=""', "a link to https://example.org/x says nothing"),
        ("Programmet för mars", "Klicka här", "a link says only 'Klicka här'"),
        (' aria-label="Läs mer: Celler"', "", "a link says only 'Läs mer'"),
    ],
)
def test_each_criterion_names_what_fails_it(old: str, new: str, said: str) -> None:
    assert old in PASSING
    found = barriers(read_markup(PASSING.replace(old, new, 1)), "sv")
    assert len(found) == 1, found
    assert said in str(found[0])


def test_every_kind_in_every_language_passes_and_the_pre_flight_says_so(cli: CLI) -> None:
    lists = ("--to", "recipients/multilingual.csv")
    _, out, err = cli("check", "events", *lists, "--from", "2026-03-02", "--today", "2026-03-02")
    assert "accessibility" not in err
    assert not re.search(r"(?m)^\s*error\s+accessibility", out), out
    inspected = len(re.findall(r"(?m)^pre-flight: .+, ", out))
    passed = len(re.findall(r"(?m)^\s*passed\s+accessibility: what a screen reader needs", out))
    assert inspected >= 20, out  # invitations, with --rsvp, cancellations, reminders, the digest
    assert passed == inspected, out


def test_an_organiser_s_vague_link_is_a_warning_that_names_their_text_not_the_theme(cli: CLI) -> None:
    event = Path(EXAMPLE_EVENT)
    event.write_text(
        event.read_text().replace(
            "abstract: |\n", "abstract: |\n  Slides are [here](https://example.org/slides).\n\n", 1
        )
    )
    code, out, _ = cli("check", EXAMPLE_EVENT, "--today", "2026-03-02")
    assert code == 0, out
    assert re.search(
        r"(?m)^\s*warning\s+accessibility: a link says only 'here'.*https://example.org/slides", out
    )
    assert "the link's words in the event's texts" in out
    assert not re.search(r"(?m)^\s*error\s+accessibility", out)


def test_the_email_s_label_is_its_title_as_written_not_escaped(cli: CLI) -> None:
    assert cli("digest", "events", "--to", "recipients/multilingual.csv", "--from", "2026-03-02")[0] == 0
    for path in Path("outbox/digest-2026-03-02").glob("*.eml"):
        html = str(read_message(path).get_body(("html",)).get_content())  # type: ignore[union-attr]
        label = re.search(r"<div aria-label=(['\"])(.*?)\1 aria-roledescription=\"email\"", html)
        assert label is not None
        assert "\\u{" not in label.group(2), "MJML wrote a thin space as \\u{2009}, read letter by letter"
        title = re.search(r"<title>(.*?)</title>", html)
        assert title is not None
        assert unescape(label.group(2)) == unescape(title.group(1))
        assert barriers(read_markup(html), str(read_message(path)["Content-Language"])) == []


def test_a_title_with_quotes_and_accents_labels_the_email_whole() -> None:
    mjml = (
        "<mjml><mj-head><mj-title>Sæther &amp; &#34;Cells&#34; e\u0301</mj-title></mj-head>"
        "<mj-body><mj-section><mj-column><mj-text>x</mj-text></mj-column></mj-section></mj-body></mjml>"
    )
    html = compile_mjml(mjml, "test")
    assert "aria-label='Sæther &amp; \"Cells\" e\u0301'" in html


def test_the_site_s_pages_meet_the_criteria(cli: CLI) -> None:
    assert cli("site", "--out", "public")[0] == 0
    pages = list(Path("public").rglob("*.html"))
    assert len(pages) >= 5
    for page in pages:
        html = page.read_text(encoding="utf-8")
        language = re.search(r'<html lang="([^"]+)"', html)
        assert language is not None, page
        assert barriers(read_markup(html), language.group(1)) == [], page
