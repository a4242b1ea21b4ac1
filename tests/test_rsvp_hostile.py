"""Replies written to deceive or to break `announcer rsvps`: who a reply speaks for, when it was
given, what reaches the terminal, and how much work one message may cost.

The replies are written byte by byte (a mail program would not write most of them) into real
Maildirs and mbox files, with the arrival times the mailbox keeps, and read by the real CLI.
"""

from __future__ import annotations

import base64
import csv
import io
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import event as count_as
from hypothesis import strategies as st

from announcer.errors import Problem
from announcer.load.replies import MAX_CALENDAR_LINES, MAX_CALENDARS, MAX_HEADER_CHARS, read_replies
from announcer.model.reply import Answer, Reply
from announcer.replies import tally
from tests.helpers import CLI, EXAMPLE_EVENT
from tests.test_rsvp import UID

EXAMPLES = 400 if os.environ.get("CI") else 40
ZOE = "zoe.martin@example.net"
CHEN = "chen.wei@example.org"
MALLORY = "mallory@example.com"
ARRIVED = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
# What must never reach a terminal from a stranger: C0 and C1 controls (a newline ends a printed
# line, and is ours), line and paragraph separators, bidi embeddings, overrides and isolates.
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u061c\u202a-\u202e\u2066-\u2069]")
# U+200E and U+200F: bidi marks, which `shown_safely` shows as U+FFFD too.
BIDI_MARKS = re.compile("[\u200e\u200f]")


def attendee(address: str, answer: str | None = "ACCEPTED", **params: str) -> str:
    """An ATTENDEE line as written: `attendee(ZOE, CN="Zoe")`."""
    written = "".join(f";{name.replace('_', '-')}={value}" for name, value in params.items())
    state = f";PARTSTAT={answer}" if answer is not None else ""
    return f"ATTENDEE{state}{written}:mailto:{address}"


def written_reply(
    *attendees: str,
    senders: Sequence[str] = (ZOE,),
    stamp: str | None = "20260303T090000Z",
    date: str | None = None,
    uid: str = UID,
    extra: Sequence[str] = (),
) -> bytes:
    """A REPLY message: one From header per item of `senders`, the calendar inline."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//hostile//EN", "METHOD:REPLY", "BEGIN:VEVENT"]
    lines += [f"UID:{uid}", "SEQUENCE:0", *([f"DTSTAMP:{stamp}"] if stamp else [])]
    lines += [*attendees, *extra, "END:VEVENT", "END:VCALENDAR"]
    head = [f"From: {sender}" for sender in senders]
    head += ["To: onkpat-seminars@example.org", "Subject: Answer", *([f"Date: {date}"] if date else [])]
    head += ["MIME-Version: 1.0", "Content-Type: text/calendar; charset=utf-8; method=REPLY"]
    text = "\r\n".join(head) + "\r\n\r\n" + "\r\n".join(lines) + "\r\n"
    return text.encode("utf-8", "surrogateescape")


def deliver(
    box: Path, data: bytes, arrived: datetime = ARRIVED, *, folder: str = "cur", name: str = ""
) -> Path:
    """A message put in a Maildir as a delivery agent does, its file dated when it arrived."""
    for sub in ("cur", "new", "tmp"):
        (box / sub).mkdir(parents=True, exist_ok=True)
    number = sum(1 for _ in (box / folder).iterdir())
    file = box / folder / (name or f"{int(arrived.timestamp())}.M{number}P1.test:2,S")
    file.write_bytes(data)
    os.utime(file, (arrived.timestamp(), arrived.timestamp()))
    return file


def rsvps(cli: CLI, box: Path, *options: str) -> str:
    code, out, err = cli("rsvps", EXAMPLE_EVENT, "--mailbox", str(box), *options)
    assert code == 0, out + err
    assert not UNSAFE.search(out + err), repr(out + err)
    return out


def answers(out: str) -> list[str]:
    """The answer lines of `rsvps`, without the event's title and the notes."""
    return [line for line in out.splitlines()[1:] if line.startswith("  ")]


def found_in(box: Path) -> tuple[list[Reply], list[Problem]]:
    found = list(read_replies(box))
    return [item for item in found if isinstance(item, Reply)], [
        item for item in found if isinstance(item, Problem)
    ]


# Who a reply speaks for -------------------------------------------------------------------------


def test_sent_by_does_not_let_another_address_answer(cli: CLI, tmp_path: Path) -> None:
    delegated = attendee(CHEN, "DECLINED", SENT_BY=f'"mailto:{MALLORY}"')
    deliver(tmp_path, written_reply(delegated, senders=[MALLORY]))
    out = rsvps(cli, tmp_path)
    assert answers(out) == [], "whoever can send mail could name themselves the attendee's delegate"
    assert "0 answers." in out
    assert (
        f"answers for {CHEN} but was sent by {MALLORY}, whom only the reply itself names as their "
        "delegate (SENT-BY): not counted" in out
    )
    (forged,), _ = found_in(tmp_path)
    assert not forged.genuine
    assert "names as their delegate (SENT-BY)" in forged.doubt


def test_a_reply_speaks_for_its_sender_alone_however_many_attendees_it_names(
    cli: CLI, tmp_path: Path
) -> None:
    others = [attendee(f"guest{number}@example.org", SENT_BY=f'"mailto:{ZOE}"') for number in range(300)]
    deliver(tmp_path, written_reply(*others, attendee(ZOE, "TENTATIVE"), *others))
    out = rsvps(cli, tmp_path)
    assert answers(out) == [f"  maybe  {ZOE}"]
    assert "1 answer: 1 maybe." in out
    assert "guest" not in out, "the other ATTENDEE lines are passed over, not reported one by one"


def test_a_reply_that_answers_for_several_others_is_refused_once(cli: CLI, tmp_path: Path) -> None:
    deliver(tmp_path, written_reply(attendee(ZOE), attendee(CHEN), senders=[MALLORY]))
    out = rsvps(cli, tmp_path)
    assert answers(out) == []
    assert f"skipped a reply: it answers for 2 attendees, none of them its sender {MALLORY}" in out
    assert out.count("note:") == 1


def test_two_answers_of_the_sender_in_one_reply_are_refused(cli: CLI, tmp_path: Path) -> None:
    deliver(tmp_path, written_reply(attendee(ZOE, "ACCEPTED"), attendee(ZOE.upper(), "DECLINED")))
    out = rsvps(cli, tmp_path)
    assert answers(out) == []
    assert f"skipped a reply: it gives {ZOE} 2 different answers" in out


@pytest.mark.parametrize(
    ("senders", "why"),
    [
        pytest.param([], "has no From address", id="none"),
        pytest.param([ZOE, MALLORY], "has 2 From headers", id="two-headers"),
        pytest.param([ZOE, ""], "has 2 From headers", id="the-second-empty"),
        pytest.param([f"{ZOE}, {MALLORY}"], "its From names 2 addresses", id="two-addresses"),
        pytest.param([f"Martin, Zoe <{ZOE}>"], "its From names 2 addresses", id="unquoted-comma"),
        pytest.param([f"friends: {ZOE}, {MALLORY};"], "its From names 2 addresses", id="group"),
        pytest.param([f"{ZOE} <{MALLORY}>"], "its From header is malformed", id="address-as-name"),
        pytest.param([f"{ZOE} (Zoe) <{MALLORY}>"], "its From header is malformed", id="address-then-angle"),
        pytest.param(["=?utf-8?q?zoe.martin=40example.net?="], "its From header is malformed", id="encoded"),
        pytest.param(["<>"], "its From header is malformed", id="null-sender"),
        pytest.param(["zoe.martin@[192.0.2.1]"], "its From is not an email address", id="literal"),
    ],
)
def test_a_reply_without_one_from_address_is_not_genuine(
    cli: CLI, tmp_path: Path, senders: list[str], why: str
) -> None:
    deliver(tmp_path, written_reply(attendee(ZOE), senders=senders))
    out = rsvps(cli, tmp_path)
    assert answers(out) == [], "the first of several From addresses, or a guessed one, is not trusted"
    assert f"answers for {ZOE} but {why}" in out, "the CLI says why"
    (forged,), _ = found_in(tmp_path)
    assert (forged.attendee, forged.sender) == (ZOE, "")
    assert forged.doubt.startswith(f"answers for {ZOE} but {why}"), forged.doubt


@pytest.mark.parametrize(
    "sender",
    [
        pytest.param("=?utf-8?q?Zo=C3=AB_Martin?= <Zoe.Martin@Example.NET>", id="encoded-name"),
        pytest.param(f"Zoë Martin <{ZOE}>", id="utf8-name"),
        pytest.param(f"Z. Martin <{ZOE}>", id="obsolete-dot"),
        pytest.param(f'"Martin, Zoe" <{ZOE}>', id="quoted-comma"),
        pytest.param(f"{ZOE} (Zoe Martin)", id="comment"),
        pytest.param(f"<{ZOE}>", id="angle"),
    ],
)
def test_a_reply_from_the_attendee_counts_however_its_from_is_written(
    cli: CLI, tmp_path: Path, sender: str
) -> None:
    deliver(tmp_path, written_reply(attendee(ZOE), senders=[sender]))
    assert answers(rsvps(cli, tmp_path)) == [f"  yes    {ZOE}"]


# When it was given ------------------------------------------------------------------------------


def test_a_stamp_from_the_future_outranks_no_later_answer(cli: CLI, tmp_path: Path) -> None:
    deliver(tmp_path, written_reply(attendee(ZOE, "ACCEPTED"), stamp="20990101T000000Z"), ARRIVED)
    later = ARRIVED + timedelta(hours=1)
    deliver(tmp_path, written_reply(attendee(ZOE, "DECLINED"), stamp="20260303T105900Z"), later)
    out = rsvps(cli, tmp_path)
    assert answers(out) == [f"  no     {ZOE}"]
    (future, _), _ = found_in(tmp_path)
    assert future.stamp == ARRIVED, "a stamp after the arrival is clamped to it"


def test_a_stamp_from_the_future_is_clamped_to_an_mbox_s_from_line(cli: CLI, tmp_path: Path) -> None:
    mbox = tmp_path / "replies.mbox"
    mbox.write_bytes(
        b"From zoe.martin@example.net Tue Mar  3 10:00:00 2026\n"
        + written_reply(attendee(ZOE, "ACCEPTED"), stamp="20990101T000000Z").replace(b"\r\n", b"\n")
        + b"\nFrom zoe.martin@example.net Tue Mar  3 11:00:00 2026\n"
        + written_reply(attendee(ZOE, "DECLINED"), stamp="20260303T105900Z").replace(b"\r\n", b"\n")
    )
    assert answers(rsvps(cli, mbox)) == [f"  no     {ZOE}"]
    (future, honest), _ = found_in(mbox)
    assert (future.stamp, future.arrived) == (ARRIVED, ARRIVED)
    assert honest.arrived == ARRIVED + timedelta(hours=1)


def test_of_equal_stamps_the_later_arrival_counts_wherever_the_mailbox_keeps_it(
    cli: CLI, tmp_path: Path
) -> None:
    # cur/ is read before new/: the later arrival is read first, and must still count
    deliver(tmp_path, written_reply(attendee(ZOE, "DECLINED")), ARRIVED + timedelta(minutes=5), folder="cur")
    deliver(tmp_path, written_reply(attendee(ZOE, "ACCEPTED")), ARRIVED, folder="new")
    out = rsvps(cli, tmp_path)
    assert answers(out) == [f"  no     {ZOE}"]
    assert "1 earlier answer replaced by a later one" in out


@pytest.mark.parametrize(
    "date",
    [
        pytest.param("Fri, 31 Dec 9999 23:59:59 -2359", id="year-9999"),
        pytest.param("Sat, 1 Jan 0000 00:00:00 +0000", id="year-0"),
        pytest.param("1 Foo 2026 10:00:00 +0000", id="month-13"),
        pytest.param("Tue, 3 Mar 2026 10:00:00 +9999", id="offset-past-a-day"),
        pytest.param("Tue, 3 Mar 2026 10:00:00 +2400", id="offset-of-a-day"),
        pytest.param("Tue, 3 Mar 99999999999999999999 10:00:00 +0000", id="huge-year"),
        pytest.param("Tue, 99999999999999999999 Mar 2026 10:00:00 +0000", id="huge-day"),
        pytest.param("Tue, 3 Mar 2026 99:99:99 +0000", id="no-such-time"),
    ],
)
def test_a_date_that_is_no_moment_is_as_good_as_none(cli: CLI, tmp_path: Path, date: str) -> None:
    deliver(tmp_path, written_reply(attendee(ZOE), stamp=None, date=date))
    out = rsvps(cli, tmp_path, "--csv")
    (row,) = list(csv.DictReader(io.StringIO(out)))
    assert (row["email"], row["answered_at"]) == (ZOE, ARRIVED.isoformat()), "dated by its arrival"


# What reaches the terminal ----------------------------------------------------------------------


def test_a_stranger_s_escape_codes_never_reach_the_terminal(cli: CLI, tmp_path: Path) -> None:
    hostile = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202egnp.exe"
    shown = "\ufffd]0;owned\ufffd\ufffd[2J\ufffd31m\ufffdgnp.exe"
    c1 = "\x9b31m\x85\u202egnp.exe"  # C0 in a parameter makes icalendar drop the line: C1 and bidi stay
    named = attendee(ZOE, CN=f'"Zoe{c1}"')
    deliver(tmp_path, written_reply(named, extra=[f"COMMENT:hi{hostile}"]), ARRIVED + timedelta(days=1))
    deliver(tmp_path, written_reply(attendee(CHEN), senders=[MALLORY]), name=f"1.{hostile}.test:2,S")
    deliver(tmp_path, written_reply(attendee(ZOE, f'"X{c1}"')))
    deliver(
        tmp_path, written_reply(attendee(f"eve{hostile}@example.org"), senders=[f"Eve{hostile} <{MALLORY}>"])
    )
    out = rsvps(cli, tmp_path)  # asserts that nothing unsafe was printed
    assert f'  yes    Zoe\ufffd31m\ufffd\ufffdgnp.exe <{ZOE}>  "hi{shown}' in out
    assert "skipped an answer announcer does not know: X\ufffd31M\ufffd\ufffdGNP.EXE" in out
    assert f"1.{shown}.test:2,S: answers for {CHEN} but was sent by {MALLORY}" in out
    assert f"answers for eve{shown}@example.org but its From header is malformed" in out
    assert f"hi{shown}" in rsvps(cli, tmp_path, "--csv")


def test_marks_that_steer_direction_never_reach_the_terminal(cli: CLI, tmp_path: Path) -> None:
    deliver(tmp_path, written_reply(attendee(ZOE, CN='"Zoe\u200f\u200eMartin"')))
    assert not BIDI_MARKS.search(rsvps(cli, tmp_path))


# How much one message may cost ------------------------------------------------------------------


def test_a_calendar_of_thousands_of_lines_is_not_read(cli: CLI, tmp_path: Path) -> None:
    crowd = [attendee(f"guest{number}@example.org") for number in range(2500)]
    deliver(tmp_path, written_reply(attendee(ZOE), *crowd))
    out = rsvps(cli, tmp_path)
    assert answers(out) == []
    assert "skipped a calendar of 2,511 lines: a reply has a few dozen" in out
    assert MAX_CALENDAR_LINES < 2511


def test_a_long_header_is_not_parsed(cli: CLI, tmp_path: Path) -> None:
    deliver(tmp_path, written_reply(attendee(ZOE), senders=["x" * MAX_HEADER_CHARS + f" <{ZOE}>"]))
    out = rsvps(cli, tmp_path)
    assert answers(out) == []
    assert "skipped: its From header is over 2,000 characters long" in out


def test_a_message_of_many_calendars_is_read_only_in_part(cli: CLI, tmp_path: Path) -> None:
    calendar = written_reply(attendee(ZOE)).split(b"\r\n\r\n", 1)[1]
    parts = b"".join(
        b"--b\r\nContent-Type: text/calendar; method=REPLY\r\n\r\n" + calendar for _ in range(50)
    )
    head = f"From: {ZOE}\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n".encode()
    deliver(tmp_path, head + parts + b"--b--\r\n")
    out = rsvps(cli, tmp_path)
    assert answers(out) == [f"  yes    {ZOE}"], "the same answer in every copy counts once"
    assert f"only its first {MAX_CALENDARS} calendars were read" in out


def test_a_message_of_many_lines_is_not_parsed(cli: CLI, tmp_path: Path) -> None:
    deliver(tmp_path, written_reply(attendee(ZOE)).replace(b"Subject:", b"X: y\r\n" * 100_000 + b"Subject:"))
    out = rsvps(cli, tmp_path)
    assert answers(out) == []
    assert "lines is too many for a calendar reply" in out


def test_a_calendar_in_a_codec_that_is_no_character_set_is_not_decoded(cli: CLI, tmp_path: Path) -> None:
    data = written_reply(attendee(ZOE)).replace(b"charset=utf-8", b"charset=punycode")
    deliver(tmp_path, data)
    assert "skipped a calendar in a character set announcer does not read (punycode)" in rsvps(cli, tmp_path)


# Any reply --------------------------------------------------------------------------------------

PEOPLE = [ZOE, CHEN, MALLORY, "asa.lindqvist@example.org"]
ANSWERS = [*Answer.__members__, "NEEDS-ACTION", "X-MAYBE", "", "\x1b[31mACCEPTED"]
NASTY = st.sampled_from(
    [
        "\x1b[2J",
        "\x1b]8;;http://evil.example\x07",
        "\x9b31m",
        "\u202e",
        "\u2066",
        "\x00",
        "\x85",
        "\u2028",
        "é",
    ]
)
NAMES = st.lists(
    st.one_of(NASTY, st.text(st.characters(exclude_characters='"\r\n', codec="utf-8"), max_size=8)),
    max_size=4,
).map("".join)
MOMENTS = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC))
ARRIVALS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2026, 6, 1), timezones=st.just(UTC)
)
DATES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "Fri, 31 Dec 9999 23:59:59 -2359",
            "Sat, 1 Jan 0000 00:00:00 +0000",
            "Tue, 3 Mar 2026 10:00:00 +9999",
            "Tue, 3 Mar 99999999999999999999 10:00:00 +0000",
            "Tue, 3 Mar 2026 10:00:00 +0100",
        ]
    ),
    MOMENTS.map(lambda moment: moment.strftime("%a, %d %b %Y %H:%M:%S +0000")),
    st.text(st.characters(exclude_characters="\r\n", codec="utf-8"), max_size=40),
)


@dataclass(frozen=True)
class Sent:
    """One generated reply, and what its From says for certain."""

    data: bytes
    arrived: datetime
    sender: str | None  # the one address its From names beyond doubt, if it does
    counts: str | None  # the attendee whose answer it must give (a well-formed reply of its sender)


def _encoded(name: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(name.encode('utf-8', 'surrogatepass')).decode()}?="


@st.composite
def replies(draw: st.DrawFn) -> Sent:
    person = draw(st.sampled_from(PEOPLE))
    name = draw(NAMES)
    clean = name.isprintable() and name.isascii() and not re.search(r"[()<>@,;:\\\".\[\]=?]", name)
    forms = [
        (person, person, True),
        (f"<{person.upper()}>", person, True),
        (f"{_encoded(name)} <{person}>", person, True),
        (f"{name} <{person}>", person, clean and bool(name.strip())),
        (f"{person}, {MALLORY}", None, False),
        (f"{person} <{MALLORY}>", None, False),
        (f"{_encoded(person)}", None, False),
        (f"{_encoded(name + ' <' + person + '>')} <{MALLORY}>", MALLORY, True),
    ]
    sender, address, sound = draw(st.sampled_from(forms))
    senders = draw(st.sampled_from([*[[sender]] * 6, [], [sender, sender], [sender, MALLORY]]))
    if len(senders) != 1:
        address, sound = None, False
    lines = []
    for _ in range(draw(st.integers(0, 4))):
        who = draw(
            st.one_of(st.sampled_from(PEOPLE), st.text(max_size=12).map(lambda t: f"x{t}@example.org"))
        )
        cn = draw(NAMES)
        lines.append(attendee(who, draw(st.sampled_from(ANSWERS)) or None, CN=f'"{cn}"'))
    own = draw(st.sampled_from([*Answer.__members__, *Answer.__members__, None]))
    if own is not None:
        lines.insert(draw(st.integers(0, len(lines))), attendee(person, own, CN=f'"{name}"'))
    written = MOMENTS.map(lambda moment: f"{moment.year:04d}{moment:%m%dT%H%M%S}Z")
    extremes = st.sampled_from(["20990101T000000Z", "99991231T235959Z", "00010101T000000Z", "20260303"])
    stamp = draw(st.one_of(st.none(), extremes, written))
    data = written_reply(*lines, senders=senders, stamp=stamp, date=draw(DATES))
    others = [
        line
        for line in lines
        if f":mailto:{person}" in line and line != attendee(person, own, CN=f'"{name}"')
    ]
    readable = not re.search("[\x00-\x1f\x7f]", name)  # icalendar drops a line with C0 in a parameter
    well_formed = sound and readable and own is not None and address == person and not others
    return Sent(data, draw(ARRIVALS), address, person if well_formed else None)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(sent=st.lists(replies(), min_size=1, max_size=5))
def test_any_reply_counts_only_for_its_sender_and_prints_safely(cli: CLI, sent: list[Sent]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        box = Path(folder)
        files = {deliver(box, item.data, item.arrived).name: item for item in sent}
        found = list(read_replies(box))
        counted = tally(found, UID, 0, None)
        count_as(f"{len(counted.answers)} counted, {len(counted.forged)} not genuine")
        for reply in counted.answers.values():
            item = files[reply.source.rpartition("/")[2]]
            assert reply.attendee == reply.sender == item.sender, "a reply counts only for its From"
            assert reply.stamp <= reply.arrived == item.arrived, "no stamp after the arrival is believed"
        for item in sent:
            if item.counts is not None:
                count_as("a well-formed reply")
                assert item.counts in counted.answers, "a well-formed reply of its sender counts"
        for options in ((), ("--csv",)):
            out = rsvps(cli, box, *options)  # asserts that nothing unsafe was printed
            listed = answers(out) if not options else out.splitlines()[1:]
            people = [re.findall(r"[\w.]+@example\.\w+", line)[-1] for line in listed]
            assert len(people) == len(set(people)) == len(counted.answers), "one answer per attendee"


def test_two_addresses_that_show_alike_are_not_taken_for_one() -> None:
    """Whether a reply is the attendee's own is decided on the addresses as they came: showing
    them replaces what cannot be printed, and two different senders must not become one there."""
    stamp = datetime(2026, 3, 3, tzinfo=UTC)
    forged = Reply(
        uid="x",
        attendee="zoe\x01@example.net",
        name="",
        answer=Answer.ACCEPTED,
        stamp=stamp,
        arrived=stamp,
        sequence=0,
        sender="zoe\x02@example.net",
        comment="",
        source="test",
    )
    assert forged.attendee == forged.sender, "shown alike"
    assert not forged.genuine
    assert forged.doubt.startswith("answers for zoe\ufffd@example.net but was sent by")
