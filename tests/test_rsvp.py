"""RSVP: invitations that ask each reader to answer (iTIP REQUEST), and the answers counted."""

from __future__ import annotations

import csv
import io
import mailbox
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from icalendar import Calendar, Event, vCalAddress

from announcer.load.replies import read_replies
from announcer.model.reply import Answer, Reply
from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, configure_smtp, read_message
from tests.smtp_server import Server, smtp_server

FIXTURES = Path(__file__).parent / "fixtures" / "replies"
UID = "2026-03-06-car-t-cell-therapy@example.org"
ORGANIZER = "onkpat-seminars@example.org"


def _calendars(message: EmailMessage) -> tuple[list[EmailMessage], list[EmailMessage]]:
    """The inline and the attached text/calendar parts."""
    parts = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    return [p for p in parts if not p.get_filename()], [p for p in parts if p.get_filename()]


def _event_of(part: EmailMessage) -> Event:
    calendar = Calendar.from_ical(part.get_content())
    (event,) = calendar.walk("VEVENT")
    assert isinstance(event, Event)
    return event


def reply(
    attendee: str,
    answer: str,
    stamp: str,
    *,
    uid: str = UID,
    sender: str | None = None,
    sequence: int = 0,
    name: str = "",
    sent_by: str = "",
) -> bytes:
    """A reply as `icalendar` writes one, in a message from `sender` (the attendee by default)."""
    calendar = Calendar()
    calendar.add("PRODID", "-//test//replies//EN")
    calendar.add("VERSION", "2.0")
    calendar.add("METHOD", "REPLY")
    event = Event()
    event.add("UID", uid)
    event.add("SEQUENCE", sequence)
    event.add("DTSTAMP", datetime.fromisoformat(stamp).replace(tzinfo=UTC))
    event.add("DTSTART", datetime(2026, 3, 6, 11, tzinfo=UTC))
    event.add("ORGANIZER", vCalAddress(f"mailto:{ORGANIZER}"))
    address = vCalAddress(f"mailto:{attendee}")
    address.params["PARTSTAT"] = answer
    if name:
        address.params["CN"] = name
    if sent_by:
        address.params["SENT-BY"] = f"mailto:{sent_by}"
    event.add("ATTENDEE", address)
    calendar.add_component(event)
    message = EmailMessage()
    message["From"] = sender or attendee
    message["To"] = ORGANIZER
    message["Subject"] = f"{answer.title()}: the seminar"
    message.set_content(f"{attendee} answered {answer}.")
    message.add_alternative(calendar.to_ical().decode(), subtype="calendar", params={"method": "REPLY"})
    return message.as_bytes()


def maildir(path: Path, *messages: bytes) -> Path:
    box = mailbox.Maildir(path, create=True)
    for message in messages:
        box.add(message)
    box.close()
    return path


# The invitation ---------------------------------------------------------------------------------


def test_rsvp_invites_each_reader_as_the_attendee_of_an_itip_request(cli: CLI) -> None:
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--rsvp")
    assert code == 0, out + err
    files = sorted(Path("outbox/2026-03-06-car-t-cell-therapy").glob("*.eml"))
    assert len(files) == 5
    for file in files:
        message = read_message(file)
        inline, attached = _calendars(message)
        assert [part.get_param("method") for part in inline + attached] == ["REQUEST", "REQUEST"]
        assert message.get_content_type() == "multipart/mixed"
        alternative = next(message.iter_parts())
        assert alternative.get_content_type() == "multipart/alternative"
        assert [part.get_content_type() for part in alternative.iter_parts()] == [
            "text/plain",
            "text/html",
            "text/calendar",
        ], "the iTIP part sits in the alternative, beside text and HTML"
        assert inline[0].get_content() == attached[0].get_content()
        event = _event_of(attached[0])
        assert Calendar.from_ical(attached[0].get_content())["METHOD"] == "REQUEST"
        (attendee,) = [event["ATTENDEE"]]
        to = message["To"].addresses[0]
        assert str(attendee) == f"mailto:{to.addr_spec}"
        assert attendee.params["CN"] == to.display_name
        assert (attendee.params["RSVP"], attendee.params["PARTSTAT"]) == ("TRUE", "NEEDS-ACTION")
        assert str(event["ORGANIZER"]) == f"mailto:{ORGANIZER}"
        text = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
        assert "Will you come? Answer Yes, Maybe or No" in text
        assert "calendar.google.com" not in text, "a second, unlinked calendar entry would not be the meeting"


def test_without_rsvp_the_calendar_is_published_to_nobody_in_particular(cli: CLI) -> None:
    assert cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS)[0] == 0
    message = read_message(next(Path("outbox/2026-03-06-car-t-cell-therapy").glob("*.eml")))
    inline, attached = _calendars(message)
    assert inline == []
    assert [part.get_param("method") for part in attached] == ["PUBLISH"]
    assert "ATTENDEE" not in _event_of(attached[0])


def test_a_test_send_names_the_tester_as_the_attendee(cli: CLI) -> None:
    code, out, err = cli(
        "send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--rsvp", "--test-to", "tester@example.net"
    )
    assert code == 0, out + err
    (file,) = Path("outbox/2026-03-06-car-t-cell-therapy-test").glob("*.eml")
    event = _event_of(_calendars(read_message(file))[1][0])
    assert str(event["ATTENDEE"]) == "mailto:tester@example.net"


def test_a_reader_s_name_cannot_break_out_of_the_attendee_line(cli: CLI) -> None:
    hostile = 'Eve "Admin";ROLE=CHAIR:mailto:boss@example.org'
    Path(EXAMPLE_RECIPIENTS).write_text(
        f'email,name\neve@example.org,"{hostile.replace(chr(34), 2 * chr(34))}"\n'
    )
    assert cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--rsvp")[0] == 0
    message = read_message(next(Path("outbox/2026-03-06-car-t-cell-therapy").glob("*.eml")))
    event = _event_of(_calendars(message)[1][0])
    attendee = event["ATTENDEE"]
    assert str(attendee) == "mailto:eve@example.org"
    assert attendee.params["CN"] == hostile
    assert attendee.params["ROLE"] == "REQ-PARTICIPANT"


@pytest.fixture
def plain_server(workspace: Path) -> Iterator[Server]:
    with smtp_server() as server:
        configure_smtp(server)
        yield server


def test_updates_and_the_cancellation_of_an_rsvp_event_stay_requests_to_each_attendee(
    cli: CLI, plain_server: Server
) -> None:
    smtp = ("--to", EXAMPLE_RECIPIENTS, "--transport", "smtp", "--past")
    assert cli("send", EXAMPLE_EVENT, *smtp, "--rsvp")[0] == 0
    event = Path(EXAMPLE_EVENT)
    event.write_text(event.read_text().replace("2026-03-06 12:00", "2026-03-06 12:30"))
    code, out, err = cli("send", EXAMPLE_EVENT, *smtp)  # no --rsvp: the event asked for replies before
    assert code == 0, out + err
    assert "asking for replies (--rsvp), as an earlier real send of this event did" in err
    code, out, err = cli("cancel", EXAMPLE_EVENT, "--transport", "smtp", "--past")
    assert code == 0, out + err
    received = plain_server.handler.received
    assert len(received) == 15
    for number, item in enumerate(received):
        inline, attached = _calendars(item.message)
        method, sequence = ("REQUEST", number // 5) if number < 10 else ("CANCEL", 2)
        assert [part.get_param("method") for part in inline + attached] == [method, method]
        calendar_event = _event_of(attached[0])
        assert calendar_event.get("SEQUENCE") == sequence
        assert str(calendar_event["ATTENDEE"]) == f"mailto:{item.rcpt_tos[0]}", "the one it was sent to"
        assert str(calendar_event["ORGANIZER"]) == f"mailto:{ORGANIZER}", "the organiser never changes"
    update_subject = str(received[5].message["Subject"])
    assert update_subject.startswith("New time:")


# The answers ------------------------------------------------------------------------------------


def test_replies_written_by_gmail_outlook_and_apple_are_read() -> None:
    found = [item for item in read_replies(FIXTURES) if isinstance(item, Reply)]
    answers = {item.attendee: (item.answer, item.name, item.sender) for item in found}
    assert answers == {
        "asa.lindqvist@example.org": (Answer.ACCEPTED, "Åsa Lindqvist", "asa.lindqvist@example.org"),
        "jurgen.mueller@example.org": (Answer.DECLINED, "Jürgen Müller", "jurgen.mueller@example.org"),
        "siobhan.oconnell@example.com": (
            Answer.TENTATIVE,
            "Siobhán Ó Conaill",
            "siobhan.oconnell@example.com",
        ),
    }, "Gmail's inline and attached copies count once; Outlook's upper-case From matches"
    outlook = next(item for item in found if item.answer is Answer.DECLINED)
    assert outlook.comment == "Sorry, I teach on Friday mornings."
    assert outlook.stamp == datetime(2026, 3, 2, 9, 45, 1, tzinfo=UTC)


def test_rsvps_counts_the_answers_in_a_maildir(cli: CLI, workspace: Path) -> None:
    box = maildir(workspace / "Mail", *(file.read_bytes() for file in sorted(FIXTURES.glob("*.eml"))))
    code, out, err = cli("rsvps", EXAMPLE_EVENT, "--mailbox", str(box))
    assert code == 0, out + err
    assert out.splitlines()[1:] == [
        "  yes    Åsa Lindqvist <asa.lindqvist@example.org>",
        "  maybe  Siobhán Ó Conaill <siobhan.oconnell@example.com>",
        '  no     Jürgen Müller <jurgen.mueller@example.org>  "Sorry, I teach on Friday mornings."',
        "3 answers: 1 yes, 1 maybe, 1 no.",
        "For the room: 2 (yes and maybe). For the lunch order: 1 (yes).",
    ]


def test_forged_duplicate_foreign_and_broken_replies_are_reported_never_counted_twice(
    cli: CLI, workspace: Path
) -> None:
    mbox_path = workspace / "replies.mbox"
    box = mailbox.mbox(mbox_path)
    for message in (
        reply("zoe.martin@example.net", "ACCEPTED", "2026-03-03T10:00:00"),
        reply("zoe.martin@example.net", "DECLINED", "2026-03-02T10:00:00"),  # older, though later in the box
        reply("chen.wei@example.org", "ACCEPTED", "2026-03-03T11:00:00", sender="mallory@example.com"),
        reply(
            "chen.wei@example.org",
            "TENTATIVE",
            "2026-03-03T12:00:00",
            sent_by="pa@example.org",
            sender="PA@example.org",
        ),
        reply("asa.lindqvist@example.org", "ACCEPTED", "2026-03-03T12:00:00", uid="another@example.org"),
        b"From: x@example.org\nContent-Type: text/calendar; method=REPLY\n\nBEGIN:VCALENDAR\nBEGIN:VEVENT\n",
        b"\x00\xff garbage \xfe",
    ):
        box.add(message)
    box.close()
    code, out, err = cli("rsvps", EXAMPLE_EVENT, "--mailbox", str(mbox_path))
    assert code == 0, out + err
    assert "  yes    zoe.martin@example.net" in out, "the latest DTSTAMP wins, not the mailbox order"
    assert "chen.wei" not in out.split("\nnote:")[0], "SENT-BY is the sender's word about itself"
    assert "1 answer: 1 yes." in out
    assert (
        "note: replies.mbox, message 3: answers for chen.wei@example.org but was sent by "
        "mallory@example.com: not counted" in out
    )
    assert (
        "note: replies.mbox, message 4: answers for chen.wei@example.org but was sent by "
        "pa@example.org, whom only the reply itself names as their delegate (SENT-BY): not counted" in out
    )
    assert "note: 1 earlier answer replaced by a later one" in out
    assert "note: 1 reply for other events" in out
    assert "note: replies.mbox, message 6: skipped a calendar that cannot be read" in out


def test_rsvps_knows_who_has_not_answered_and_who_answered_before_a_change(cli: CLI, workspace: Path) -> None:
    with smtp_server() as server:
        configure_smtp(server)
        smtp = ("--to", EXAMPLE_RECIPIENTS, "--transport", "smtp", "--past")
        assert cli("send", EXAMPLE_EVENT, *smtp, "--rsvp")[0] == 0
        early = reply("asa.lindqvist@example.org", "ACCEPTED", "2026-03-02T08:00:00", sequence=0)
        event = Path(EXAMPLE_EVENT)
        event.write_text(event.read_text().replace("2026-03-06 12:00", "2026-03-06 12:30"))
        assert cli("send", EXAMPLE_EVENT, *smtp)[0] == 0
    late = reply("zoe.martin@example.net", "DECLINED", "2026-03-04T08:00:00", sequence=1)
    stranger = reply("walk.in@example.org", "ACCEPTED", "2026-03-04T09:00:00", sequence=1)
    box = maildir(workspace / "Mail", early, late, stranger)
    code, out, _ = cli("rsvps", EXAMPLE_EVENT, "--mailbox", str(box))
    assert code == 0
    assert "No answer yet from 3 of the 5 who received it." in out
    assert (
        "note: asa.lindqvist@example.org answered an earlier version (SEQUENCE 0, now 1): "
        "the time or place has changed since" in out
    )
    assert "note: walk.in@example.org is not among those who received the event" in out


def test_rsvps_csv_is_safe_to_open_in_a_spreadsheet(cli: CLI, workspace: Path) -> None:
    box = maildir(
        workspace / "Mail",
        reply("zoe.martin@example.net", "ACCEPTED", "2026-03-03T10:00:00", name='=HYPERLINK("x")'),
        reply("chen.wei@example.org", "DECLINED", "2026-03-03T10:00:00", name="Chen\u202eieW"),
    )
    code, out, _ = cli("rsvps", EXAMPLE_EVENT, "--mailbox", str(box), "--csv")
    assert code == 0
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["email", "name", "answer", "answered_at", "sequence", "comment"]
    assert rows[1] == ["chen.wei@example.org", "Chen\ufffdieW", "no", "2026-03-03T10:00:00+00:00", "0", ""]
    assert rows[2][:3] == ["zoe.martin@example.net", '\'=HYPERLINK("x")', "yes"]


def test_rsvps_reads_a_folder_of_saved_messages_and_one_message(cli: CLI, workspace: Path) -> None:
    folder = workspace / "saved"
    shutil.copytree(FIXTURES, folder)
    assert "3 answers" in cli("rsvps", EXAMPLE_EVENT, "--mailbox", str(folder))[1]
    single = cli("rsvps", EXAMPLE_EVENT, "--mailbox", str(folder / "apple-tentative.eml"))[1]
    assert "1 answer: 1 maybe." in single


def test_a_missing_mailbox_is_a_clear_error(cli: CLI) -> None:
    code, _, err = cli("rsvps", EXAMPLE_EVENT, "--mailbox", "nowhere")
    assert code == 1
    assert "nowhere: no such mailbox: give a Maildir folder, an mbox file or .eml files" in err


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param(
            b"Content-Type: multipart/mixed; boundary=a\n\n"
            + b"--a\nContent-Type: multipart/mixed; boundary=a\n\n" * 5000,
            id="nested",
        ),
        pytest.param(
            b"From: a@example.org\nContent-Type: text/calendar; charset=x-unknown\n\nBEGIN:VCALENDAR",
            id="charset",
        ),
        pytest.param(
            b"From: a@example.org\nContent-Type: text/calendar\n\n" + b"X" * 2_000_000, id="huge-calendar"
        ),
        pytest.param(
            b"From: =?utf-8?b?//79?= <\x00>\nContent-Type: text/calendar; method=REPLY\n"
            b"Content-Transfer-Encoding: base64\n\n!!!!",
            id="bad-base64",
        ),
    ],
)
def test_a_hostile_message_is_a_note_never_a_crash(hostile: bytes, tmp_path: Path) -> None:
    (tmp_path / "hostile.eml").write_bytes(hostile)
    found = list(read_replies(tmp_path))
    assert all(not isinstance(item, Reply) for item in found)


def test_a_digest_publishes_an_rsvp_event_and_asks_nobody_to_answer(cli: CLI, plain_server: Server) -> None:
    assert (
        cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--transport", "smtp", "--past", "--rsvp")[0]
        == 0
    )
    assert cli("digest", "events", "--to", EXAMPLE_RECIPIENTS, "--from", "2026-03-02")[0] == 0
    digest = read_message(next(Path("outbox/digest-2026-03-02").glob("*.eml")))
    inline, attached = _calendars(digest)
    assert inline == [], "a digest is no invitation to answer"
    assert all(part.get_param("method") == "PUBLISH" for part in attached)
    # every talk in the one calendar part Thunderbird acts on, and each in a file of its own
    calendars = ("text/calendar", "application/ics")
    files = [part for part in digest.walk() if part.get_content_type() in calendars]
    assert "2026-03-06-car-t-cell-therapy.ics" in [part.get_filename() for part in files]
    for part in files:
        calendar = Calendar.from_ical(part.get_content())
        assert calendar["METHOD"] == "PUBLISH"
        assert all("ATTENDEE" not in event for event in calendar.walk("VEVENT"))
