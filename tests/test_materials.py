"""After the talk: slides, a recording, a paper added to the event file, shown by the site, its
feeds and the calendar entry, and sent once as the "materials" message, read back by real parsers."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from html.parser import HTMLParser
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar, Component
from pydantic import ValidationError

from announcer import clock
from announcer.model.event import Event
from tests.calendar_engines import radicale, read_with
from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, configure_smtp, read_message
from tests.smtp_server import Server, smtp_server
from tests.test_rsvp import UID, maildir, reply

SLIDES = "https://example.org/onkpat/2026-03-06-slides.pdf"
RECORDING = "https://media.example.org/v/car-t?t=0&lang=en"
MATERIALS = "".join(
    (
        "materials:\n",
        f'  - {{label: Slides (PDF), url: "{SLIDES}"}}\n',
        f'  - {{label: Recording, url: "{RECORDING}"}}\n',
    )
)
ATOM = "{http://www.w3.org/2005/Atom}"
SUBJECTS = {
    "en": "After the talk: CAR T Cell Therapy: From Lymphoma to Autoimmunity",
    "sv": "Efter föredraget: CAR T Cell Therapy: From Lymphoma to Autoimmunity",
    "de": "Nach dem Vortrag: CAR T Cell Therapy: From Lymphoma to Autoimmunity",
}


class _Links(HTMLParser):
    """Every link of a page or an email, as a browser reads it: (href, text)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._href, self._text = dict(attrs).get("href"), ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links.append((self._href, " ".join(self._text.split())))
            self._href = None


def _links(html: str) -> list[tuple[str, str]]:
    parser = _Links()
    parser.feed(html)
    return parser.links


def _with_materials() -> None:
    event = Path(EXAMPLE_EVENT)
    event.write_text(event.read_text() + MATERIALS)


def _calendar(message: EmailMessage) -> Calendar:
    (attached,) = message.iter_attachments()
    return Calendar.from_ical(attached.get_content())


def _attached(event: Component) -> list[str]:
    """The ATTACH values of a calendar entry, as icalendar reads them (a list when several)."""
    found: object = event.get("ATTACH", [])
    return [str(value) for value in (found if isinstance(found, list) else [found])]


def _messages(folder: str) -> list[EmailMessage]:
    return [read_message(path) for path in sorted(Path(folder).glob("*.eml"))]


def _body(message: EmailMessage, kind: str) -> str:
    part = message.get_body((kind,))
    assert part is not None
    return str(part.get_content())


# The event file ---------------------------------------------------------------------------------


def _event(url: object, label: object = "Slides") -> Event:
    return Event.model_validate(
        {"title": "A talk", "start": "2026-03-06 12:00", "materials": [{"label": label, "url": url}]}
    )


def test_materials_are_https_links_checked_as_every_link_is() -> None:
    assert _event(SLIDES).materials[0].url == SLIDES
    refused = {
        "http://example.org/slides.pdf": "is not an https:// address: give the https one",
        "javascript:alert(1)": "is not an absolute http(s) URL",
        "https://": "is not an absolute http(s) URL",
        "https://example.org/a b": "contains white space",
        "https://example.org/\u202eslides": "direction-changing character",
    }
    for url, why in refused.items():
        with pytest.raises(ValidationError, match=re.escape(why)):
            _event(url)
    with pytest.raises(ValidationError, match="direction-changing character"):
        _event(SLIDES, "Slides\u202e")
    with pytest.raises(ValidationError, match="at most 100"):
        Event.model_validate(
            {
                "title": "A talk",
                "start": "2026-03-06 12:00",
                "materials": [{"label": "x", "url": SLIDES}] * 101,
            }
        )


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(url=st.text(max_size=300), label=st.text(max_size=300))
def test_any_material_is_read_or_refused_in_words_never_a_traceback(url: str, label: str) -> None:
    try:
        event = _event(url, label)
    except ValidationError as error:
        where = {item["loc"][:2] for item in error.errors()}
        if where != {("materials", 0)}:
            raise
        return
    (material,) = event.materials
    assert material.url.startswith("https://")
    assert "\n" not in material.label
    assert "\n" not in material.url


def test_a_wrong_material_is_named_by_file_line_and_field(cli: CLI) -> None:
    event = Path(EXAMPLE_EVENT)
    event.write_text(event.read_text() + 'materials:\n  - {label: Slides, url: "http://example.org/s.pdf"}\n')
    line = len(event.read_text().splitlines())
    code, _, err = cli("check", EXAMPLE_EVENT)
    assert code == 1
    assert f"{EXAMPLE_EVENT}:{line}: materials[0].url: 'http://example.org/s.pdf' is not an https://" in err


# The site, its feeds, the calendar entry ----------------------------------------------------------


def test_the_site_its_feeds_and_the_calendar_entry_show_the_materials(cli: CLI) -> None:
    assert cli("site", "--out", "before")[0] == 0
    assert "After the talk" not in Path("before/onkpat/2026-03-06-car-t-cell-therapy.html").read_text()
    entries = Calendar.from_ical(Path("before/onkpat.ics").read_bytes()).walk("VEVENT")
    assert [_attached(entry) for entry in entries] == [[]] * len(entries), "nothing before the talk"
    _with_materials()
    code, _, err = cli("site", "--out", "public")
    assert code == 0, err
    page = Path("public/onkpat/2026-03-06-car-t-cell-therapy.html").read_text()
    assert (SLIDES, "Slides (PDF)") in _links(page)
    assert (RECORDING, "Recording") in _links(page)
    assert "<h2>After the talk</h2>" in page

    feed = ElementTree.parse("public/onkpat.atom").getroot()
    (entry,) = [e for e in feed.iter(f"{ATOM}entry") if "CAR T" in (e.findtext(f"{ATOM}title") or "")]
    related = [(link.get("href"), link.get("title")) for link in entry.iter(f"{ATOM}link")]
    assert (SLIDES, "Slides (PDF)") in related
    assert (RECORDING, "Recording") in related
    assert "After the talk: Slides (PDF), Recording" in (entry.findtext(f"{ATOM}summary") or "")

    for ics in ("public/onkpat.ics", "public/onkpat/2026-03-06-car-t-cell-therapy.ics"):
        events = Calendar.from_ical(Path(ics).read_bytes()).walk("VEVENT")
        (talk,) = [event for event in events if "CAR T" in str(event["SUMMARY"])]
        assert _attached(talk) == [SLIDES, RECORDING]
        assert f"- Recording: {RECORDING}" in str(talk["DESCRIPTION"])


# The message ------------------------------------------------------------------------------------


def test_the_materials_message_in_each_reader_s_language_html_text_and_calendar(cli: CLI) -> None:
    _with_materials()
    code, out, err = cli("materials", EXAMPLE_EVENT, "--to", "recipients/multilingual.csv")
    assert code == 0, out + err
    assert out == (
        "wrote 3 messages to outbox/2026-03-06-car-t-cell-therapy-materials; a dry run: nothing was sent\n"
    )
    messages = _messages("outbox/2026-03-06-car-t-cell-therapy-materials")
    assert {str(m["Content-Language"]): str(m["Subject"]) for m in messages} == SUBJECTS
    for message in messages:
        links = _links(_body(message, "html"))
        assert (SLIDES, "Slides (PDF)") in links
        assert (RECORDING, "Recording") in links
        text = _body(message, "plain").replace("\r\n", "\n")
        assert f"- Slides (PDF): {SLIDES}\n- Recording: {RECORDING}" in text
        event = _calendar(message).walk("VEVENT")[0]
        assert str(_calendar(message)["METHOD"]) == "PUBLISH"
        assert _attached(event) == [SLIDES, RECORDING]
    german = next(m for m in messages if str(m["Content-Language"]) == "de")
    assert "Die Unterlagen zum Vortrag sind online:" in _body(german, "plain")
    assert "Nach dem Vortrag" in _body(german, "html")


def test_an_event_without_materials_sends_nothing_and_says_what_to_add(cli: CLI) -> None:
    code, _, err = cli("materials", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS)
    assert code == 1
    assert f"error: {EXAMPLE_EVENT}: materials: none listed yet: add them, like `materials:" in err
    assert not Path("outbox").exists()


@pytest.fixture
def server(workspace: Path) -> Iterator[Server]:
    with smtp_server() as running:
        configure_smtp(running)
        yield running


def test_sent_once_to_the_list_journaled_a_second_run_sends_nothing(cli: CLI, server: Server) -> None:
    _with_materials()
    smtp = ("--to", EXAMPLE_RECIPIENTS, "--transport", "smtp")
    code, out, err = cli("materials", EXAMPLE_EVENT, *smtp)
    assert code == 0, out + err
    assert "sent 5 of 5 by SMTP" in out
    code, out, _ = cli("materials", EXAMPLE_EVENT, *smtp)
    assert code == 0
    assert "sent 0 of 5 by SMTP; 5 had it already" in out
    assert len(server.handler.received) == 5
    assert re.search(r"materials-[0-9a-f]{8} \(SEQUENCE 0\): 5 delivered", cli("status", EXAMPLE_EVENT)[1])


def test_a_material_added_later_goes_out_with_the_others_once_more(cli: CLI, server: Server) -> None:
    _with_materials()
    smtp = ("--to", EXAMPLE_RECIPIENTS, "--transport", "smtp")
    assert cli("materials", EXAMPLE_EVENT, *smtp)[0] == 0
    event = Path(EXAMPLE_EVENT)
    paper = "https://doi.org/10.1000/onkpat-2026"
    event.write_text(
        event.read_text().replace(MATERIALS, MATERIALS + f'  - {{label: Paper, url: "{paper}"}}\n')
    )
    code, out, err = cli("materials", EXAMPLE_EVENT, *smtp)
    assert code == 0, out + err
    assert "sent 5 of 5 by SMTP" in out
    text = server.handler.received[-1].message.get_body(("plain",))
    assert text is not None
    assert paper in str(text.get_content())
    assert "sent 0 of 5" in cli("materials", EXAMPLE_EVENT, *smtp)[1]


def test_materials_wait_for_the_talk_to_end(cli: CLI, server: Server) -> None:
    _with_materials()
    during = datetime(2026, 3, 6, 11, 30, tzinfo=UTC)  # the talk is at 12:00–13:00 CET
    with clock.pinned(during, (str(number) for number in itertools.count())):
        code, _, err = cli("materials", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--transport", "smtp")
    assert code == 1
    assert "the talk has not ended yet (it ends 2026-03-06 13:00 CET): its materials go after it" in err
    assert server.handler.received == []


def test_after_an_rsvp_invitation_only_those_who_said_yes_get_them(
    cli: CLI, server: Server, workspace: Path
) -> None:
    smtp = ("--transport", "smtp")
    assert cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, *smtp, "--past", "--rsvp")[0] == 0
    invited = len(server.handler.received)
    _with_materials()
    code, _, err = cli("materials", EXAMPLE_EVENT, *smtp)
    assert code == 1
    assert "its invitation asked for replies: name the mailbox they came to with --mailbox" in err

    box = maildir(
        workspace / "Mail",
        reply("asa.lindqvist@example.org", "ACCEPTED", "2026-03-02T08:00:00"),
        reply("zoe.martin@example.net", "ACCEPTED", "2026-03-02T08:00:00"),
        reply("zoe.martin@example.net", "DECLINED", "2026-03-03T08:00:00"),  # her latest word
        reply("chen.wei@example.org", "TENTATIVE", "2026-03-02T09:00:00"),
        reply("walk.in@example.org", "ACCEPTED", "2026-03-02T09:00:00"),  # never invited
    )
    code, out, err = cli("materials", EXAMPLE_EVENT, "--mailbox", str(box), *smtp)
    assert code == 0, out + err
    assert "sent 1 of 1 by SMTP" in out
    (sent,) = server.handler.received[invited:]
    assert sent.rcpt_tos == ["asa.lindqvist@example.org"]
    assert str(sent.message["To"]) == "Åsa Lindqvist <asa.lindqvist@example.org>", "greeted as invited"
    assert cli("materials", EXAMPLE_EVENT, "--mailbox", str(box), *smtp)[1].startswith("sent 0 of 1")


def test_nobody_said_yes_nothing_is_sent(cli: CLI, server: Server, workspace: Path) -> None:
    assert (
        cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--transport", "smtp", "--past", "--rsvp")[0]
        == 0
    )
    _with_materials()
    box = maildir(workspace / "Mail", reply("chen.wei@example.org", "DECLINED", "2026-03-02T09:00:00"))
    code, _, err = cli("materials", EXAMPLE_EVENT, "--mailbox", str(box))
    assert code == 1
    assert "nobody who received it answered yes: nothing was sent" in err


def test_a_cancelled_talk_has_no_materials_to_send(cli: CLI, server: Server) -> None:
    _with_materials()
    assert cli("cancel", EXAMPLE_EVENT, "--to", "a@example.org", "--transport", "smtp", "--past")[0] == 0
    code, _, err = cli("materials", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS)
    assert code == 1
    assert "was cancelled: there was no talk to send the materials of" in err


def test_check_inspects_the_materials_message(cli: CLI) -> None:
    _with_materials()
    code, out, err = cli("check", EXAMPLE_EVENT)
    assert code == 0, out + err
    assert f"pre-flight: {EXAMPLE_EVENT}, announcer materials\n" in out


def test_materials_is_a_verb_of_its_own_in_help(cli: CLI) -> None:
    code, out, _ = cli("--help")
    assert code == 0
    assert "materials" in out
    assert "After the talk: send its slides, recording, papers." in " ".join(out.split())


def test_a_label_that_looks_like_markup_is_shown_as_the_words_typed(cli: CLI) -> None:
    label = "Rec <script>alert(1)</script> &amp; more"
    event = Path(EXAMPLE_EVENT)
    event.write_text(event.read_text() + f'materials:\n  - {{label: "{label}", url: "{SLIDES}"}}\n')
    assert cli("materials", EXAMPLE_EVENT, "--to", "a@example.org")[0] == 0
    assert cli("site", "--out", "public")[0] == 0
    (message,) = _messages("outbox/2026-03-06-car-t-cell-therapy-materials")
    page = Path("public/onkpat/2026-03-06-car-t-cell-therapy.html").read_text()
    for html in (_body(message, "html"), page):
        assert (SLIDES, label) in _links(html), "a browser shows the label as typed, runs nothing"
        assert "<script>alert" not in html


# Calendar engines: ical.js (Thunderbird's), libical (Evolution's), a CalDAV server ---------------


@pytest.mark.parametrize("engine", ["ical.js", "libical"])
def test_calendar_engines_read_the_materials_on_the_entry(cli: CLI, engine: str, tmp_path: Path) -> None:
    _with_materials()
    assert cli("materials", EXAMPLE_EVENT, "--to", "a@example.org")[0] == 0
    assert cli("site", "--out", "public")[0] == 0
    (message,) = _messages("outbox/2026-03-06-car-t-cell-therapy-materials")
    (attached,) = message.iter_attachments()
    calendars = [attached.get_content().encode(), Path("public/onkpat.ics").read_bytes()]
    for calendar in read_with(engine, calendars, tmp_path):
        (talk,) = [event for event in calendar.events if event.uid == UID]
        assert talk.attachments == (SLIDES, RECORDING)
        assert talk.start == datetime(2026, 3, 6, 11, tzinfo=UTC)


def test_a_calendar_that_files_the_materials_message_shows_them_on_the_entry(
    cli: CLI, tmp_path: Path
) -> None:
    tokens = (f"t{number}" for number in itertools.count())
    with clock.pinned(datetime(2026, 3, 2, 8, tzinfo=UTC), tokens):
        assert cli("send", EXAMPLE_EVENT, "--to", "a@example.org")[0] == 0
    _with_materials()
    with clock.pinned(datetime(2026, 3, 9, 8, tzinfo=UTC), tokens):
        assert cli("materials", EXAMPLE_EVENT, "--to", "a@example.org")[0] == 0
    (invitation,) = _messages("outbox/2026-03-06-car-t-cell-therapy")
    (materials,) = _messages("outbox/2026-03-06-car-t-cell-therapy-materials")
    with radicale(tmp_path / "radicale") as calendar:
        for message in (invitation, materials):
            (attached,) = message.iter_attachments()
            assert calendar.store(attached.get_content().encode())
        stored = calendar.stored(UID)
        assert stored is not None
        (entry,) = stored.walk("VEVENT")
        assert _attached(entry) == [SLIDES, RECORDING]
        assert entry["SEQUENCE"] == 0, "the same entry, not a new version of the talk"
