"""Every email in its reader's language: the catalogs, dates from CLDR, a language per reader."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_interval, format_skeleton
from babel.messages.pofile import read_po
from playwright.sync_api import Browser

from announcer import languages
from announcer.history import history
from announcer.jobs import SendOptions, send_invitation
from announcer.languages import CATALOGS, available, source_messages, untranslated
from announcer.lifecycle import Edition, cancellation, next_edition, snapshot_of
from announcer.load.events import load_named
from announcer.model.recipient import Recipient
from announcer.model.settings import Letterhead, Settings
from announcer.model.window import Window
from announcer.render.content import RenderedContent, Renderer
from announcer.render.wording import Schedule, reader_clock
from tests.browser import LOW_CONTRAST, SMALL_TEXT, axe_script, axe_violations, launch
from tests.helpers import (
    CLI,
    EXAMPLE_EVENT,
    ROOT,
    composer,
    read_message,
    render_digest_of,
    render_event,
    write,
)

SCREENSHOTS = ROOT / "screenshots"
TRANSLATED = [language for language in available() if language != "en"]
START = datetime(2026, 3, 6, 12, 0)
# What a reader's mail program shows first, in each language: the greeting and the labels.
READER = Recipient(
    "asa@example.org",
    "Åsa Lindqvist",
    {"timezone": "America/New_York"},
    timezone=ZoneInfo("America/New_York"),
)
GREETING = {"en": "Dear Åsa Lindqvist,", "sv": "Hej,", "de": "Guten Tag Åsa Lindqvist,"}
# A greeting by the whole name is a form a language may not have: Swedish greets a colleague by
# the given name or by none ("Hej,"), never "Hej Åsa Lindqvist,".
MAY_LEAVE_OUT_THE_NAME = {"Dear %(name)s,"}


def _message_ids(path: Path) -> set[str]:
    with path.open("rb") as file:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(file) if m.id}


def test_the_catalog_template_lists_every_message_the_code_and_the_theme_write(tmp_path: Path) -> None:
    """`pybabel extract` as the README tells translators to run it gives the committed `.pot`."""
    fresh = tmp_path / "fresh.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    command = [str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k", "_", "-k", "ngettext:1,2"]
    subprocess.run([*command, "-o", str(fresh), "."], cwd=ROOT, check=True, capture_output=True)
    assert _message_ids(fresh) == source_messages()
    assert len(source_messages()) > 60


@pytest.mark.parametrize("language", TRANSLATED)
def test_each_catalog_translates_every_message_with_the_same_placeholders(language: str) -> None:
    with (CATALOGS / f"{language}.po").open("rb") as file:
        catalog = read_po(file, locale=language)
    assert untranslated(language, source_messages()) == []
    assert [(message.id, errors) for message, errors in catalog.check() if errors] == []
    for message in catalog:
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string or ())
        named = {name for text in ids for name in re.findall(r"%\((\w+)\)", text)}
        for text in strings:
            kept = set(re.findall(r"%\((\w+)\)", text))
            assert kept == named or (message.id in MAY_LEAVE_OUT_THE_NAME and kept < named), message.id
        assert not message.fuzzy, message.id


@pytest.mark.parametrize("language", ["en", *TRANSLATED])
def test_dates_and_times_are_cldr_s_for_the_language(settings: Settings, language: str) -> None:
    content = render_event(settings, EXAMPLE_EVENT, language)
    locale = {"en": "en_GB"}.get(language, language)
    day = format_date(date(2026, 3, 6), "full", locale=locale)
    hours = format_interval(time(12), time(13), "Hm", locale=locale)
    for part in (content.text, content.html):
        assert day in part
        assert hours in part
    assert f"{format_skeleton('MMMEd', START, locale=locale)}, 12:00" in content.subject
    assert content.language == language
    assert f'<html lang="{language}"' in content.html


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("en-US", ("Friday, March 6, 2026", "12:00 – 1:00 PM")),
        ("de-CH", ("Freitag, 6. März 2026", "12:00–13:00 Uhr")),
        ("sv", ("fredag 6 mars 2026", "12:00–13:00")),
    ],
)
def test_a_region_takes_its_own_customs(settings: Settings, language: str, expected: tuple[str, str]) -> None:
    named = load_named(Path(EXAMPLE_EVENT), settings.defaults)
    schedule = Schedule.of(named.event, language)
    assert (schedule.date, schedule.times.replace("\u202f", " ").replace("\u2009", " ")) == expected


@pytest.fixture
def mixed(workspace: Path) -> Path:
    """A bilingual list and a few who say nothing: 60 readers in all."""
    rows = ["email,name,language"]
    for number in range(20):
        rows += [f"sv{number}@example.org,Åsa Lindqvist,sv", f"de{number}@example.org,Åsa Lindqvist,de"]
        rows.append(f"en{number}@example.org,Åsa Lindqvist,")
    return write(workspace / "recipients" / "mixed.csv", "\n".join(rows) + "\n")


def test_a_mixed_list_gives_each_reader_their_own_language_rendered_once_each(
    settings: Settings, mixed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered: list[str | None] = []
    render_event = Renderer.render_event

    def counting(self: Renderer, *args: object) -> object:
        rendered.append(args[2] if len(args) > 2 else None)  # type: ignore[arg-type]
        return render_event(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(Renderer, "render_event", counting)
    report = send_invitation(Path(EXAMPLE_EVENT), str(mixed), settings, SendOptions(outbox=Path("outbox")))
    assert report.recipients == 60
    assert sorted(rendered, key=str) == ["de", "en", "sv"], "each language is rendered once, when needed"
    seen = set()
    for path in Path("outbox", report.slug).glob("*.eml"):
        message = read_message(path)
        language = str(message["To"]).split("<")[1][:2]
        text = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        html = str(message.get_body(("html",)).get_content())  # type: ignore[union-attr]
        assert message["Content-Language"] == language
        assert GREETING[language] in text
        assert f'<html lang="{language}"' in html
        seen.add(language)
    assert seen == {"en", "sv", "de"}


def test_an_event_in_german_is_german_unless_a_reader_asks_otherwise(cli: CLI) -> None:
    event = Path(EXAMPLE_EVENT)
    event.write_text(event.read_text() + "language: de\n")
    readers = "email,name,language\nde@example.org,Åsa Lindqvist,\nen@example.org,Åsa Lindqvist,en\n"
    write(Path("recipients/two.csv"), readers)
    assert cli("send", EXAMPLE_EVENT, "--to", "recipients/two.csv")[0] == 0
    for message in map(read_message, Path("outbox").rglob("*.eml")):
        language = str(message["To"]).split("<")[1][:2]
        assert message["Content-Language"] == language
        text = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        assert GREETING[language] in text
        html = str(message.get_body(("html",)).get_content())  # type: ignore[union-attr]
        assert ('<h1 lang="de"' in html) == (language == "en"), "the event's own words keep their language"


def test_a_language_nobody_translated_is_refused_with_its_line(cli: CLI) -> None:
    write(Path("recipients/odd.csv"), "email,name,language\na@example.org,A,sv\nb@example.org,B,fr\n")
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", "recipients/odd.csv")
    assert code == 1
    assert "recipients/odd.csv:3: language: 'fr': the emails can be written in en, de, sv" in err
    assert not Path("outbox").exists(), "nothing is written"


def test_an_untranslated_message_falls_back_to_english_and_check_names_it(cli: CLI, workspace: Path) -> None:
    footer = (ROOT / "templates" / "email" / "footer.txt.j2").read_text()
    write(workspace / "templates" / "email" / "footer.txt.j2", footer + '{{ _("Coffee from 11:45.") }}\n')
    write(Path("recipients/sv.csv"), "email,name,language\na@example.org,A,sv\n")
    code, out, _ = cli("check", EXAMPLE_EVENT, "--to", "recipients/sv.csv", "--json")
    assert code == 0, "a missing translation is a warning"
    report = json.loads(out)
    wording = next(item for item in report["messages"] if item["message"] == "the wording in sv")
    [finding] = wording["findings"]
    assert finding["level"] == "warning"
    assert "“Coffee from 11:45.”" in finding["message"]
    assert finding["change"].endswith("locales/sv.po")
    assert cli("send", EXAMPLE_EVENT, "--to", "recipients/sv.csv")[0] == 0
    sent = read_message(next(Path("outbox").rglob("*.eml")))
    text = str(sent.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "Hej," in text, "Swedish greets by the given name or by none"
    assert "Coffee from 11:45." in text


def test_an_update_says_what_changed_in_the_reader_s_language(settings: Settings) -> None:
    named = load_named(Path(EXAMPLE_EVENT), settings.defaults)
    earlier = {"start": START.replace(hour=10), "end": START.replace(hour=11)}
    before = snapshot_of(named.event.model_copy(update=earlier))
    edition = Edition("uid@example.org", 1, "g", before)
    content = Renderer(Letterhead.of(settings)).render_event(named, edition, "sv")
    assert content.subject.startswith("Ny tid: CAR T Cell Therapy")
    assert (
        "EVENEMANGET HAR ÄNDRATS\nTid: fredag 6 mars 2026, 12:00–13:00 tid i Stockholm (CET)" in content.text
    )
    assert "tidigare: 10:00–11:00\n" in content.text, "the same day is not said again"


def test_the_reader_s_own_clock_is_in_their_language() -> None:
    instant = datetime(2026, 3, 6, 12, tzinfo=ZoneInfo("Europe/Stockholm"))
    assert (
        reader_clock(instant, ZoneInfo("America/New_York"), ["Europe/Stockholm"], "de")
        == " · 06:00 Ihre Zeit (EST)"
    )
    assert (
        reader_clock(instant, ZoneInfo("Asia/Tokyo"), ["Europe/Stockholm"], "sv") == " · 20:00 din tid (JST)"
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


def _every_kind(settings: Settings, language: str) -> dict[str, RenderedContent]:
    """Each kind of message the example's talk can become, and the digest, in `language`."""
    renderer = Renderer(Letterhead.of(settings))
    named = load_named(Path(EXAMPLE_EVENT), settings.defaults)
    with history(settings.workspace) as sequences:
        invitation = next_edition(named, settings.sender, sequences)
        answered = next_edition(named, settings.sender, sequences, rsvp=True)
        cancelled = cancellation(named, settings.sender, sequences)
    day_before = named.event.starts_at - timedelta(days=1)
    return {
        "invitation": renderer.render_event(named, invitation, language),
        "rsvp": renderer.render_event(named, answered, language),
        "cancellation": renderer.render_event(named, cancelled, language),
        "reminder": renderer.render_reminder(named, invitation, "1d", day_before, language),
        "digest": render_digest_of(settings, Window(date(2026, 3, 2), 7), language=language),
    }


@pytest.mark.parametrize("language", available())
def test_every_kind_reads_well_on_a_phone_light_and_dark_with_no_axe_finding(
    browser: Browser, settings: Settings, language: str
) -> None:
    """Longer words (German) must not push the page sideways; contrast holds, and axe-core finds
    nothing at any impact (the Email Markup Consortium's report counts serious and critical)."""
    for kind, content in _every_kind(settings, language).items():
        for scheme in ("light", "dark"):
            page = browser.new_page(viewport={"width": 375, "height": 900}, color_scheme=scheme)
            page.set_content(composer(content, settings, None).personalised(READER)[0])
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{kind}-{language}-375-{scheme}.png"), full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth") <= 375, (kind, scheme)
            assert page.evaluate(SMALL_TEXT) == [], (kind, scheme)
            assert page.evaluate(LOW_CONTRAST) == [], (kind, scheme)
            assert axe_violations(page, axe_script(), email=True) == [], (kind, scheme)
            page.close()


def test_the_workspace_s_language_is_every_event_s_unless_it_says_otherwise(cli: CLI) -> None:
    settings = Path("announcer.toml")
    settings.write_text(settings.read_text().replace('language = "en"', 'language = "sv"'))
    assert cli("send", EXAMPLE_EVENT, "--to", "a@example.org")[0] == 0
    message = read_message(next(Path("outbox").rglob("*.eml")))
    assert message["Content-Language"] == "sv"
    assert "Hej," in str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]


@pytest.fixture
def fresh_catalogs() -> Iterator[None]:
    """Catalogs read again, before and after the test (they are read once a process)."""
    for cached in (languages._catalog, languages.translations):
        cached.cache_clear()
    yield
    for cached in (languages._catalog, languages.translations):
        cached.cache_clear()


@pytest.mark.usefixtures("fresh_catalogs")
def test_a_fuzzy_translation_is_not_used_and_check_names_it(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pybabel update marks a guessed translation fuzzy: a translator has not said it yet."""
    text = (CATALOGS / "sv.po").read_text()
    assert '\nmsgid "Abstract"\nmsgstr "Sammanfattning"\n' in text
    fuzzy = text.replace('\nmsgid "Abstract"\n', '\n#, fuzzy\nmsgid "Abstract"\n')
    write(tmp_path / "sv.po", fuzzy)
    monkeypatch.setattr(languages, "CATALOGS", tmp_path)
    assert untranslated("sv", {"Abstract", "Host"}) == ["Abstract"]
    content = render_event(settings, EXAMPLE_EVENT, "sv")
    assert "\nAbstract\n--------\n" in content.text
    assert "\nVärd: " in content.text
