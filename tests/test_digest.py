"""The weekly digest: the right events, on the right days, at the right times."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
import vobject
from ical.calendar_stream import IcsCalendarStream

from announcer.errors import EventError
from announcer.load.events import load_events
from announcer.model.settings import Settings
from announcer.model.window import Window, in_window
from tests.helpers import CLI, EXAMPLE_RECIPIENTS, render_digest_of, write

EXAMPLE_WINDOW = Window(date(2026, 3, 2), 7)


def _event(title: str, start: str, zone: str = "Europe/Stockholm", **extra: str) -> str:
    lines = [f'title: "{title}"', f"start: {start}", f"timezone: {zone}", "speakers: [{name: Ada Example}]"]
    lines += [f"{key}: {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\nabstract: |\n  A first paragraph about the talk.\n\n  A second one.\n"


def _slugs(settings: Settings, window: Window, folder: str = "events") -> list[str]:
    return [named.slug for named in in_window(load_events(Path(folder), settings.defaults), window)]


def _read(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_example_window_holds_the_four_talks_of_that_week(settings: Settings) -> None:
    assert _slugs(settings, EXAMPLE_WINDOW) == [
        "2026-03-02-thymus-atlas",
        "2026-03-04-engineered-tregs-online",
        "2026-03-05-computational-pathology",
        "2026-03-06-car-t-cell-therapy",
    ]


def test_window_start_is_in_and_its_end_is_out(settings: Settings) -> None:
    write(Path("edge/at-start.yaml"), _event("At the start", "2026-03-02 00:00"))
    write(Path("edge/just-before.yaml"), _event("Just before", "2026-03-01 23:59"))
    write(Path("edge/last-minute.yaml"), _event("Last minute", "2026-03-08 23:59"))
    write(Path("edge/at-end.yaml"), _event("At the end", "2026-03-09 00:00"))
    assert _slugs(settings, EXAMPLE_WINDOW, "edge") == ["at-start", "last-minute"]


def test_an_event_in_another_zone_is_listed_under_its_own_day(settings: Settings, pinned: None) -> None:
    write(Path("zones/new-york.yaml"), _event("Late in New York", "2026-03-08 22:30", "America/New_York"))
    write(Path("zones/stockholm.yaml"), _event("Monday morning", "2026-03-09 09:00"))
    assert _slugs(settings, EXAMPLE_WINDOW, "zones") == ["new-york"], "Sunday in New York is Monday here"
    content = render_digest_of(settings, EXAMPLE_WINDOW, "zones")
    assert "SUNDAY, 8 MARCH\n\n22:30–23:30 New York time (EDT) · Mon 03:30 Stockholm time" in content.text
    calendar = vobject.readOne(content.ics.decode())
    assert calendar.vevent.dtstart.value.astimezone(UTC) == datetime(2026, 3, 9, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("first", "before", "after", "utc_before", "utc_after"),
    [
        pytest.param(date(2026, 3, 23), "2026-03-28", "2026-03-29", 11, 10, id="spring-forward"),
        pytest.param(date(2026, 10, 19), "2026-10-24", "2026-10-25", 10, 11, id="fall-back"),
    ],
)
def test_daylight_saving_inside_the_window_keeps_times_right(
    settings: Settings, pinned: None, first: date, before: str, after: str, utc_before: int, utc_after: int
) -> None:
    write(Path("dst/a-before.yaml"), _event("Before the change", f"{before} 12:00"))
    write(Path("dst/b-after.yaml"), _event("After the change", f"{after} 12:00"))
    window = Window(first, 7)
    content = render_digest_of(settings, window, "dst")
    starts = [vobject.readOne(c.data.decode()).vevent.dtstart.value for c in content.calendars[1:]]
    assert [start.astimezone(UTC).hour for start in starts] == [utc_before, utc_after]
    assert content.text.count("12:00–13:00 Stockholm time") == 2


def test_digest_command_writes_one_message_per_recipient_with_a_calendar_per_event(cli: CLI) -> None:
    code, out, err = cli("digest", "events", "--to", EXAMPLE_RECIPIENTS, "--from", "2026-03-02")
    assert code == 0, out + err
    paths = sorted(Path("outbox/digest-2026-03-02").glob("*.eml"))
    assert len(paths) == 5
    message = _read(paths[0])
    assert str(message["Subject"]).startswith("Seminars 2 – 6 March: Mapping the Developing Human Thymus")
    assert "Dear Åsa Lindqvist," in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    together, *attachments = list(message.iter_attachments())
    slugs = [
        "2026-03-02-thymus-atlas",
        "2026-03-04-engineered-tregs-online",
        "2026-03-05-computational-pathology",
        "2026-03-06-car-t-cell-therapy",
    ]
    assert [part.get_filename() for part in attachments] == [f"{slug}.ics" for slug in slugs]
    # One calendar part holds every talk (a mail program acts on one such part: Thunderbird adds
    # them all with one click); each talk is also a file of its own to open.
    assert (together.get_content_type(), together.get_filename()) == (
        "text/calendar",
        "all-talks-2026-03-02.ics",
    )
    assert together.get_param("method") == "PUBLISH"
    whole = IcsCalendarStream.calendar_from_ics(together.get_content())
    assert [event.uid for event in whole.events] == [f"{slug}@example.org" for slug in slugs]
    for part in attachments:
        assert part.get_content_type() == "application/ics"
        text = part.get_content().decode()
        calendar = IcsCalendarStream.calendar_from_ics(text)
        assert len(calendar.events) == 1
        slug = part.get_filename().removesuffix(".ics")  # type: ignore[union-attr]
        assert calendar.events[0].uid == f"{slug}@example.org", "the same UID as the event's invitation"
        vobject.readOne(text).validate()


def test_every_digest_link_is_in_the_text(cli: CLI) -> None:
    assert cli("digest", "events", "--to", "list@example.org", "--from", "2026-03-02")[0] == 0
    (path,) = Path("outbox/digest-2026-03-02").glob("*.eml")
    message = _read(path)
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    for link in {link.replace("&amp;", "&") for link in re.findall(r'href="([^"#][^"]*)"', html)}:
        assert link.removeprefix("mailto:").split("?")[0] in text, link


def test_an_empty_window_sends_nothing_unless_allowed(cli: CLI) -> None:
    code, out, _ = cli("digest", "events", "--to", EXAMPLE_RECIPIENTS, "--from", "2026-07-01")
    assert code == 0
    assert "no event in events/ starts 1\u2009–\u20097 July: nothing sent" in out
    assert not Path("outbox").exists()
    code, out, err = cli(
        "digest", "events", "--to", "list@example.org", "--from", "2026-07-01", "--allow-empty"
    )
    assert code == 0, out + err
    (path,) = Path("outbox/digest-2026-07-01").glob("*.eml")
    message = _read(path)
    assert str(message["Subject"]) == "No seminars 1 – 7 July"
    assert "There are no seminars for 1\u2009–\u20097 July." in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_default_window_is_the_next_seven_days_in_the_settings_zone(cli: CLI, pinned: None) -> None:
    write(Path("soon/a.yaml"), _event("Soon", "2026-02-23 10:00"))  # the clock is pinned to 20 February
    write(Path("soon/b.yaml"), _event("Too late", "2026-02-27 10:00"))
    code, out, err = cli("digest", "soon", "--to", "list@example.org")
    assert code == 0, out + err
    (path,) = Path("outbox/digest-2026-02-20").glob("*.eml")
    assert str(_read(path)["Subject"]) == "Seminars 23 February: Soon"


def test_a_broken_event_file_is_named_and_left_out_and_the_digest_goes_out(cli: CLI) -> None:
    write(Path("events/broken.yaml"), "title: x\nstart: someday\n")
    code, out, err = cli("digest", "events", "--to", EXAMPLE_RECIPIENTS, "--from", "2026-03-02")
    assert code == 4, "done, but a file needs a look"
    assert "skipped: events/broken.yaml:2: start: 'someday' is not a date and time" in err
    assert "left out 1 event file that cannot be read (events/broken.yaml)" in err
    assert out.startswith("wrote 5 messages to outbox/digest-2026-03-02")
    code, out, err = cli("digest", "events", "--to", EXAMPLE_RECIPIENTS, "--from", "2031-01-06")
    assert code == 4, "nothing in the window: still said"
    assert "skipped: events/broken.yaml:2" in err


def test_bad_from_is_a_usage_error(cli: CLI) -> None:
    code, _, err = cli("digest", "events", "--to", EXAMPLE_RECIPIENTS, "--from", "next monday")
    assert code == 2
    assert "'next monday': give a day like 2026-03-02" in err


def test_fifteen_events_stay_under_gmail_clipping(settings: Settings, pinned: None) -> None:
    seed = Path("events/2026-03-06-car-t-cell-therapy.yaml").read_text()
    for number in range(15):
        day, hour = 2 + number // 3, 9 + 3 * (number % 3)
        write(
            Path(f"many/talk-{number:02d}.yaml"),
            seed.replace("2026-03-06 12:00", f"2026-03-{day:02d} {hour:02d}:00").replace(
                "2026-03-06 13:00", f"2026-03-{day:02d} {hour + 1:02d}:00"
            ),
        )
    assert len(_slugs(settings, EXAMPLE_WINDOW, "many")) == 15
    content = render_digest_of(settings, EXAMPLE_WINDOW, "many")
    assert len(content.html.encode()) < 102_000
    assert len(content.calendars) == 1 + 15
    assert "Read the abstract" not in content.html, "too long for the abstracts: they are left out"
    assert content.text.count("The abstract is below.") == 15, "the text is never clipped: it keeps them"
    for number in range(3, 15):
        Path(f"many/talk-{number:02d}.yaml").unlink()
    few = render_digest_of(settings, EXAMPLE_WINDOW, "many")
    assert few.html.count(">Read the abstract</a>") == 3, "a short digest keeps them"


def test_broken_folder_argument(settings: Settings) -> None:
    with pytest.raises(EventError, match="nowhere: not a folder of event files"):
        load_events(Path("nowhere"), settings.defaults)


def test_a_short_abstract_is_shown_once_and_a_long_one_in_full(settings: Settings, pinned: None) -> None:
    write(
        Path("two/short.yaml"),
        _event("Short", "2026-03-03 10:00").split("abstract:")[0] + "abstract: Brief.\n",
    )
    write(Path("two/long.yaml"), _event("Long", "2026-03-04 10:00"))
    content = render_digest_of(settings, EXAMPLE_WINDOW, "two")
    assert content.text.count("Brief.") == 1, "a teaser that is the whole abstract is not repeated"
    assert content.html.count("Brief.") == 1
    assert "A second one." in content.text, "the long one is there in full"


def test_a_digest_reader_sees_their_own_time_once(cli: CLI) -> None:
    Path("recipients/zones.csv").write_text(
        "email,timezone\nsthlm@example.org,Europe/Stockholm\ntokyo@example.org,Asia/Tokyo\n"
    )
    assert cli("digest", "events", "--to", "recipients/zones.csv", "--from", "2026-03-02")[0] == 0
    sthlm, tokyo = (
        str(_read(path).get_body(("plain",)).get_content())  # type: ignore[union-attr]
        for path in sorted(Path("outbox/digest-2026-03-02").glob("*.eml"))
    )
    assert "10:00–11:00 New York time (EST) · 16:00 Stockholm time\r\n" in sthlm, "shown once, not twice"
    assert "your time" not in sthlm
    assert "10:00–11:00 New York time (EST) · 16:00 Stockholm time\r\nThu 00:00 your time (JST)" in tokyo
