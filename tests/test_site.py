"""`announcer site`: a page per event, and per series a page, a calendar feed and an Atom feed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest
from ical.calendar_stream import IcsCalendarStream
from icalendar import Calendar
from playwright.sync_api import Browser

from announcer.model.settings import Settings
from tests.browser import LOW_CONTRAST, SMALL_TEXT, axe_script, axe_violations, launch
from tests.helpers import CLI, EXAMPLE_EVENT, configure_smtp, read_message, render_event
from tests.smtp_server import smtp_server

SITE = "https://seminars.example.org/talks"
CAR_T = "onkpat/2026-03-06-car-t-cell-therapy.html"
ONLINE = "immunology-across-borders/2026-03-04-engineered-tregs-online.html"


@pytest.fixture
def site(cli: CLI) -> Path:
    with Path("announcer.toml").open("a") as settings:
        settings.write(f'\n[site]\nurl = "{SITE}/"\n')
    code, out, err = cli("site", "--out", "public")
    assert code == 0, err
    assert out == "wrote 9 pages and 8 feeds to public\n"
    return Path("public")


def _json_ld(page: Path) -> dict[str, object]:
    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page.read_text(), re.DOTALL)
    assert len(scripts) == 1
    data: dict[str, object] = json.loads(scripts[0])
    return data


def test_a_draft_is_named_and_left_out_and_the_rest_published(cli: CLI) -> None:
    assert cli("new", "onkpat", "--date", "2031-05-16")[0] == 0
    code, out, err = cli("site", "--out", "public")
    assert code == 4, err
    assert "skipped: events/2031-05-16-onkpat.yaml:13: abstract: still to write" in err
    assert out == "wrote 9 pages and 8 feeds to public\n"
    assert Path("public", CAR_T).is_file()
    assert not list(Path("public").rglob("2031-05-16*"))


def test_the_series_feed_holds_each_event_as_its_emails_calendar_does(site: Path, settings: Settings) -> None:
    text = (site / "onkpat.ics").read_text()
    feed = Calendar.from_ical(text)
    assert str(feed["X-WR-CALNAME"]) == str(feed["NAME"]) == "OnkPat Friday Seminar"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT12H" in text
    assert str(feed["METHOD"]) == "PUBLISH", "published, as Google's and Outlook's own feeds say"
    events = {str(event["UID"]): event for event in feed.walk("VEVENT")}
    for name in ("2026-03-06-car-t-cell-therapy", "2026-03-13-tumour-microenvironment"):
        emailed = Calendar.from_ical(render_event(settings, f"events/{name}.yaml").ics)
        [sent] = emailed.walk("VEVENT")
        listed = events[str(sent["UID"])]
        assert str(listed["SEQUENCE"]) == str(sent["SEQUENCE"])
        assert listed.decoded("DTSTART") == sent.decoded("DTSTART")
        assert str(listed["STATUS"]) == "CONFIRMED"
    assert len(feed.walk("VTIMEZONE")) == 1, "each zone once"
    strict = IcsCalendarStream.calendar_from_ics(text)
    assert sorted(str(event.summary) for event in strict.events) == [
        "CAR T Cell Therapy: From Lymphoma to Autoimmunity (Dimitrios Mougiakakos)",
        "Reading the Tumour Microenvironment with Spatial Proteomics (Sofia Lindqvist)",
    ]


def test_a_cancelled_talk_stays_in_the_feed_as_cancelled(cli: CLI, workspace: Path) -> None:
    event = "events/2026-03-13-tumour-microenvironment.yaml"
    with smtp_server() as server:
        configure_smtp(server)
        assert cli("cancel", event, "--to", "a@example.org", "--transport", "smtp", "--past")[0] == 0
        emailed = Calendar.from_ical(
            next(server.handler.received[0].message.iter_attachments()).get_content()
        )
    assert cli("site", "--out", "public")[0] == 0
    feed = Calendar.from_ical(Path("public/onkpat.ics").read_text())
    [listed] = [e for e in feed.walk("VEVENT") if "tumour" in str(e["UID"])]
    [sent] = emailed.walk("VEVENT")
    assert (str(listed["STATUS"]), str(listed["SEQUENCE"])) == ("CANCELLED", str(sent["SEQUENCE"]))
    page = Path("public/onkpat/2026-03-13-tumour-microenvironment.html")
    assert _json_ld(page)["eventStatus"] == "https://schema.org/EventCancelled"
    assert "is cancelled." in page.read_text()
    parsed = feedparser.parse(Path("public/onkpat.atom").read_bytes())
    assert "[Cancelled] Reading the Tumour Microenvironment with Spatial Proteomics" in [
        e.title for e in parsed.entries
    ]


def test_the_atom_feed_reads_without_a_fault(site: Path) -> None:
    parsed = feedparser.parse((site / "onkpat.atom").read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "OnkPat Friday Seminar"
    links = {entry.title: entry.link for entry in parsed.entries}
    assert links["CAR T Cell Therapy: From Lymphoma to Autoimmunity"] == f"{SITE}/{CAR_T}"
    assert len({entry.id for entry in parsed.entries}) == len(parsed.entries) == 2
    assert all(entry.id.startswith("urn:uuid:") for entry in parsed.entries)


def test_each_page_carries_schema_org_s_event(site: Path) -> None:
    data = _json_ld(site / CAR_T)
    assert data["@type"] == "Event"
    assert data["name"] == "CAR T Cell Therapy: From Lymphoma to Autoimmunity"
    assert data["startDate"] == "2026-03-06T12:00:00+01:00"
    assert data["endDate"] == "2026-03-06T13:00:00+01:00"
    assert data["eventAttendanceMode"] == "https://schema.org/OfflineEventAttendanceMode"
    assert data["location"] == {"@type": "Place", "name": "Air & Fire", "address": "SciLifeLab, Campus Solna"}
    assert data["url"] == f"{SITE}/{CAR_T}"
    assert data["performer"] == [
        {
            "@type": "Person",
            "name": "Dimitrios Mougiakakos",
            "affiliation": {"@type": "Organization", "name": "Otto-von-Guericke Universität Magdeburg"},
        }
    ]
    online = _json_ld(site / ONLINE)
    assert online["eventAttendanceMode"] == "https://schema.org/OnlineEventAttendanceMode"
    assert online["location"] == {
        "@type": "VirtualLocation",
        "url": "https://meet.example.org/iab-2026-03-04",
    }


def test_a_title_cannot_end_the_json_ld_script(cli: CLI) -> None:
    hostile = 'Talk </script><script>alert(1)</script> & "more"'
    event = Path(EXAMPLE_EVENT)
    event.write_text(
        event.read_text().replace(
            'title: "CAR T Cell Therapy: From Lymphoma to Autoimmunity"', f"title: '{hostile}'"
        )
    )
    assert cli("site", "--out", "public")[0] == 0
    page = Path(f"public/{CAR_T}")
    assert _json_ld(page)["name"] == hostile
    assert page.read_text().count("<script") == 1
    assert "<script>alert" not in page.read_text()


def test_emails_link_to_the_page_and_offer_the_series_to_subscribe_to(site: Path, cli: CLI) -> None:
    assert cli("send", EXAMPLE_EVENT, "--to", "a@example.org")[0] == 0
    message = read_message(next(Path("outbox").rglob("*.eml")))
    text = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert f"Read more on the event page: {SITE}/{CAR_T}" in text
    assert "webcal://seminars.example.org/talks/onkpat.ics" in text
    assert (
        "https://calendar.google.com/calendar/r?cid=webcal%3A%2F%2Fseminars.example.org%2Ftalks%2Fonkpat.ics"
        in text
    )
    html = str(message.get_body(("html",)).get_content())  # type: ignore[union-attr]
    assert (
        "outlook.live.com/calendar/0/addfromweb?url=https%3A%2F%2Fseminars.example.org%2Ftalks%2Fonkpat.ics"
        in html
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


@pytest.mark.parametrize("page", [CAR_T, ONLINE, "onkpat/index.html"])
def test_pages_read_well_on_a_phone_light_and_dark(browser: Browser, site: Path, page: str) -> None:
    for scheme in ("light", "dark"):
        tab = browser.new_page(viewport={"width": 375, "height": 900}, color_scheme=scheme)
        tab.goto((site / page).resolve().as_uri())
        assert tab.evaluate("document.documentElement.scrollWidth") <= 375, scheme
        assert tab.evaluate(SMALL_TEXT) == [], scheme
        assert tab.evaluate(LOW_CONTRAST) == [], scheme
        assert axe_violations(tab, axe_script()) == [], scheme
        tab.close()


def test_a_second_run_rewrites_the_same_files(site: Path, cli: CLI) -> None:
    before = {
        path: path.read_bytes() for path in site.rglob("*") if path.is_file() and path.suffix != ".atom"
    }
    assert cli("site", "--out", "public")[0] == 0
    after = {path: path.read_bytes() for path in site.rglob("*") if path.is_file() and path.suffix != ".atom"}
    assert after.keys() == before.keys()
    assert {path: data for path, data in after.items() if path.suffix == ".html"} == {
        path: data for path, data in before.items() if path.suffix == ".html"
    }
    assert not list(site.rglob(".*.new")), "no file half written is left"
