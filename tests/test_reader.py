"""A reader's own settings: typed where the list is read, seen alike by every kind of message."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from announcer import clock
from announcer.errors import RecipientsError
from announcer.jobs import SendOptions, send_digest, send_invitation, send_reminders
from announcer.load.recipients import open_recipients
from announcer.model.recipient import Recipient
from announcer.model.settings import Settings
from announcer.model.window import Window
from announcer.reader import reader_language, reader_zone
from tests.helpers import EXAMPLE_EVENT, read_message, write

TOKYO = ZoneInfo("Asia/Tokyo")


def test_a_readers_language_and_zone_are_values_read_once_from_the_list(tmp_path: Path) -> None:
    path = write(
        tmp_path / "readers.csv",
        "email,name,language,timezone\nkenji@example.org,Kenji,sv,Asia/Tokyo\nplain@example.org,Plain,,\n",
    )
    kenji, plain = open_recipients(str(path))
    assert (kenji.language, kenji.timezone) == ("sv", TOKYO)
    assert (plain.language, plain.timezone) == (None, None)
    assert kenji.fields["timezone"] == "Asia/Tokyo"  # templates still see every column as written


@pytest.mark.parametrize(
    ("column", "value", "said"),
    [("timezone", "Mars/Olympus", "unknown time zone"), ("language", "xx", "the emails can be written in")],
)
def test_a_bad_setting_is_refused_by_line_and_column(
    tmp_path: Path, column: str, value: str, said: str
) -> None:
    path = write(tmp_path / "readers.csv", f"email,{column}\nok@example.org,\nbad@example.org,{value}\n")
    with pytest.raises(RecipientsError) as raised:
        list(open_recipients(str(path)))
    [problem] = raised.value.problems
    assert (problem.line, problem.field) == (3, column)
    assert said in problem.message


def test_the_language_and_zone_a_reader_sees() -> None:
    reader = Recipient("a@example.org", language="de", timezone=TOKYO)
    assert reader_language(reader, "en") == "de"
    assert reader_language(Recipient("b@example.org"), "sv") == "sv"
    assert reader_language(None, "sv") == "sv"
    assert reader_zone(reader) == TOKYO
    assert reader_zone(Recipient("b@example.org")) is None


def test_send_digest_and_reminder_each_speak_the_readers_language_and_show_their_clock(
    settings: Settings, workspace: Path, tmp_path: Path
) -> None:
    """One reader, in Swedish on Tokyo's clock: the invitation, the digest and the reminder all
    greet them in Swedish and give the time on their clock too."""
    readers = write(
        workspace / "recipients" / "tokyo.csv",
        "email,name,language,timezone\nk@example.org,Kenji,sv,Asia/Tokyo\n",
    )
    start = datetime(2026, 3, 6, 12, tzinfo=ZoneInfo("Europe/Stockholm"))
    options = SendOptions(outbox=tmp_path / "outbox")
    tokens = (f"t{number}" for number in itertools.count())
    with clock.pinned((start - timedelta(hours=20)).astimezone(UTC), tokens):
        sent = [
            send_invitation(Path(EXAMPLE_EVENT), str(readers), settings, options),
            send_digest(Path("events"), Window(date(2026, 3, 2), 7), str(readers), settings, options),
            *send_reminders(Path("events"), timedelta(hours=26), str(readers), settings, options),
        ]
    kinds = set()
    for report in sent:
        assert report is not None
        [path] = sorted((tmp_path / "outbox" / report.slug).glob("*.eml"))
        message = read_message(path)
        text = message.get_body(("plain",))
        assert text is not None
        assert message["Content-Language"] == "sv", report.slug
        assert "din tid (JST)" in text.get_content(), report.slug
        kinds.add(report.key.partition(":")[0])
    assert {"invitation", "digest", "reminder-soon", "reminder-1d"} == kinds  # each event its own lead
