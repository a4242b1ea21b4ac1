"""The pre-flight of `announcer check`: each finding made to happen, and the example passing clean."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from announcer import preflight
from announcer.accessibility import read_markup
from announcer.model.recipient import Recipient
from announcer.model.settings import Settings
from announcer.preflight import (
    Level,
    inspect_calendars,
    inspect_contrast,
    inspect_headers,
    inspect_images,
    inspect_links,
    read,
)
from announcer.render.clients import GMAIL_CLIP
from announcer.render.palette import Palette, palette_for
from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, composer, read_message, render_event, write

SMALL_EVENT = """\
title: A small talk
start: 2026-03-20 12:00
timezone: Europe/Stockholm
venue: Air & Fire
speakers:
  - name: Ada Lovelace
abstract: |
  A short abstract.
"""


def _check(cli: CLI, *arguments: str) -> tuple[int, dict[str, object]]:
    code, out, err = cli("check", *arguments, "--json")
    assert "Traceback" not in err
    return code, json.loads(out)


def _findings(report: dict[str, object], level: str) -> list[str]:
    messages = report["messages"]
    assert isinstance(messages, list)
    return [
        f"{finding['check']}: {finding['message']} | {finding['change']}"
        for message in messages
        for finding in message["findings"]
        if finding["level"] == level
    ]


@pytest.fixture
def no_spamassassin(monkeypatch: pytest.MonkeyPatch) -> None:
    """SpamAssassin takes seconds a message: these tests look at the other checks."""
    monkeypatch.setattr(preflight, "SPAMASSASSIN", None)


def test_the_example_passes_clean_for_every_kind_and_the_digest(cli: CLI, no_spamassassin: None) -> None:
    code, report = _check(
        cli, "events", "--to", EXAMPLE_RECIPIENTS, "--from", "2026-03-02", "--today", "2026-03-02"
    )
    assert code == 0, report
    assert report["ok"] is True
    assert _findings(report, "error") == []
    assert _findings(report, "warning") == []
    subjects = [message["message"] for message in report["messages"]]  # type: ignore[attr-defined]
    assert "events/2026-03-06-car-t-cell-therapy.yaml, the next send: invitation (SEQUENCE 0)" in subjects
    assert "events/2026-03-06-car-t-cell-therapy.yaml, with --rsvp: invitation (SEQUENCE 0)" in subjects
    assert (
        "events/2026-03-06-car-t-cell-therapy.yaml, announcer cancel: cancellation (SEQUENCE 0)" in subjects
    )
    assert "events: the digest of 2026-03-02" in subjects
    assert any("SpamAssassin is not installed here" in note for note in _findings(report, "note"))


def test_the_report_reads_as_a_list_of_findings(cli: CLI, no_spamassassin: None) -> None:
    code, out, _ = cli("check", EXAMPLE_EVENT)
    assert code == 0
    assert (
        "pre-flight: events/2026-03-06-car-t-cell-therapy.yaml, the next send: invitation (SEQUENCE 0)" in out
    )
    assert "  passed   size: the HTML is " in out
    assert "of the 102 KB Gmail shows" in out
    assert "pre-flight: 0 errors, 0 warnings" in out


def test_an_oversized_abstract_is_an_error_that_names_it(cli: CLI, no_spamassassin: None) -> None:
    long = ("Chimeric antigen receptors " * 40 + "\n\n") * 44  # 47,520 characters: a field holds 50,000
    event = yaml.safe_load(SMALL_EVENT)
    event.update(abstract=long, intro=long)
    event["speakers"][0]["bio"] = long[:30_000]
    write(Path("events/big.yaml"), yaml.safe_dump(event))
    code, report = _check(cli, "events/big.yaml")
    assert code == 1
    errors = _findings(report, "error")
    assert errors, report
    assert "Gmail clips the rest, the unsubscribe link with it" in errors[0]
    assert "The most room: the abstract " in errors[0]
    assert "; the introduction " in errors[0]
    assert "; Ada Lovelace's biosketch " in errors[0]
    assert errors[0].endswith("| events/big.yaml: abstract")


def test_a_yellow_accent_is_kept_readable_by_the_palette(cli: CLI, no_spamassassin: None) -> None:
    settings = Path("announcer.toml")
    settings.write_text(settings.read_text().replace('accent = "#7a1f52"', 'accent = "#ffdd00"'))
    code, report = _check(cli, EXAMPLE_EVENT)
    assert code == 0, _findings(report, "error")
    (contrast,) = [f for f in _findings(report, "passed") if f.startswith("contrast:")]
    assert "with accent #ffdd00, all 14 colour pairs read at 4.5:1 or more" in contrast


def test_a_palette_below_the_line_is_an_error_for_each_pair() -> None:
    yellow = Palette(accent="#ffdd00", tint=palette_for("#ffdd00").tint)  # the accent as given, untouched
    findings = inspect_contrast(yellow, "#ffdd00")
    assert {finding.level for finding in findings} == {Level.ERROR}
    assert "footer links read at 1.19:1, below 4.5:1" in [f.message for f in findings]
    assert findings[0].fix == "announcer.toml: [brand] accent"


def test_images_without_alt_embedded_or_over_http_are_found() -> None:
    html = (
        '<img src="https://example.org/a.png">'
        '<img src="data:image/png;base64,' + "A" * 4000 + '" alt="">'
        '<img src="http://example.org/c.png" alt="c">'
        '<img src="file:///etc/passwd" alt="d">'
    )
    findings = inspect_images(
        read_markup(html), {"https://example.org/a.png": "announcer.toml: [brand] logo_url, logo_alt"}
    )
    levels = [(f.level, f.message[:20]) for f in findings]
    assert levels == [
        (Level.ERROR, "https://example.org/"),
        (Level.WARNING, "data:image/png;base6"),
        (Level.WARNING, "http://example.org/c"),
        (Level.ERROR, "file:///etc/passwd c"),
    ]
    assert findings[0].fix == "announcer.toml: [brand] logo_url, logo_alt"
    assert "(3 KB); Gmail and Outlook do not show such images" in findings[1].message


def test_a_link_that_shows_one_address_and_goes_to_another_is_an_error(
    cli: CLI, no_spamassassin: None
) -> None:
    event = SMALL_EVENT + "links:\n  - label: www.ki.se\n    url: https://login.example.net/ki\n"
    write(Path("events/bait.yaml"), event)
    code, report = _check(cli, "events/bait.yaml")
    assert code == 1
    assert _findings(report, "error")[0] == (
        "links: the link text shows www.ki.se but goes to login.example.net | events/bait.yaml: links[0].url"
    )


@pytest.mark.parametrize(
    ("href", "text", "found"),
    [
        ("https://ki.se/page", "ki.se", None),
        ("https://www.ki.se/page", "https://ki.se", None),
        ("https://news.ki.se/x", "ki.se", None),  # a part of the site shown
        ("https://ki.se.example.net/", "ki.se", "shows ki.se but goes to ki.se.example.net"),
        ("https://evilki.se/", "ki.se", "shows ki.se but goes to evilki.se"),  # no dot: another site
        ("mailto:a@example.org", "b@example.org", "shows b@example.org but writes to a@example.org"),
        ("javascript:alert(1)", "click", "a mail client will not open this kind of link"),
        ("https://exa mple.org/", "x", "holds a space"),
        ("http://example.org/", "x", "plain http"),
        ("https://localhost/", "x", "not a web address"),
    ],
)
def test_links_are_judged_by_scheme_form_and_honesty(href: str, text: str, found: str | None) -> None:
    findings = inspect_links(read_markup(f'<a href="{href}">{text}</a>'), {})
    if found is None:
        assert [f.level for f in findings] == [Level.PASSED]
    else:
        assert found in findings[0].message


@pytest.mark.parametrize(
    ("share", "level"),
    [(0.89, Level.PASSED), (0.93, Level.WARNING), (0.99, Level.WARNING), (1.01, Level.ERROR)],
)
def test_the_html_is_judged_against_gmail_s_clip_with_a_margin(share: float, level: Level) -> None:
    room = [preflight.Room("the abstract", "events/x.yaml: abstract", 50_000)]
    [finding] = preflight.inspect_size("x" * int(GMAIL_CLIP * share), room)
    assert finding.level is level
    if level is not Level.PASSED:
        assert finding.fix == "events/x.yaml: abstract"


def test_list_mail_without_an_unsubscribe_is_an_error(cli: CLI, no_spamassassin: None) -> None:
    settings = Path("announcer.toml")
    text = settings.read_text()
    text = text.replace('unsubscribe_url = "https://lists.example.org/onkpat-seminars/unsubscribe"\n', "")
    settings.write_text(text.replace('unsubscribe_mailto = "onkpat-seminars-leave@example.org"\n', ""))
    code, report = _check(cli, EXAMPLE_EVENT)
    assert code == 1
    assert _findings(report, "error")[0] == (
        "headers: list mail without List-Unsubscribe: readers cannot leave the list from their mail client"
        " | announcer.toml: [list] unsubscribe_url"
    )


def test_dkim_for_another_domain_than_the_sender_is_an_error(
    cli: CLI, no_spamassassin: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    monkeypatch.setenv("ANNOUNCER_DKIM_PRIVATE_KEY", pem.decode())
    with Path("announcer.toml").open("a") as settings:
        settings.write(
            '\n[smtp]\nhost = "smtp.example.org"\n\n[dkim]\ndomain = "other.example"\nselector = "s1"\n'
        )
    code, report = _check(cli, EXAMPLE_EVENT)
    assert code == 1
    assert _findings(report, "error")[0] == (
        "headers: DKIM signs for other.example but the mail is from example.org: not aligned, so DMARC fails"
        " | announcer.toml: [dkim] domain"
    )


def test_real_sends_without_dkim_are_warned_about(cli: CLI, no_spamassassin: None) -> None:
    with Path("announcer.toml").open("a") as settings:
        settings.write('\n[smtp]\nhost = "smtp.example.org"\n')
    code, report = _check(cli, EXAMPLE_EVENT)
    assert code == 0
    assert _findings(report, "warning")[0].startswith("headers: real sends are not DKIM-signed")


def test_a_calendar_whose_zone_is_missing_or_wrong_is_an_error(settings: object) -> None:
    content = render_event(settings)  # type: ignore[arg-type]
    ics = content.ics.decode()
    wrong = ics.replace("TZOFFSETTO:+0100", "TZOFFSETTO:+0300")
    missing = ics.replace("TZID=Europe/Stockholm", "TZID=Europe/Nowhere")
    twice = ics.replace("20260306T120000", "20261025T023000")  # the night the clocks go back
    skipped = ics.replace("20260306T120000", "20260329T023000")  # the night they go forward
    for calendar, expected in (
        (wrong, "the zone it describes gives Europe/Stockholm another offset at 2026-03-06 12:00"),
        (missing, "DTSTART names the zone 'Europe/Nowhere' but the calendar does not describe it"),
        (twice, "2026-10-25 02:30 happens twice"),
        (skipped, "2026-03-29 02:30 the clocks skip"),
    ):
        message = read_message(b"Content-Type: text/calendar; charset=utf-8\r\n\r\n" + calendar.encode())
        findings = inspect_calendars(message, "events/x.yaml")
        assert findings[0].level is Level.ERROR
        assert expected in findings[0].message


class _Pages(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path.startswith(("/ok", "/u/")) else 404)
        self.end_headers()

    def log_message(self, *arguments: object) -> None:
        pass


@pytest.fixture
def pages() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pages)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_links_that_do_not_answer_are_warned_about(
    cli: CLI, no_spamassassin: None, pages: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Path("announcer.toml")
    text = settings.read_text().replace(
        'unsubscribe_url = "https://lists.example.org/onkpat-seminars/unsubscribe"',
        f'unsubscribe_url = "{pages}/u/{{token}}"',
    )
    settings.write_text(text)
    monkeypatch.setenv("ANNOUNCER_UNSUBSCRIBE_SECRET", "s" * 32)
    monkeypatch.setattr(preflight, "_answer", _only_local(preflight._answer, pages))
    event = SMALL_EVENT + f"links:\n  - label: Slides\n    url: {pages}/ok/slides\n"
    event += f"  - label: Paper\n    url: {pages}/gone\n"
    write(Path("events/linked.yaml"), event)
    code, report = _check(cli, "events/linked.yaml", "--links")
    assert code == 0
    warnings = _findings(report, "warning")
    assert f"links: {pages}/gone answers 404 Not Found | events/linked.yaml: links[1].url" in warnings
    assert [warning for warning in warnings if "answer" in warning] == [
        f"links: {pages}/gone answers 404 Not Found | events/linked.yaml: links[1].url"
    ], "the slides and the unsubscribe page answer"


def _only_local(answer: object, pages: str) -> object:
    """The check as it is, refusing any address but the local server's: no test reaches out."""

    def local(url: str) -> str | None:
        assert url.startswith(pages), f"the test would reach out to {url}"
        return answer(url)  # type: ignore[operator, no-any-return]

    return local


@pytest.mark.skipif(
    shutil.which("spamassassin") is None and os.environ.get("ANNOUNCER_REQUIRE_SPAMASSASSIN") != "1",
    reason="SpamAssassin is not installed (apt-get install spamassassin)",
)  # where ANNOUNCER_REQUIRE_SPAMASSASSIN=1 (CI), its absence fails the test instead
def test_the_spam_score_lists_each_rule_with_its_points(settings: object) -> None:
    assert shutil.which("spamassassin"), "SpamAssassin is not installed (apt-get install spamassassin)"
    data = (
        b"From: a@example.org\r\nTo: b@example.org\r\nSubject: FREE MONEY!!! CLICK NOW\r\n"
        b"Content-Type: text/plain\r\n\r\nBuy viagra now, free money, click here!!!\r\n"
    )
    (finding,) = preflight.spam_score(data)
    assert finding.message.startswith("SpamAssassin scores it ")
    assert "; rules: " in finding.message
    assert read(data)["Subject"] == "FREE MONEY!!! CLICK NOW"


@pytest.mark.parametrize(
    ("forged", "said"),
    [
        (b"Bcc: victim@evil.example\r\n", "headers of no one's making: Bcc"),
        (b"Subject: a second subject\r\n", "2 Subject headers, not one"),
    ],
)
def test_a_header_decoded_out_of_the_text_is_an_error(settings: Settings, forged: bytes, said: str) -> None:
    data = composer(render_event(settings), settings).compose(Recipient(email="a@example.org")).data
    message = read_message(forged + data)
    findings = inspect_headers(message, settings, list_mail=True)
    assert [finding.message for finding in findings if finding.level is Level.ERROR] == [
        f"the message reads back with {said}"
    ]
    clean = inspect_headers(read_message(data), settings, list_mail=True)
    assert [finding.level for finding in clean] == [Level.PASSED]


@pytest.mark.parametrize("feedback", [b"", b"Feedback-ID: a:b:invitation\r\n", b"Feedback-ID: a b:c:d:e\r\n"])
def test_a_message_without_a_four_field_feedback_id_is_an_error(settings: Settings, feedback: bytes) -> None:
    """Gmail's feedback loop counts complaints by the Feedback-ID's fields: without it, or with
    a field short or broken, no complaint rate by send."""
    data = composer(render_event(settings), settings).compose(Recipient(email="a@example.org")).data
    ours = re.search(rb"^Feedback-ID: [^\r\n]*\r\n", data, re.MULTILINE)
    assert ours, "compose writes a Feedback-ID"
    findings = inspect_headers(read_message(data.replace(ours[0], feedback)), settings, list_mail=True)
    (error,) = [finding.message for finding in findings if finding.level is Level.ERROR]
    assert error.startswith("no Feedback-ID of four fields")
