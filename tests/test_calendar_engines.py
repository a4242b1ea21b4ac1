"""Every calendar we send, read by real calendar engines, lands at the instant zoneinfo gives.

ical.js and libical read each kind (PUBLISH, REQUEST, update, CANCEL, digest) and awkward zones;
a Radicale CalDAV server stores an event's messages in order (and out of order) and answers
time-range queries with the state a calendar should show after each.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from announcer.lifecycle import Organizer
from announcer.load.events import load_named
from announcer.model.event import Event, EventDefaults
from announcer.model.settings import Settings
from announcer.render.calendar import build_calendar
from tests.calendar_engines import radicale, read_with
from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, PINNED_NOW, configure_smtp, read_message
from tests.smtp_server import Server, smtp_server

STOCKHOLM = ZoneInfo("Europe/Stockholm")
UID = "2026-03-06-car-t-cell-therapy@example.org"


def _at(day: str, time: str, zone: ZoneInfo = STOCKHOLM) -> datetime:
    return datetime.fromisoformat(f"{day}T{time}").replace(tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class Sent:
    """A calendar we sent, and the instants and fields every engine must read from it."""

    label: str
    data: bytes
    method: str
    start: datetime
    end: datetime
    sequence: int
    attendee: str | None  # the reader named as ATTENDEE, if any


def _calendar_parts(message_bytes: bytes) -> list[tuple[str, bytes]]:
    """The attached calendars, the digest's talk files among them: (file name, octets)."""
    message = read_message(message_bytes)
    return [
        (str(part.get_filename()), bytes(part.get_payload(decode=True)))
        for part in message.walk()
        if part.get_content_type() in ("text/calendar", "application/ics") and part.get_filename()
    ]


@pytest.fixture
def server(workspace: Path) -> Iterator[Server]:
    with smtp_server() as running:
        configure_smtp(running)
        yield running


@pytest.fixture
def lifecycle(cli: CLI, server: Server, settings: Settings) -> list[Sent]:
    """An RSVP invitation, its move to 14:00, its cancellation (all by SMTP), a published
    invitation and a digest (dry runs): the first recipient's calendar of each."""
    smtp = ("--to", EXAMPLE_RECIPIENTS, "--transport", "smtp", "--past")
    first = "asa.lindqvist@example.org"
    assert cli("send", EXAMPLE_EVENT, *smtp, "--rsvp")[0] == 0
    event = Path(EXAMPLE_EVENT)
    event.write_text(
        event.read_text()
        .replace("2026-03-06 12:00", "2026-03-06 14:00")
        .replace("2026-03-06 13:00", "2026-03-06 15:00")
    )
    assert cli("send", EXAMPLE_EVENT, *smtp)[0] == 0
    assert cli("cancel", EXAMPLE_EVENT, "--transport", "smtp", "--past")[0] == 0
    request, update, cancel = (
        _calendar_parts(server.handler.received[index].data)[0][1] for index in (0, 5, 10)
    )
    other = "events/2026-03-13-tumour-microenvironment.yaml"
    assert cli("send", other, "--to", EXAMPLE_RECIPIENTS)[0] == 0
    assert cli("digest", "events", "--to", EXAMPLE_RECIPIENTS, "--from", "2026-03-02")[0] == 0
    published = next(Path("outbox/2026-03-13-tumour-microenvironment").glob("*.eml")).read_bytes()
    digest = next(Path("outbox/digest-2026-03-02").glob("*.eml")).read_bytes()
    return [
        Sent(
            "request",
            request,
            "REQUEST",
            _at("2026-03-06", "12:00"),
            _at("2026-03-06", "13:00"),
            0,
            first,
        ),
        Sent(
            "update",
            update,
            "REQUEST",
            _at("2026-03-06", "14:00"),
            _at("2026-03-06", "15:00"),
            1,
            first,
        ),
        Sent(
            "cancel",
            cancel,
            "CANCEL",
            _at("2026-03-06", "14:00"),
            _at("2026-03-06", "15:00"),
            2,
            first,
        ),
        Sent(
            "publish",
            _calendar_parts(published)[0][1],
            "PUBLISH",
            _at("2026-03-13", "12:00"),
            _at("2026-03-13", "13:00"),
            0,
            None,
        ),
        # each talk's own file (the part of them all holds the same VEVENTs: test_digest)
        *(
            _in_digest(name, data, settings)
            for name, data in _calendar_parts(digest)
            if not name.startswith("all-talks-")
        ),
    ]


def _in_digest(name: str, data: bytes, settings: Settings) -> Sent:
    """A digest's calendar, with the instants its event file gives."""
    event = load_named(Path("events") / name.replace(".ics", ".yaml"), settings.defaults).event
    return Sent(
        f"digest: {name}",
        data,
        "PUBLISH",
        event.starts_at.astimezone(UTC),
        event.ends_at.astimezone(UTC),
        0,
        None,
    )


@pytest.mark.parametrize("engine", ["ical.js", "libical"])
def test_every_kind_of_calendar_lands_at_the_right_instant(
    engine: str, lifecycle: list[Sent], tmp_path: Path
) -> None:
    assert len(lifecycle) >= 6, "request, update, cancel, publish and a digest of two or more"
    for sent, read in zip(
        lifecycle, read_with(engine, [sent.data for sent in lifecycle], tmp_path), strict=True
    ):
        assert read.method == sent.method, sent.label
        (event,) = read.events
        assert (event.start, event.end) == (sent.start, sent.end), f"{engine} misreads the {sent.label}"
        assert event.sequence == sent.sequence, sent.label
        assert event.status == ("CANCELLED" if sent.method == "CANCEL" else "CONFIRMED"), sent.label
        assert event.attendees == ((f"mailto:{sent.attendee}",) if sent.attendee else ()), sent.label


AWKWARD = [
    ("Europe/Stockholm", "2026-03-29 03:30"),  # the first hour after the clocks go forward
    ("Europe/Stockholm", "2026-10-25 03:30"),  # the first hour after they go back
    ("Europe/Stockholm", "2026-10-25 02:30 +01:00"),  # the repeated hour, said which
    ("America/St_Johns", "2026-03-08 12:00"),  # a half-hour offset on its change day
    ("Australia/Lord_Howe", "2026-04-05 12:00"),  # a half-hour change
    ("Pacific/Chatham", "2026-04-05 12:00"),
    ("Asia/Kolkata", "2026-03-06 12:00"),
    ("America/Sao_Paulo", "2026-11-01 12:00"),  # no daylight saving any more
    ("Australia/Sydney", "2026-01-02 12:00"),  # southern summer time over New Year
    ("Africa/Casablanca", "2026-02-20 12:00"),  # Ramadan's hour
]


@pytest.mark.parametrize("engine", ["ical.js", "libical"])
def test_awkward_zones_and_daylight_saving_days_land_at_the_right_instant(
    engine: str, tmp_path: Path
) -> None:
    events = [
        Event.model_validate(
            {"title": "Seminar", "start": start, "timezone": zone}, context={"defaults": EventDefaults()}
        )
        for zone, start in AWKWARD
    ]
    calendars = [
        build_calendar(
            event,
            uid="x@example.org",
            organizer=Organizer("O", "o@example.org"),
            description="",
            stamp=PINNED_NOW,
            method="PUBLISH",
        )
        for event in events
    ]
    for (zone, start), event, read in zip(
        AWKWARD, events, read_with(engine, calendars, tmp_path), strict=True
    ):
        (found,) = read.events
        assert found.start == event.starts_at.astimezone(UTC), f"{engine}: {start} in {zone}"
        assert found.end == event.ends_at.astimezone(UTC), f"{engine}: {start} in {zone} (end)"


def test_a_caldav_server_holds_the_right_state_after_each_message(
    lifecycle: list[Sent], tmp_path: Path
) -> None:
    request, update, cancel = lifecycle[:3]
    old_slot, new_slot = (request.start, request.end), (update.start, update.end)
    with radicale(tmp_path / "radicale") as calendar:
        assert calendar.store(request.data)
        (found,) = calendar.between(*old_slot)
        assert found.walk("VEVENT")[0]["SEQUENCE"] == 0
        assert "METHOD" not in found, "a stored object carries no METHOD (RFC 4791 §4.1)"

        assert calendar.store(update.data)
        assert calendar.between(*old_slot) == [], "moved away from 12:00"
        (found,) = calendar.between(*new_slot)
        assert (found.walk("VEVENT")[0]["SEQUENCE"], str(found.walk("VEVENT")[0]["STATUS"])) == (
            1,
            "CONFIRMED",
        )

        assert not calendar.store(request.data), "the original arriving late changes nothing"
        assert calendar.store(cancel.data)
        (found,) = calendar.between(*new_slot)
        assert str(found.walk("VEVENT")[0]["STATUS"]) == "CANCELLED"
        assert not calendar.store(update.data), "nor does a late update after the cancellation"
        assert str(calendar.between(*new_slot)[0].walk("VEVENT")[0]["STATUS"]) == "CANCELLED"


def test_an_update_that_arrives_before_the_original_wins(lifecycle: list[Sent], tmp_path: Path) -> None:
    request, update = lifecycle[:2]
    with radicale(tmp_path / "radicale") as calendar:
        assert calendar.store(update.data)
        assert not calendar.store(request.data)
        assert calendar.between(request.start, request.end) == []
        (found,) = calendar.between(update.start, update.end)
        assert found.walk("VEVENT")[0]["UID"] == UID
