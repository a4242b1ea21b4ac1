"""The calendar: read back by parsers we did not write, and its time zones checked hour by hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import vobject
from ical.calendar_stream import IcsCalendarStream

from announcer.lifecycle import Organizer
from announcer.load.events import load_event
from announcer.load.settings import load_settings
from announcer.model.event import Event, EventDefaults
from announcer.model.settings import Settings
from announcer.render.calendar import build_calendar
from announcer.render.calendar_links import calendar_links
from announcer.render.filters import trim
from announcer.render.timezones import vtimezone
from announcer.render.wording import Schedule
from tests.helpers import EXAMPLE_EVENT, PINNED_NOW, render_event

ZONES = [
    "Europe/Stockholm",
    "Europe/London",
    "Europe/Dublin",  # Irish "negative" daylight saving in the database
    "America/New_York",
    "America/Sao_Paulo",  # no daylight saving any more
    "Australia/Sydney",  # southern hemisphere: daylight saving over New Year
    "Australia/Lord_Howe",  # a half-hour change
    "Asia/Kolkata",
    "Pacific/Chatham",
]


def _calendar_for(zone: str, start: str = "2026-03-06 12:00") -> str:
    event = Event.model_validate(
        {"title": "Seminar", "start": start, "timezone": zone},
        context={"defaults": EventDefaults()},
    )
    return build_calendar(
        event,
        uid="x@example.org",
        organizer=Organizer("Org", "org@example.org"),
        description="About it",
        stamp=PINNED_NOW,
        method="PUBLISH",
    ).decode()


@pytest.fixture
def example_ics(settings: Settings, pinned: None) -> str:
    return render_event(settings).ics.decode()


def test_example_is_publish_with_organizer_and_stable_uid(example_ics: str, settings: Settings) -> None:
    calendar = vobject.readOne(example_ics)
    calendar.validate()
    assert calendar.method.value == "PUBLISH"
    event = calendar.vevent
    assert event.uid.value == f"2026-03-06-car-t-cell-therapy@{settings.sender.domain}"
    assert event.organizer.value == f"mailto:{settings.sender.email}"
    assert event.organizer.params["CN"] == [settings.sender.name]
    assert not hasattr(event, "attendee")
    assert event.dtstamp.value == PINNED_NOW


def test_example_starts_friday_6_march_2026_at_noon_in_stockholm(example_ics: str) -> None:
    start = vobject.readOne(example_ics).vevent.dtstart.value
    assert start.astimezone(UTC) == datetime(2026, 3, 6, 11, 0, tzinfo=UTC)
    assert start.strftime("%A") == "Friday"
    strict = IcsCalendarStream.calendar_from_ics(example_ics).events[0]
    assert isinstance(strict.dtstart, datetime)
    assert isinstance(strict.end, datetime)
    assert strict.dtstart.astimezone(UTC) == datetime(2026, 3, 6, 11, 0, tzinfo=UTC)
    assert strict.end.astimezone(UTC) == datetime(2026, 3, 6, 12, 0, tzinfo=UTC)


def test_lines_are_crlf_and_folded(example_ics: str) -> None:
    assert "\n" not in example_ics.replace("\r\n", "")
    assert all(len(line.encode()) <= 75 for line in example_ics.split("\r\n"))


def test_description_carries_speaker_place_and_the_abstract_s_opening(example_ics: str) -> None:
    description = vobject.readOne(example_ics).vevent.description.value
    assert "Dimitrios Mougiakakos, Professor, Otto-von-Guericke Universität Magdeburg" in description
    assert "Air & Fire, SciLifeLab, Campus Solna" in description
    assert "Chimeric antigen receptor (CAR) T-cell therapy" in description
    assert "expand the therapeutic landscape." not in description, "the whole abstract is the site's"


@pytest.mark.parametrize("zone", ZONES)
def test_vtimezone_is_rrule_form_and_matches_zoneinfo_all_year(zone: str) -> None:
    ics = _calendar_for(zone)
    assert "RDATE" not in ics
    calendar = vobject.readOne(ics)
    parsed = calendar.vtimezone.gettzinfo()  # dateutil reads our VTIMEZONE, not the IANA files
    observances = calendar.vtimezone.contents
    assert len(observances.get("standard", [])) == 1
    assert len(observances.get("daylight", [])) <= 1
    reference = ZoneInfo(zone)
    moment = datetime(2026, 1, 1)
    while moment < datetime(2027, 1, 1):
        for fold in (0, 1):  # both readings of a repeated autumn hour
            local = moment.replace(fold=fold)
            if local.replace(tzinfo=reference).utcoffset() == local.replace(tzinfo=parsed).utcoffset():
                continue
            # A wall time inside a spring gap does not exist; zones may read it either way.
            back = local.replace(tzinfo=reference).astimezone(UTC).astimezone(reference)
            assert back.replace(tzinfo=None) != local.replace(fold=0), f"{zone} disagrees at {local}"
        moment += timedelta(hours=1)


def test_zone_with_irregular_changes_falls_back_to_utc_times() -> None:
    # Morocco pauses daylight saving for Ramadan, which falls twice in 2029: three changes.
    assert vtimezone(ZoneInfo("Africa/Casablanca"), 2029) is None
    ics = _calendar_for("Africa/Casablanca", "2029-06-14 12:00")
    assert "VTIMEZONE" not in ics
    start = vobject.readOne(ics).vevent.dtstart.value
    assert start == datetime(2029, 6, 14, 12, 0, tzinfo=ZoneInfo("Africa/Casablanca")).astimezone(UTC)


def test_utc_event_has_no_vtimezone() -> None:
    ics = _calendar_for("UTC")
    assert "VTIMEZONE" not in ics
    assert "DTSTART:20260306T120000Z" in ics


def test_calendar_links_carry_times_and_are_percent_encoded(settings: Settings) -> None:
    event = load_event(Path(EXAMPLE_EVENT), settings.defaults)
    links = {link.service: link.url for link in calendar_links(event)}
    assert "dates=20260306T120000%2F20260306T130000&ctz=Europe%2FStockholm" in links["Google Calendar"]
    assert "startdt=2026-03-06T11%3A00%3A00Z&enddt=2026-03-06T12%3A00%3A00Z" in links["Outlook"]
    assert "st=20260306T110000Z&et=20260306T120000Z" in links["Yahoo Calendar"]
    for url in links.values():
        assert " " not in url
        assert "+" not in url
        assert "location=Air%20%26%20Fire%2C%20SciLifeLab%2C%20Campus%20Solna" in url.replace(
            "in_loc=", "location="
        )
        assert len(url) < 400, "short enough to read past in a plain-text email"


def test_calendar_links_carry_the_join_link_of_an_online_talk(settings: Settings) -> None:
    event = load_event(Path("events/2026-03-04-engineered-tregs-online.yaml"), settings.defaults)
    assert event.venue is not None
    assert event.venue.online_url
    for link in calendar_links(event):
        assert quote(f"Join online: {event.venue.online_url}", safe="") in link.url


def test_trim_cuts_at_a_word_and_marks_it() -> None:
    assert trim("short", 100) == "short"
    cut = trim("word " * 400, limit=100)
    assert len(cut) <= 100
    assert cut.endswith("word…")


def _event_at(start: str, zone: str = "Europe/Stockholm") -> Event:
    return Event.model_validate(
        {"title": "Seminar", "start": start, "timezone": zone}, context={"defaults": EventDefaults()}
    )


def test_a_time_the_clocks_show_twice_is_refused_with_how_to_say_which() -> None:
    with pytest.raises(
        ValueError, match=r"start: 2026-10-25 02:30 happens twice in Europe/Stockholm"
    ) as caught:
        _event_at("2026-10-25 02:30")
    assert "2026-10-25 02:30 +02:00 for the first, +01:00 for the second" in str(caught.value)
    with pytest.raises(ValueError, match=r"Europe/Stockholm has another offset then"):
        _event_at("2026-10-25 02:30 +05:00")


@pytest.mark.parametrize(
    ("start", "utc_start", "utc_end"),
    [
        (
            "2026-10-25 02:30 +02:00",
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
            datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
        ),
        (
            "2026-10-25 02:30 +01:00",
            datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
            datetime(2026, 10, 25, 2, 30, tzinfo=UTC),
        ),
        (
            "2026-10-25 01:45",
            datetime(2026, 10, 24, 23, 45, tzinfo=UTC),
            datetime(2026, 10, 25, 0, 45, tzinfo=UTC),
        ),
    ],
)
def test_the_repeated_hour_is_written_as_one_instant_for_every_reader(
    start: str, utc_start: datetime, utc_end: datetime
) -> None:
    event = _event_at(start)
    assert (event.starts_at.astimezone(UTC), event.ends_at.astimezone(UTC)) == (utc_start, utc_end)
    ics = build_calendar(
        event,
        uid="x@example.org",
        organizer=Organizer("O", "o@example.org"),
        description="",
        stamp=PINNED_NOW,
        method="PUBLISH",
    ).decode()
    assert f"DTSTART:{utc_start:%Y%m%dT%H%M%SZ}" in ics, "in UTC: no reader can take the other 02:30"
    read = vobject.readOne(ics).vevent
    assert (read.dtstart.value, read.dtend.value) == (utc_start, utc_end)
    parsed = IcsCalendarStream.calendar_from_ics(ics).events[0]
    assert parsed.dtstart == utc_start


def test_the_wording_says_on_which_side_of_the_change() -> None:
    assert Schedule.of(_event_at("2026-10-25 02:30 +02:00")).times == "02:30 CEST – 02:30 CET"


def test_a_reminder_becomes_an_alarm_in_the_calendar(settings: Settings, pinned: None) -> None:
    event = Path(EXAMPLE_EVENT)
    event.write_text(event.read_text() + "reminder_minutes: 15\n")
    ics = render_event(settings).ics.decode()
    alarm = vobject.readOne(ics).vevent.valarm
    assert alarm.trigger.value == -timedelta(minutes=15)
    assert alarm.action.value == "DISPLAY"
    assert IcsCalendarStream.calendar_from_ics(ics).events[0].alarm[0].trigger == -timedelta(minutes=15)


def test_the_reminder_can_be_a_workspace_default(workspace: Path, pinned: None) -> None:
    settings = Path("announcer.toml")
    settings.write_text(
        settings.read_text().replace("duration_minutes = 60", "duration_minutes = 60\nreminder_minutes = 60")
    )
    ics = render_event(load_settings(settings)).ics.decode()
    assert "TRIGGER:-PT1H" in ics
    assert "VALARM" not in _calendar_for("UTC"), "no reminder unless asked"


def test_a_cancellation_carries_no_alarm(settings: Settings) -> None:
    event = Event.model_validate(
        {"title": "Seminar", "start": "2026-03-06 12:00", "timezone": "UTC", "reminder_minutes": 15},
        context={"defaults": EventDefaults()},
    )
    organizer = Organizer("O", "o@example.org")
    common = {"uid": "x@example.org", "organizer": organizer, "description": "", "stamp": PINNED_NOW}
    assert b"BEGIN:VALARM" in build_calendar(event, **common, method="PUBLISH")  # type: ignore[arg-type]
    cancel = build_calendar(event, **common, method="CANCEL")  # type: ignore[arg-type]
    assert b"BEGIN:VALARM" not in cancel, "RFC 5546 §3.2.5: no VALARM in a CANCEL"


def test_the_organizer_is_the_host_when_they_give_an_address_else_the_sender(settings: Settings) -> None:
    event = Path(EXAMPLE_EVENT)
    assert vobject.readOne(render_event(settings).ics.decode()).vevent.organizer.value == (
        "mailto:onkpat-seminars@example.org"
    )
    # The series gives the host's name; the event adds an address.
    event.write_text(event.read_text() + "host: {email: maurice.michel@example.org}\n")
    organizer = vobject.readOne(render_event(settings).ics.decode()).vevent.organizer
    assert organizer.value == "mailto:maurice.michel@example.org"
    assert organizer.params["CN"] == ["Maurice Michel"]


def test_an_event_must_end_after_it_starts() -> None:
    with pytest.raises(ValueError, match="end: 2026-03-06 12:00 is not after start 2026-03-06 12:00"):
        Event.model_validate(
            {"title": "Seminar", "start": "2026-03-06 12:00", "end": "2026-03-06 12:00"},
            context={"defaults": EventDefaults()},
        )
