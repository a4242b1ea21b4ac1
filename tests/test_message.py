"""The messages a dry run writes, read back with the standard library's parser."""

from __future__ import annotations

import random
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import jinja2
import pytest
from ical.calendar_stream import IcsCalendarStream

from announcer.compose.headers import WIRE
from announcer.model.recipient import Recipient
from announcer.model.settings import Settings
from announcer.render import theme
from announcer.render.content import RenderedContent
from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, composer, render_event

OUTBOX = Path("outbox/2026-03-06-car-t-cell-therapy")


def _read(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _all_defects(message: EmailMessage) -> list[object]:
    found: list[object] = []
    for part in message.walk():
        found.extend(part.defects)
        for _name, value in part.items():
            found.extend(getattr(value, "defects", ()))
    return found


@pytest.fixture
def sent(cli: CLI, pinned: None) -> list[Path]:
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS)
    assert code == 0, out + err
    return sorted(OUTBOX.glob("*.eml"))


def test_one_message_per_recipient_without_defects(sent: list[Path]) -> None:
    assert [path.name.split("-", 1)[1] for path in sent] == [
        "asa.lindqvist@example.org.eml",
        "jurgen.mueller@example.org.eml",
        "siobhan.oconnell@example.com.eml",
        "zoe.martin@example.net.eml",
        "chen.wei@example.org.eml",
    ]
    for path in sent:
        assert path.read_bytes().count(b"\n") == path.read_bytes().count(b"\r\n"), "CRLF only"
        assert _all_defects(_read(path)) == [], path


def test_structure_is_alternative_plus_attached_calendar(sent: list[Path]) -> None:
    message = _read(sent[0])
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.iter_parts()
    assert alternative.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in alternative.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_param("name") == "invite.ics"
    calendar = IcsCalendarStream.calendar_from_ics(attachment.get_content())
    assert (
        calendar.events[0].summary
        == "CAR T Cell Therapy: From Lymphoma to Autoimmunity (Dimitrios Mougiakakos)"
    )


def test_headers(sent: list[Path], settings: Settings) -> None:
    message = _read(sent[0])
    assert str(message["From"]) == "OnkPat Friday Seminar <onkpat-seminars@example.org>"
    assert str(message["To"]) == "Åsa Lindqvist <asa.lindqvist@example.org>"
    assert str(message["Reply-To"]) == "onkpat-seminars@example.org"
    assert str(message["Subject"]) == (
        "CAR T Cell Therapy: From Lymphoma to Autoimmunity – Dimitrios Mougiakakos, Fri 6 Mar, 12:00"
    )
    assert message["Date"].datetime.year == 2026
    assert re.fullmatch(
        r"<token0003\.2026-03-06-car-t-cell-therapy@example\.org>", str(message["Message-ID"])
    )
    assert str(message["List-Id"]) == "OnkPat Friday Seminar <onkpat-seminars.example.org>"
    assert str(message["List-Unsubscribe"]).split(", ") == [
        "<https://lists.example.org/onkpat-seminars/unsubscribe>",
        "<mailto:onkpat-seminars-leave@example.org?subject=unsubscribe>",
    ]
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    ids = {str(_read(path)["Message-ID"]) for path in sent}
    assert len(ids) == len(sent)


def test_each_message_greets_its_recipient(sent: list[Path]) -> None:
    for path, name in zip(sent, ["Åsa Lindqvist", "Jürgen Müller", "Siobhán Ó Conaill"], strict=False):
        message = _read(path)
        text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
        assert f"Dear {name}," in text
        assert f"Dear {name}," in html
        assert "[[announcer:" not in text + html


def test_html_is_a_complete_document(sent: list[Path]) -> None:
    html = _read(sent[0]).get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en"' in html
    assert "<title>CAR T Cell Therapy: From Lymphoma to Autoimmunity</title>" in html
    assert 'name="color-scheme" content="light dark"' in html
    assert "prefers-color-scheme: dark" in html
    assert "fonts.googleapis" not in html
    assert "<link" not in html
    assert len(html.encode()) < 102_000


def test_every_html_link_is_in_the_text(sent: list[Path]) -> None:
    message = _read(sent[0])
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    links = {link.replace("&amp;", "&") for link in re.findall(r'href="([^"]+)"', html)}
    assert links, "the HTML has links"
    for link in links:
        target = link.removeprefix("mailto:").split("?")[0]
        assert target in text, link


def test_text_is_plain_prose_with_the_whole_seed(sent: list[Path]) -> None:
    text = _read(sent[0]).get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "&amp;" not in text
    assert "<p>" not in text
    assert "Air & Fire, SciLifeLab, Campus Solna" in text
    assert "Host:  Maurice Michel, Department of Oncology-Pathology" in text
    assert "€25 million in grant funding." in text
    assert text.count("Mougiakakos D") == 9
    assert "N Engl J Med 2021 Aug;385(6):567-569" in text
    long_lines = [line for line in text.splitlines() if len(line) > 78 and "://" not in line]
    assert long_lines == []


def _with_unsubscribe_url(settings: Settings, url: str | None) -> Settings:
    mailing = settings.list_
    assert mailing is not None
    return settings.model_copy(update={"list_": mailing.model_copy(update={"unsubscribe_url": url})})


def test_a_list_without_an_unsubscribe_url_has_no_one_click(settings: Settings, pinned: None) -> None:
    plain = _with_unsubscribe_url(settings, None)
    message = composer(render_event(plain), plain, None).compose(Recipient("a@example.org")).message
    assert "List-Unsubscribe-Post" not in message
    assert (
        str(message["List-Unsubscribe"]) == "<mailto:onkpat-seminars-leave@example.org?subject=unsubscribe>"
    )
    assert "Dear colleague," in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_one_click_only_for_an_https_unsubscribe_url(settings: Settings, pinned: None) -> None:
    http = _with_unsubscribe_url(settings, "http://lists.example.org/leave")
    message = composer(render_event(http), http, None).compose(Recipient("a@example.org")).message
    assert str(message["List-Unsubscribe"]).startswith("<http://lists.example.org/leave>")
    assert "List-Unsubscribe-Post" not in message, "RFC 8058 one-click needs https"
    https = _with_unsubscribe_url(settings, "https://lists.example.org/leave")
    message = composer(render_event(https), https, None).compose(Recipient("a@example.org")).message
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"


def test_a_recipients_name_is_escaped_in_the_html(settings: Settings, pinned: None) -> None:
    reader = Recipient("eve@example.org", name='Eve <img src=x onerror=alert(1)> & "Co"')
    message = composer(render_event(settings), settings, None).compose(reader).message
    html = str(message.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert "<img src=x" not in html
    assert "Dear Eve &lt;img src=x onerror=alert(1)&gt; &amp; &quot;Co&quot;," in html
    text = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert 'Dear Eve <img src=x onerror=alert(1)> & "Co",' in text, "the text part shows it as written"


def test_event_values_are_escaped_in_the_html(settings: Settings, pinned: None) -> None:
    event = Path(EXAMPLE_EVENT)
    event.write_text(event.read_text() + 'venue: {name: "Air <script>alert(1)</script>"}\n')
    html = composer(render_event(settings), settings, None).personalised(None)[0]
    assert "<script>alert(1)" not in html
    assert "Air &lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_placeholders_written_in_input_stay_text(settings: Settings, pinned: None) -> None:
    content = render_event(settings)
    slot = re.search(r"\[\[announcer-[0-9a-f]{32}:greeting:[0-9a-f]*:[0-9a-f]*\]\]", content.text)
    assert slot, "the rendered text holds the greeting (with the recipient.s name) as a placeholder"
    event = Path(EXAMPLE_EVENT)
    made_up = "[[announcer-" + "0" * 32 + ":name::]]"
    event.write_text(event.read_text().replace("title: ", f'title: "{made_up} {slot[0]}" #', 1))
    html, text = composer(render_event(settings), settings, None).personalised(Recipient("a@x.org", "Zed"))
    for forged in (made_up, slot[0]):
        assert forged in text, "a placeholder made up, or from another render, is never filled"
        assert forged in html
    assert "Dear Zed," in text


def test_unsubscribe_token_is_an_hmac_not_the_address(settings: Settings, pinned: None) -> None:
    mailing = settings.list_
    assert mailing is not None
    tokenised = settings.model_copy(
        update={
            "list_": mailing.model_copy(update={"unsubscribe_url": "https://lists.example.org/u/{token}"})
        }
    )
    made = composer(render_event(tokenised), tokenised, "s3cret")
    first = made.compose(Recipient("a@example.org")).message
    second = made.compose(Recipient("b@example.org")).message
    url = str(first["List-Unsubscribe"]).split(",")[0].strip("<>")
    assert re.fullmatch(r"https://lists\.example\.org/u/[A-Za-z0-9_-]{24}", url)
    assert "a@example.org" not in url
    assert "a%40example.org" not in url
    assert url != str(second["List-Unsubscribe"]).split(",")[0].strip("<>")
    same_person = made.compose(Recipient("A@Example.ORG")).message
    assert str(same_person["List-Unsubscribe"]).split(",")[0].strip("<>") == url, "addresses ignore case"
    assert url in first.get_body(("plain",)).get_content()  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "subject",
    [
        "Lived Experience – Ingrid Søndergaard, Tomás Ruiz-Álvarez, Fri 6 Mar, 12:00",
        "Ruiz-Álvarez café café café Title: Living – Ingrid Søndergaard, Søndergaard, Ågren Tomás café",
        "日本語のタイトル 🧬 and some English words to make it fold over a line or two, Fri 6 Mar",
        "A plain ASCII subject that is long enough to be folded onto a second line by the stdlib",
    ],
)
def test_a_subject_reads_back_exactly_as_written(settings: Settings, subject: str) -> None:
    data = _with_subject(settings, subject)
    assert max(len(line) for line in data.split(b"\r\n")) <= 76
    assert str(message_from_bytes(data, policy=policy.default)["Subject"]) == subject


def test_random_subjects_read_back_exactly_as_written(settings: Settings) -> None:
    words = ["Søndergaard,", "Tomás", "–", "Ruiz-Álvarez", "café", "Title:", "x", "Ågren", "with", "🧬"]
    chance = random.Random(6)
    for _ in range(300):
        subject = " ".join(chance.choice(words) for _ in range(chance.randint(1, 25)))
        data = _with_subject(settings, subject)
        assert str(message_from_bytes(data, policy=policy.default)["Subject"]) == subject


def _with_subject(settings: Settings, subject: str) -> bytes:
    """The headers of a message composed from content with this subject."""
    content = RenderedContent("slug", "uid@example.org", subject, "<p>x</p>", "x\n", (), "0" * 32)
    message = composer(content, settings, None).compose(Recipient("a@example.org")).message
    return message.as_bytes(policy=WIRE).split(b"\r\n\r\n")[0] + b"\r\n\r\n"


def test_each_reader_sees_the_time_on_their_own_clock_across_daylight_saving(cli: CLI) -> None:
    event = Path(EXAMPLE_EVENT)  # moved to 27 March 2026: New York is on summer time, Stockholm not yet
    event.write_text(
        event.read_text()
        .replace("2026-03-06 12:00", "2026-03-27 12:00")
        .replace("2026-03-06 13:00", "2026-03-27 13:00")
    )
    Path("recipients/zones.csv").write_text(
        "email,name,timezone\n"
        "ny@example.org,New York,America/New_York\n"
        "sthlm@example.org,Stockholm,Europe/Stockholm\n"
        "none@example.org,Nobody,\n"
        "tokyo@example.org,Tokyo,Asia/Tokyo\n"
    )
    assert cli("send", EXAMPLE_EVENT, "--to", "recipients/zones.csv")[0] == 0
    messages = [_read(path) for path in sorted(Path("outbox/2026-03-06-car-t-cell-therapy").glob("*.eml"))]
    texts = [str(m.get_body(("plain",)).get_content()) for m in messages]  # type: ignore[union-attr]
    htmls = [str(m.get_body(("html",)).get_content()) for m in messages]  # type: ignore[union-attr]
    own_line = "12:00–13:00 Stockholm time (CET)\r\n       07:00 your time (EDT)"
    assert own_line in texts[0], "5 hours, not 6: US DST"
    assert "Stockholm time (CET) · 07:00 your time (EDT)" in htmls[0]
    for same in (1, 2):
        assert "your time" not in texts[same] + htmls[same]
    assert "\r\n       20:00 your time (JST)" in texts[3]


def test_an_unknown_zone_in_the_list_is_refused_with_its_line(cli: CLI) -> None:
    Path("recipients/zones.csv").write_text("email,timezone\na@example.org,Mars/Olympus\n")
    code, _, err = cli("check", EXAMPLE_EVENT, "--to", "recipients/zones.csv")
    assert code == 1
    assert "recipients/zones.csv:2: timezone: unknown time zone 'Mars/Olympus'" in err


def test_compiled_templates_are_kept_apart_by_how_this_version_compiles_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cached template compiled under other options (autoescaping) must never be used."""
    ours = theme._compiled_templates()
    other = tmp_path / "theme.py"
    other.write_text("autoescape off, say")
    monkeypatch.setattr(theme, "__file__", str(other))
    theirs = theme._compiled_templates()
    assert isinstance(ours, jinja2.FileSystemBytecodeCache)
    assert isinstance(theirs, jinja2.FileSystemBytecodeCache)
    assert ours.pattern != theirs.pattern
    assert ours.directory == theirs.directory
