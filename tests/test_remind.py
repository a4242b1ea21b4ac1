"""`announcer remind`: a short reminder before each event, once per event and kind, from cron."""

from __future__ import annotations

import itertools
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from announcer import clock
from announcer.deliver.ledger import Ledger
from announcer.errors import JournalError
from announcer.lifecycle import SOON, reminder_due
from announcer.load.events import load_named
from announcer.model.settings import Settings
from tests.helpers import CLI, EXAMPLE_EVENT, configure_smtp, read_message, write
from tests.smtp_server import Server, smtp_server

STOCKHOLM = ZoneInfo("Europe/Stockholm")
START = datetime(2026, 3, 6, 12, tzinfo=STOCKHOLM)  # the example event
WITHIN = timedelta(hours=26)


@pytest.fixture
def server(workspace: Path) -> Iterator[Server]:
    with smtp_server() as running:
        configure_smtp(running)
        yield running


def _at(moment: datetime) -> AbstractContextManager[None]:
    """The clock pinned at `moment`."""
    return clock.pinned(moment.astimezone(UTC), (f"t{number}" for number in itertools.count()))


@pytest.mark.parametrize(
    ("before", "due"),
    [
        (timedelta(hours=26), None),  # within --within, but the series says a day before
        (timedelta(hours=24, minutes=1), None),
        (timedelta(hours=24), "1d"),
        (timedelta(hours=1, minutes=1), "1d"),
        (timedelta(hours=1), "1h"),
        (timedelta(minutes=1), "1h"),
        (timedelta(0), None),  # it has begun
        (-timedelta(minutes=5), None),
    ],
)
def test_the_kind_due_is_the_nearest_lead_reached(
    settings: Settings, before: timedelta, due: str | None
) -> None:
    named = load_named(Path(EXAMPLE_EVENT), settings.defaults)
    assert reminder_due(named, START - before, WITHIN) == due


def test_an_event_outside_a_series_is_reminded_once_within_the_window(settings: Settings) -> None:
    lone = write(
        Path("events/lone.yaml"), "title: Lone\nstart: 2026-03-06 12:00\ntimezone: Europe/Stockholm\n"
    )
    named = load_named(lone, settings.defaults)
    assert reminder_due(named, START - timedelta(hours=27), WITHIN) is None
    assert reminder_due(named, START - timedelta(hours=26), WITHIN) == SOON
    assert reminder_due(named, START - timedelta(minutes=10), WITHIN) == SOON


def test_a_day_before_is_24_real_hours_across_the_change_to_summer_time(settings: Settings) -> None:
    """Sunday 29 March 2026: Stockholm moves to CEST at 02:00; 24 hours before 12:00 is Saturday 11:00."""
    event = write(
        Path("events/2026-03-29-talk.yaml"), "series: onkpat\ntitle: Spring\nstart: 2026-03-29 12:00\n"
    )
    named = load_named(event, settings.defaults)
    saturday = datetime(2026, 3, 28, 11, tzinfo=STOCKHOLM)
    assert reminder_due(named, saturday - timedelta(minutes=1), WITHIN) is None
    assert reminder_due(named, saturday, WITHIN) == "1d"


def test_nothing_due_is_quiet(cli: CLI) -> None:
    with _at(START - timedelta(days=3)):
        code, out, err = cli("remind")
    assert (code, out, err) == (0, "", "")
    assert not Path("outbox").exists()


def test_a_reminder_names_the_day_and_goes_to_the_series_list_in_each_reader_s_language(cli: CLI) -> None:
    Path("series/onkpat.yaml").write_text(
        Path("series/onkpat.yaml")
        .read_text()
        .replace("recipients/example.csv", "recipients/multilingual.csv")
    )
    with _at(START - timedelta(hours=20)):
        code, out, err = cli("remind")
    assert code == 0, err
    assert out == (
        "wrote 3 messages to outbox/2026-03-06-car-t-cell-therapy-reminder-1d; a dry run: nothing was sent\n"
    )
    subjects = {
        str(message["Content-Language"]): str(message["Subject"])
        for message in map(read_message, Path("outbox").rglob("*.eml"))
    }
    title = "CAR T Cell Therapy: From Lymphoma to Autoimmunity"
    assert subjects == {
        "en": f"Tomorrow 12:00, Air & Fire: {title}",
        "sv": f"I morgon kl. 12:00, Air & Fire: {title}",
        "de": f"Morgen, 12:00 Uhr, Air & Fire: {title}",
    }
    message = read_message(next(Path("outbox").rglob("*maria.rossi*.eml")))
    ics = next(message.iter_attachments()).get_content()
    assert "UID:2026-03-06-car-t-cell-therapy@example.org" in ics, "the invitation's own calendar entry"


def test_an_online_talk_s_reminder_puts_the_join_link_first(cli: CLI) -> None:
    online = "events/2026-03-04-engineered-tregs-online.yaml"
    with _at(datetime(2026, 3, 4, 9, 30, tzinfo=ZoneInfo("America/New_York"))):
        assert cli("remind", "--to", "a@example.org", "--within", "2h")[0] == 0
    [path] = Path("outbox").rglob("*.eml")
    message = read_message(path)
    assert (
        str(message["Subject"])
        == "Today 10:00, Online: Engineering Regulatory T Cells for Transplant Tolerance"
    )
    text = str(message.get_body(("plain",)).get_content()).replace("\r\n", "\n")  # type: ignore[union-attr]
    join, when = (
        "Join online: https://meet.example.org/iab-2026-03-04",
        "When:  Today (Wednesday, 4 March), 10:00–11:00",
    )
    assert f"\n\n{join}\n\n{when}" in text, online


def test_only_series_that_ask_are_reminded_and_one_without_a_list_stops_the_run(cli: CLI) -> None:
    with _at(START - timedelta(hours=20)):  # the computational pathology club meets within 26 h too
        assert cli("remind")[1].count("wrote") == 1, "an event outside a series is reminded only with --to"
        write(Path("series/loose.yaml"), "name: Loose Talks\nreminders: [1d]\n")
        write(Path("events/lone.yaml"), "series: loose\ntitle: Lone\nstart: 2026-03-06 12:30\n")
        code, _, err = cli("remind", "--outbox", "second")
    assert code == 1
    assert "events: lone: no one to send it to: give its series a `to:` list, or name one with --to" in err
    assert not Path("second").exists(), "nothing is sent while any due event lacks a list"


def test_twice_in_a_row_and_after_a_cancellation_nobody_gets_one_again(cli: CLI, server: Server) -> None:
    with _at(START - timedelta(hours=20)):
        code, out, err = cli("remind", "--transport", "smtp")
        assert code == 0, err
        assert out == "2026-03-06-car-t-cell-therapy-reminder-1d: sent 5 of 5 by SMTP\n", (
            "names the talk and kind"
        )
        assert cli("remind", "--transport", "smtp") == (0, "", ""), "the second run is quiet"
    assert len(server.handler.received) == 5
    with _at(START - timedelta(minutes=50)):
        reminded = "2026-03-06-car-t-cell-therapy-reminder-1h: sent 5 of 5 by SMTP\n"
        assert cli("remind", "--transport", "smtp")[1] == reminded, "the hour-before kind"
        assert cli("remind", "--transport", "smtp") == (0, "", "")
    assert max(server.handler.counts().values()) == 2
    later = "events/2026-03-13-tumour-microenvironment.yaml"
    assert cli("cancel", later, "--to", "recipients/example.csv", "--transport", "smtp", "--past")[0] == 0
    received = len(server.handler.received)
    with _at(datetime(2026, 3, 13, 11, tzinfo=STOCKHOLM)):
        assert cli("remind", "--transport", "smtp") == (0, "", ""), "never for a cancelled event"
    assert len(server.handler.received) == received


def test_a_reminder_in_doubt_is_told_by_one_cron_run_not_by_every_one(cli: CLI, server: Server) -> None:
    """cron runs `remind` every few minutes: a message whose reply never came is told once (and
    the run exits 3), then counted quietly while its window lasts; `status` still lists it."""
    server.handler.drop_after_data.add("jurgen.mueller@example.org")
    with _at(START - timedelta(hours=20)):
        code, out, err = cli("remind", "--transport", "smtp")
        assert code == 3, out + err
        assert err.count("in doubt: jurgen.mueller@example.org") == 1, err
        assert cli("remind", "--transport", "smtp") == (0, "", ""), "told once: the next run is quiet"
        assert cli("remind", "--transport", "smtp") == (0, "", "")
    assert len(server.handler.received) == 5, "nobody's sent again, the one in doubt neither"
    code, out, _ = cli("status", EXAMPLE_EVENT)
    assert "in doubt: jurgen.mueller@example.org" in out, out


COUNT = 400


def test_killed_mid_run_then_rerun_nobody_is_reminded_twice(workspace: Path, server: Server) -> None:
    addresses = [f"person{number:04d}@example.org" for number in range(COUNT)]
    write(Path("recipients/many.csv"), "email\n" + "\n".join(addresses) + "\n")
    soon = datetime.now(STOCKHOLM) + timedelta(hours=3)  # the subprocess reads the real clock
    write(Path("events/soon.yaml"), f"series: onkpat\ntitle: Soon\nstart: {soon:%Y-%m-%d %H:%M}\n")
    for path in Path("events").glob("2026-*.yaml"):
        path.unlink()
    command = [
        sys.executable,
        "-m",
        "announcer",
        "remind",
        "--to",
        "recipients/many.csv",
        "--transport",
        "smtp",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while len(server.handler.received) < COUNT // 3:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    counts = server.handler.counts()
    assert max(counts.values()) == 1, "nobody is reminded twice"
    in_doubt = re.findall(r"in doubt: (\S+):", rerun.stderr)
    assert len(in_doubt) <= 1, rerun.stderr
    missing = [address for address in addresses if counts[address] == 0]
    assert set(missing) <= set(in_doubt), "only the message in flight may be missing, and it is reported"
    again = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert server.handler.counts() == counts, "a third run sends nothing"
    assert (again.returncode, again.stdout, again.stderr) == (0, "", ""), "quiet: a doubt is told once"


def test_a_journal_that_fails_at_the_second_event_reports_the_first_and_exits_3(
    cli: CLI, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first event's reminders went and are journaled; the second's journal cannot be written
    (a full disk): the run says what went and stops as a partial send, never "nothing was sent"."""
    real_reserve = Ledger.reserve
    keys: list[str] = []

    def reserve(ledger: Ledger, key: str, recipients: list[str]) -> list[str]:
        keys.append(key)
        if len(set(keys)) > 1:  # the second event's first batch
            raise JournalError(f"{ledger.path}: cannot write: database or disk is full")
        return real_reserve(ledger, key, recipients)

    monkeypatch.setattr(Ledger, "reserve", reserve)
    with _at(datetime(2026, 3, 4, 9, tzinfo=STOCKHOLM)):  # two talks within two days
        code, out, err = cli(
            "remind", "--to", "recipients/example.csv", "--within", "2d", "--transport", "smtp"
        )
    assert code == 3, out + err
    assert out.startswith(
        "2026-03-04-engineered-tregs-online-reminder-soon: sent 5 of 5 by SMTP\n"
        "2026-03-05-computational-pathology-reminder-soon: sent 0 of 5 by SMTP"
    ), out
    assert "database or disk is full" in err
    assert len(server.handler.received) == 5, "the first talk's reminders, once each"


def test_a_draft_and_a_broken_file_beside_a_talk_due_tomorrow_are_named_and_the_talk_reminded(
    cli: CLI, server: Server
) -> None:
    """From cron: one unfinished event (`announcer new`) and one broken file never block the
    reminders that are due; both are named with file and line, and the exit status says so."""
    assert cli("new", "onkpat", "--date", "2026-03-27")[0] == 0
    (draft,) = Path("events").glob("2026-03-27-*.yaml")
    write(Path("events/broken.yaml"), "title: Broken\nstart: someday\n")
    with _at(START - timedelta(hours=20)):
        code, out, err = cli("remind", "--transport", "smtp")
    assert code == 4, err
    assert out == "2026-03-06-car-t-cell-therapy-reminder-1d: sent 5 of 5 by SMTP\n"
    assert len(server.handler.received) == 5
    assert f"skipped: events/{draft.name}:4: title: still to write" in err
    assert f"skipped: events/{draft.name}:13: abstract: still to write" in err
    assert "skipped: events/broken.yaml:2: start: 'someday' is not a date and time" in err
    assert f"left out 2 event files that cannot be read (events/{draft.name}, events/broken.yaml)" in err
    with _at(START - timedelta(hours=19)):  # the next run: nothing new is due, the two still named
        code, out, err = cli("remind", "--transport", "smtp")
    assert (code, out) == (4, "")
    assert err.count("skipped: events/broken.yaml") == 1
    assert len(server.handler.received) == 5
    code, _, err = cli("send", "events/broken.yaml", "--to", "recipients/example.csv")
    assert code == 1, "a file given by name still fails on its own problems"
    assert "error: events/broken.yaml:2: start: 'someday' is not a date and time" in err
