"""Every output true to the event's state: a digest, the site and a reminder after a
cancellation, a hybrid talk, an update; and the wording and layout a phone shows (issue 27)."""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st
from icalendar import Calendar

from announcer import clock
from announcer.history import history
from announcer.lifecycle import Edition, cancellation, current_edition, snapshot_of
from announcer.load.events import load_events, load_named
from announcer.model.settings import Letterhead, Settings
from announcer.model.window import Window, in_window
from announcer.render.content import RenderedContent, Renderer
from announcer.render.digest import render_digest
from announcer.render.filters import wrap
from announcer.render.palette import palette_for
from tests.helpers import CLI, EXAMPLE_EVENT, configure_smtp, read_message, write
from tests.smtp_server import smtp_server

WINDOW = Window(date(2026, 3, 2), 7)
CAR_T = "2026-03-06-car-t-cell-therapy"
CAR_T_OPENING = "Chimeric antigen receptor (CAR) T-cell therapy has recently been"


def _digest(settings: Settings, window: Window = WINDOW, cancelled: tuple[str, ...] = ()) -> RenderedContent:
    """The digest of the example's events in `window`, the `cancelled` slugs as cancelled."""
    events = in_window(load_events(Path("events"), settings.defaults), window)
    with history(settings.workspace) as sequences:
        listed = [
            (
                named,
                (cancellation if named.slug in cancelled else current_edition)(
                    named, settings.sender, sequences
                ),
            )
            for named in events
        ]
    return render_digest(Renderer(Letterhead.of(settings)), window, listed)


class _Elements(HTMLParser):
    """Each element's tag, attributes and the text directly inside it, in order."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str], list[str]]] = []
        self._open: list[int] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, {key: value or "" for key, value in attrs}, []))
        if tag not in {"br", "img", "meta", "link", "hr", "input"}:
            self._open.append(len(self.found) - 1)

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        if self._open:
            self.found[self._open[-1]][2].append(data)


def _elements(html: str) -> list[tuple[str, dict[str, str], str]]:
    parser = _Elements()
    parser.feed(html)
    return [(tag, attrs, "".join(text)) for tag, attrs, text in parser.found]


def _with_class(html: str, name: str) -> list[tuple[str, dict[str, str], str]]:
    return [element for element in _elements(html) if name in element[1].get("class", "").split()]


# 1. The digest after a cancellation


def test_a_digest_counts_the_talks_on_and_the_calendars_it_attaches(settings: Settings) -> None:
    digest = _digest(settings, cancelled=(CAR_T,))
    assert len([file for file in digest.calendars if not file.acted_on]) == 3, "a file for each talk on"
    assert (
        "3 talks to choose from. Each has its own calendar file attached. 1 talk is cancelled." in digest.html
    )
    assert "4 talks" not in digest.html, "nor in the preheader"
    assert "CAR T Cell Therapy" not in digest.subject
    text = " ".join(digest.text.split())
    assert "Each talk has its own calendar file attached; links that add a talk to Google" in text
    assert "1 talk is cancelled." in text


def test_a_digest_of_one_talk_on_says_its_calendar_file_not_each(settings: Settings) -> None:
    digest = _digest(settings, Window(date(2026, 3, 2), 1))
    assert len(digest.calendars) == 1
    assert "1 talk to choose from. Its calendar file is attached." in digest.html
    assert "Each" not in digest.html.split("Dear")[0].split("<body")[-1]


def test_a_cancelled_talk_in_a_digest_is_labelled_and_keeps_no_teaser_or_abstract(settings: Settings) -> None:
    digest = _digest(settings, cancelled=(CAR_T,))
    [label] = _with_class(digest.html, "cancelled-label")
    assert label[2] == "Cancelled"
    style, series = label[1]["style"], _with_class(digest.html, "series")[0][1]["style"]
    assert "border" in style
    assert palette_for(settings.brand.accent).warn in style
    assert "border" not in series, "the label does not look like the series' line"
    for output in (digest.html, digest.text):
        assert CAR_T_OPENING not in " ".join(output.split()), "no teaser nor abstract of a cancelled talk"
    assert f'href="#{CAR_T}"' not in digest.html
    assert "[CANCELLED] CAR T Cell Therapy: From Lymphoma to Autoimmunity" in digest.text
    assert "Calendar: 2026-03-06-car-t-cell-therapy.ics" not in digest.text


def test_a_one_talk_digest_says_the_abstract_s_opening_once(settings: Settings) -> None:
    digest = _digest(settings, Window(date(2026, 3, 6), 1))
    for output in (digest.html, digest.text):
        assert " ".join(output.split()).count(CAR_T_OPENING) == 1
    assert "Abstracts" not in digest.text
    assert "Abstracts" not in digest.html
    assert "the transient" not in digest.text  # sanity: the example's own words follow
    assert "strategies, are expected to further expand the therapeutic landscape" in " ".join(
        digest.html.split()
    )


def test_the_abstracts_heading_has_no_rule_of_its_own_under_the_last_talk_s(settings: Settings) -> None:
    digest = _digest(settings)
    [heading] = [element for element in _elements(digest.html) if element[2] == "Abstracts"]
    assert "border" not in heading[1].get("style", "")


def test_a_digest_keeps_times_and_calendar_file_names_whole_on_a_phone(settings: Settings) -> None:
    digest = _digest(settings)
    kept = {text for _, _, text in _with_class(digest.html, "nowrap")}
    assert {"15:00–16:00", "2026-03-02-thymus-atlas.ics", "2026-03-05-computational-pathology.ics"} <= kept


def test_no_separator_dot_is_left_at_a_line_s_end(settings: Settings) -> None:
    digest = _digest(settings)
    assert not [line for line in digest.text.splitlines() if line.rstrip().endswith("·")]
    assert " · <a" not in digest.html
    assert "\xa0·" not in digest.html
    assert "</a> ·\xa0<a" in digest.html, "the dot goes with the link after it"


@given(
    st.lists(st.text(alphabet="abcdefghij", min_size=1, max_size=30), min_size=1, max_size=12),
    st.integers(20, 80),
)
def test_wrapping_moves_a_separator_to_the_next_line_with_its_item(words: list[str], width: int) -> None:
    text = " · ".join(words)
    wrapped = wrap(text, width)
    assert not [line for line in wrapped.splitlines() if line.endswith("·")]
    assert " ".join(wrapped.split()) == text


# 2. The site


@pytest.fixture
def cancelled_site(cli: CLI) -> Path:
    """The example's site after a real cancellation of the CAR T talk."""
    with smtp_server() as server:
        configure_smtp(server)
        assert cli("cancel", EXAMPLE_EVENT, "--to", "a@example.org", "--transport", "smtp", "--past")[0] == 0
    code, _, err = cli("site", "--out", "public")
    assert code == 0, err
    return Path("public")


def _json_ld(page: Path) -> dict[str, object]:
    [script] = re.findall(r'<script type="application/ld\+json">(.*?)</script>', page.read_text(), re.DOTALL)
    data: dict[str, object] = json.loads(script)
    return data


def test_the_site_index_marks_a_cancelled_talk(cancelled_site: Path) -> None:
    index = (cancelled_site / "onkpat/index.html").read_text()
    [item] = [element for element in _elements(index) if "cancelled" in element[1].get("class", "").split()]
    assert item[0] == "li"
    [label] = _with_class(index, "cancelled-label")
    assert label[2] == "Cancelled"
    title = "CAR T Cell Therapy: From Lymphoma to Autoimmunity</a>"
    assert index.index('cancelled-label">') < index.index(title)
    assert "li.cancelled" in index, "the style is used"


def test_a_cancelled_talk_s_page_does_not_welcome_people_to_it(cancelled_site: Path) -> None:
    page = (cancelled_site / f"onkpat/{CAR_T}.html").read_text()
    assert "is cancelled." in page
    assert "Welcome to the OnkPat Friday Seminar" not in page
    assert "We are sorry:" not in page
    assert page.index("is cancelled.") < page.index('class="facts"'), "the news first, then what it was"


def test_a_hybrid_talk_is_mixed_attendance_with_both_locations(cli: CLI) -> None:
    write(
        Path("events/2026-03-20-hybrid.yaml"),
        'series: Hybrid Club\ntitle: "In the Room and Online"\nstart: 2026-03-20 12:00\n'
        'venue: {name: "Room 2.14", online_url: "https://meet.example.org/hybrid"}\n',
    )
    assert cli("site", "--out", "public")[0] == 0
    data = _json_ld(Path("public/hybrid-club/2026-03-20-hybrid.html"))
    assert data["eventAttendanceMode"] == "https://schema.org/MixedEventAttendanceMode"
    location = data["location"]
    assert isinstance(location, list)
    assert [place["@type"] for place in location] == ["Place", "VirtualLocation"]
    assert location[0]["name"] == "Room 2.14"


def test_each_series_talks_name_their_own_organizer(cli: CLI) -> None:
    assert cli("site", "--out", "public")[0] == 0
    organizers = {
        page.parent.name: _json_ld(page)["organizer"]
        for page in Path("public").glob("*/*.html")
        if page.name != "index.html"
    }
    names = {key: organizer["name"] for key, organizer in organizers.items()}  # type: ignore[index]
    assert names["onkpat"] == "OnkPat Friday Seminar"
    assert names["immunology-across-borders"] == "Immunology Across Borders"
    assert len(set(names.values())) == len(names) == 4


def test_a_series_page_names_the_series_once_above_its_heading(cli: CLI) -> None:
    assert cli("site", "--out", "public")[0] == 0
    index = Path("public/onkpat/index.html").read_text()
    header = index.split('<header class="band">')[1].split("</header>")[0]
    assert header.count("OnkPat Friday Seminar") == 1


# 3. Reminders


def _reminder(cli: CLI, moment: datetime, within: str = "2h", slug: str = "*") -> tuple[str, str]:
    with clock.pinned(moment.astimezone(UTC), (f"t{number}" for number in itertools.count())):
        code, _, err = cli("remind", "--to", "a@example.org", "--within", within)
    assert code == 0, err
    [path] = Path("outbox").glob(f"{slug}-reminder-*/*.eml")
    message = read_message(path)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    return " ".join(str(html).split()), str(text).replace("\r\n", "\n")


def test_a_reminder_says_the_date_that_tomorrow_means(cli: CLI) -> None:
    html, text = _reminder(
        cli, datetime(2026, 3, 5, 12, 30, tzinfo=ZoneInfo("Europe/Stockholm")), "26h", CAR_T
    )
    assert "Tomorrow (Friday, 6 March)" in text
    assert "Tomorrow (Friday, 6 March)" in html


def test_an_online_talk_s_reminder_shows_the_event_s_zone_and_the_workspace_s(cli: CLI) -> None:
    html, text = _reminder(cli, datetime(2026, 3, 4, 9, 30, tzinfo=ZoneInfo("America/New_York")))
    assert "10:00–11:00 New York time (EST) · 16:00 Stockholm time" in " ".join(text.split())
    assert "16:00 Stockholm time" in html


def test_a_reminder_s_top_line_names_the_talk_s_own_series(cli: CLI) -> None:
    html, text = _reminder(cli, datetime(2026, 3, 4, 9, 30, tzinfo=ZoneInfo("America/New_York")))
    top = html.split("Reminder ·")[0]  # the masthead, above the band's "Reminder · Today …"
    assert "Immunology Across Borders" in top
    assert "OnkPat Friday Seminar" not in top
    assert text.startswith("Immunology Across Borders\n")


# 5. Wording and layout


def test_a_cancellation_quotes_the_title_instead_of_a_second_colon(settings: Settings) -> None:
    named = load_named(Path(EXAMPLE_EVENT), settings.defaults)
    with history(settings.workspace) as sequences:
        content = Renderer(Letterhead.of(settings)).render_event(
            named, cancellation(named, settings.sender, sequences)
        )
    expected = (
        "We are sorry to say that “CAR T Cell Therapy: From Lymphoma to Autoimmunity” with "
        "Dimitrios Mougiakakos is cancelled."
    )
    assert expected in " ".join(content.text.split())
    assert "We are sorry:" not in content.html


def test_an_update_s_change_box_has_its_own_tint_and_says_only_the_old_times_on_the_same_day(
    settings: Settings,
) -> None:
    named = load_named(Path(EXAMPLE_EVENT), settings.defaults)
    start = named.event.start
    earlier = {"start": start.replace(hour=10), "end": start.replace(hour=11)}
    before = snapshot_of(named.event.model_copy(update=earlier))
    content = Renderer(Letterhead.of(settings)).render_event(
        named, Edition("uid@example.org", 1, "g", before)
    )
    palette = palette_for(settings.brand.accent)
    [changed] = [
        element for element in _elements(content.html) if "changed" in element[1].get("class", "").split()
    ]
    [facts] = [element for element in _elements(content.html) if element[1].get("class", "") == "facts-table"]
    assert palette.notice in changed[1]["style"]
    assert palette.tint not in changed[1]["style"]
    assert palette.tint in facts[1]["style"]
    assert "was 10:00–11:00" in " ".join(content.text.split())
    assert "was Friday" not in content.text


# 4. What a mail program's calendar bar shows (tests/thunderbird_look.py measures Thunderbird)


def _descriptions(calendar: bytes) -> list[str]:
    return [str(event["DESCRIPTION"]) for event in Calendar.from_ical(calendar).walk("VEVENT")]


def test_a_digest_is_one_calendar_part_of_the_talks_on_and_a_file_for_each(settings: Settings) -> None:
    digest = _digest(settings, cancelled=(CAR_T,))
    together, *files = digest.calendars
    assert together.acted_on
    assert not any(file.acted_on for file in files), "files to open, which no mail program takes for the part"
    uids = [str(event["UID"]) for event in Calendar.from_ical(together.data).walk("VEVENT")]
    assert uids == [f"{file.filename.removesuffix('.ics')}@example.org" for file in files]
    assert f"{CAR_T}@example.org" not in uids
    zones = [str(zone["TZID"]) for zone in Calendar.from_ical(together.data).walk("VTIMEZONE")]
    assert len(zones) == len(set(zones)), "each zone once"


def test_every_message_s_calendar_opens_the_abstract_alike_and_the_site_s_has_it_whole(
    settings: Settings, cli: CLI
) -> None:
    named = load_named(Path(EXAMPLE_EVENT), settings.defaults)
    renderer = Renderer(Letterhead.of(settings))
    with history(settings.workspace) as sequences:
        edition = current_edition(named, settings.sender, sequences)
    invitation = _descriptions(renderer.render_event(named, edition).ics)[0]
    reminder = renderer.render_reminder(named, edition, "1d", datetime(2026, 3, 5, 12, tzinfo=UTC))
    second_paragraph = "Clinical experience initially obtained"
    flat = " ".join(invitation.split())
    assert "Where:" in invitation
    assert CAR_T_OPENING in flat, "the facts, then the abstract's opening"
    assert second_paragraph not in flat
    assert len(invitation) < 900, "a few lines, not a screen"
    # Thunderbird marks in red what differs from the entry it has: a reminder (or the digest's
    # entry of the talk) with less than the invitation would look like a change.
    digest = _descriptions(_digest(settings).calendars[0].data)
    assert _descriptions(reminder.ics) == [invitation]
    assert invitation in digest
    assert cli("site", "--out", "public")[0] == 0
    [page] = _descriptions(Path(f"public/onkpat/{CAR_T}.ics").read_bytes())
    assert second_paragraph in " ".join(page.split()), "the site's calendar is the whole entry"
