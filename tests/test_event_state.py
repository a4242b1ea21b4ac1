"""Every message true to the event's state: a cancelled event comes back only when the organiser
says so, and then as a reinstatement."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from icalendar import Calendar

from tests.helpers import CLI, EXAMPLE_EVENT, configure_smtp
from tests.smtp_server import Server, smtp_server

READERS = "recipients/multilingual.csv"  # en, sv and de
TITLE = "CAR T Cell Therapy: From Lymphoma to Autoimmunity"


@pytest.fixture
def server(workspace: Path, pinned: None) -> Iterator[Server]:
    with smtp_server() as running:
        configure_smtp(running)
        yield running


def _smtp(cli: CLI, verb: str, *extra: str) -> tuple[int, str, str]:
    return cli(verb, EXAMPLE_EVENT, "--to", READERS, "--transport", "smtp", *extra)


def _calendar(message: EmailMessage) -> Calendar:
    (attached,) = message.iter_attachments()
    return Calendar.from_ical(attached.get_content())


def _by_language(messages: list[EmailMessage]) -> dict[str, EmailMessage]:
    return {str(message["Content-Language"]): message for message in messages}


def test_a_cancelled_event_is_refused_until_the_organiser_says_it_is_back_on(
    cli: CLI, server: Server
) -> None:
    assert _smtp(cli, "send")[0] == 0
    assert _smtp(cli, "cancel")[0] == 0
    assert len(server.handler.received) == 6

    code, out, err = _smtp(cli, "send")
    assert code == 1, out + err
    assert (
        f"error: {EXAMPLE_EVENT}: was cancelled on 2026-02-20: nothing was sent; "
        "if it is back on, say so with --reinstate"
    ) in err
    assert cli("send", EXAMPLE_EVENT, "--to", READERS)[0] == 1, "a dry run shows the same refusal"
    assert len(server.handler.received) == 6

    code, out, err = cli("check", EXAMPLE_EVENT)
    assert code == 0, out + err
    assert f"pre-flight: {EXAMPLE_EVENT}, the next send: reinstatement (SEQUENCE 2), needs --reinstate" in out

    code, out, err = _smtp(cli, "send", "--reinstate")
    assert code == 0, out + err
    assert "sent 3 of 3 by SMTP" in out
    back = _by_language([item.message for item in server.handler.received[6:]])
    assert {language: str(message["Subject"]).split(" CAR T")[0] for language, message in back.items()} == {
        "en": "Back on:",
        "sv": "Blir av igen:",
        "de": "Findet doch statt:",
    }
    text = back["en"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "THIS EVENT IS BACK ON" in text.split("Dear")[0], "said first, as an update's change is"
    head = " ".join(text.split("Dear")[0].split())
    assert "Opening the attached invite.ics puts it back in your calendar." in head, "the cancel removed it"
    assert "Dieser Termin findet doch statt" in back["de"].get_body(("html",)).get_content()  # type: ignore[union-attr]
    event = _calendar(back["en"]).walk("VEVENT")[0]
    assert (event["STATUS"], event["SEQUENCE"]) == ("CONFIRMED", 2), "back in calendars, above the CANCEL"
    assert str(_calendar(back["en"])["METHOD"]) == "PUBLISH"
    assert "reinstatement (SEQUENCE 2): 3 delivered" in cli("status", EXAMPLE_EVENT)[1]

    code, out, _ = _smtp(cli, "send")
    assert (code, "sent 0 of 3 by SMTP; 3 had it already" in out) == (0, True), "back on: a plain re-run"
    assert len(server.handler.received) == 9
    code, out, _ = _smtp(cli, "cancel")
    assert code == 0
    again = _calendar(server.handler.received[9].message).walk("VEVENT")[0]
    assert (again["STATUS"], again["SEQUENCE"]) == ("CANCELLED", 3), "cancelled again, SEQUENCE raised"


def test_a_reinstatement_says_what_changed_since_the_cancellation(cli: CLI, server: Server) -> None:
    assert _smtp(cli, "send")[0] == 0
    assert _smtp(cli, "cancel")[0] == 0
    event = Path(EXAMPLE_EVENT)
    moved = (
        event.read_text()
        .replace("2026-03-06 12:00", "2026-03-06 14:00")
        .replace("2026-03-06 13:00", "2026-03-06 15:00")
    )
    event.write_text(moved)
    code, out, err = _smtp(cli, "send", "--reinstate")
    assert code == 0, out + err
    english = _by_language([item.message for item in server.handler.received[6:]])["en"]
    assert str(english["Subject"]).startswith(f"Back on: {TITLE}")
    text = english.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "THIS EVENT IS BACK ON" in text
    assert "was 12:00–13:00" in text, "the old time, on the same day"


def test_reinstate_on_an_event_that_was_never_cancelled_is_said_and_changes_nothing(cli: CLI) -> None:
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", READERS, "--reinstate")
    assert code == 0, out + err
    assert "not cancelled, so there is nothing to reinstate" in err


@pytest.fixture
def today_server(workspace: Path) -> Iterator[Server]:
    """An SMTP server, the clock at today's real time: the example's talk of March 2026 is over."""
    with smtp_server() as running:
        configure_smtp(running)
        yield running


def test_nothing_real_goes_out_for_an_event_that_is_over_unless_asked(cli: CLI, today_server: Server) -> None:
    over = f"{EXAMPLE_EVENT}: the event is over (it ended 2026-03-06 13:00 CET)"
    refused = f"error: {over}: nothing was sent; to send it all the same, say so with --past"
    for verb, *extra in (("send",), ("send", "--test-to", "me@example.org"), ("cancel",)):
        code, out, err = _smtp(cli, verb, *extra)
        assert (code, refused in err) == (1, True), out + err
    assert today_server.handler.received == [], "neither the list nor a test address got anything"

    code, out, err = cli("send", EXAMPLE_EVENT, "--to", READERS)
    assert code == 0, out + err
    assert f"warning: {over}; a real send needs --past" in err
    assert "wrote 3 messages" in out, "a dry run still shows the messages"

    code, out, err = cli("check", EXAMPLE_EVENT)
    assert code == 0, out + err
    assert f"warning: {over}; a real send needs --past" in err
    assert f"pre-flight: {EXAMPLE_EVENT}, the next send: invitation (SEQUENCE 0), needs --past" in out

    code, out, err = _smtp(cli, "send", "--past")
    assert code == 0, out + err
    assert "sent 3 of 3 by SMTP" in out
    assert f"warning: {over}\n" in err, "said, not refused"
    code, out, err = _smtp(cli, "cancel", "--past")
    assert (code, "sent 3 of 3 by SMTP" in out) == (0, True), out + err
    assert len(today_server.handler.received) == 6


def test_send_and_cancel_name_past_in_their_help(cli: CLI) -> None:
    for verb in ("send", "cancel"):
        code, out, _ = cli(verb, "--help")
        assert code == 0
        assert "--past" in out
        assert "The event is over: send it for real all the same" in " ".join(out.split())
