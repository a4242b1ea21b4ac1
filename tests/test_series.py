"""Series files: what a series' events share, written once, inherited value by value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from announcer.errors import InputError
from announcer.load.events import load_named
from announcer.model.settings import Settings
from tests.helpers import CLI, EXAMPLE_EVENT, read_message, write

SERIES = Path("series/onkpat.yaml")


def _event(text: str, name: str = "events/2026-04-03-talk.yaml") -> Path:
    return write(Path(name), "series: onkpat\ntitle: A Talk\nstart: 2026-04-03 12:00\n" + text)


def test_an_event_inherits_what_it_does_not_say_and_wins_where_it_does(settings: Settings) -> None:
    event = load_named(_event("venue: {room: B2}\nhost: {email: mm@example.org}\n"), settings.defaults)
    assert event.series_id == "onkpat"
    assert event.event.series == "OnkPat Friday Seminar"
    assert event.event.category == "Lectures and seminars"
    assert event.event.venue is not None
    assert event.event.venue.place == "B2, Air & Fire, SciLifeLab, Campus Solna", (
        "a new room keeps the building"
    )
    assert event.event.host is not None
    assert (event.event.host.name, event.event.host.email) == ("Maurice Michel", "mm@example.org")
    assert event.event.zone.key == "Europe/Stockholm"
    assert f"{event.event.ends_at:%H:%M}" == "13:00", "the series' duration"


def test_another_place_a_null_and_a_list_replace_what_the_series_says(settings: Settings) -> None:
    text = "venue: {name: Hörsaal 3}\nhost: null\ncategory: Special lecture\nduration_minutes: 1\n"
    path = _event(text.replace("duration_minutes: 1\n", "end: 2026-04-03 14:30\n"))
    event = load_named(path, settings.defaults).event
    assert event.venue is not None
    assert event.venue.place == "Hörsaal 3", "a venue with a name of its own is another place"
    assert event.host is None
    assert event.category == "Special lecture"
    assert f"{event.ends_at:%H:%M}" == "14:30"


def test_the_series_zone_language_and_duration_come_before_the_workspace_s(settings: Settings) -> None:
    SERIES.write_text(
        SERIES.read_text()
        .replace("timezone: Europe/Stockholm", "timezone: America/New_York")
        .replace("duration_minutes: 60", "duration_minutes: 90\nlanguage: de")
    )
    event = load_named(_event(""), settings.defaults).event
    assert (event.zone.key, event.language, f"{event.ends_at:%H:%M}") == ("America/New_York", "de", "13:30")


@pytest.mark.parametrize(
    ("where", "change", "expected"),
    [
        (
            "series",
            ("timezone: Europe/Stockholm", "timezone: Mars/Olympus"),
            "series/onkpat.yaml:11: timezone:",
        ),
        (
            "series",
            ("  building: SciLifeLab", "  building: [1, 2]"),
            "series/onkpat.yaml:15: venue.building:",
        ),
        ("series", ("weekday: friday", "weekday: fredag"), "series/onkpat.yaml:8: weekday:"),
        ("series", ("reminders: [1d, 1h]", "reminders: [1d, soon]"), "series/onkpat.yaml:21: reminders[1]:"),
        (
            "series",
            ("name: OnkPat", "nmae: OnkPat"),
            "series/onkpat.yaml:4: nmae: unknown key (did you mean 'name'?)",
        ),
        ("event", ("venue: {room: B2}", "venue: {room: [B2]}"), "events/2026-04-03-talk.yaml:4: venue.room:"),
    ],
)
def test_an_error_names_the_file_that_holds_the_bad_value(
    cli: CLI, where: str, change: tuple[str, str], expected: str
) -> None:
    path = _event("venue: {room: B2}\n")
    target = SERIES if where == "series" else path
    text = target.read_text()
    assert change[0] in text
    target.write_text(text.replace(*change))
    code, _, err = cli("check", str(path))
    assert code == 1
    assert expected in err, err


def test_a_series_id_without_its_file_is_refused_naming_the_series_there(settings: Settings) -> None:
    path = write(
        Path("events/2026-04-03-talk.yaml"), "series: onkpatt\ntitle: A Talk\nstart: 2026-04-03 12:00\n"
    )
    with pytest.raises(InputError) as caught:
        load_named(path, settings.defaults)
    assert str(caught.value.problems[0]) == (
        "events/2026-04-03-talk.yaml:1: series: no series/onkpatt.yaml (did you mean 'onkpat'?); "
        "a series named in words needs capitals or spaces"
    )
    words = write(
        Path("events/2026-04-03-talk.yaml"), "series: Friday Talks\ntitle: A Talk\nstart: 2026-04-03 12:00\n"
    )
    assert load_named(words, settings.defaults).event.series == "Friday Talks"


def test_a_series_without_events_and_events_without_a_series_live_side_by_side(cli: CLI) -> None:
    write(Path("series/empty.yaml"), "name: A Series Nobody Uses Yet\n")
    code, out, _ = cli("check", "events")
    assert code == 0, out
    assert cli("digest", "events", "--to", "a@example.org", "--from", "2026-03-02")[0] == 0


def test_send_without_to_goes_to_the_series_list(cli: CLI) -> None:
    code, out, err = cli("send", EXAMPLE_EVENT)
    assert code == 0, err
    assert "wrote 5 messages" in out
    lone = write(Path("events/lone.yaml"), "title: Lone\nstart: 2026-04-03 12:00\n")
    code, _, err = cli("send", str(lone))
    assert code == 1
    assert "no one to send it to: give its series a `to:` list, or name one with --to" in err


def test_new_writes_the_series_slot_and_check_lists_what_is_still_to_write(cli: CLI) -> None:
    code, out, err = cli("new", "onkpat", "--date", "2026-04-10", "--title", "Tumour Evolution: A Primer")
    assert code == 0, err
    path = Path("events/2026-04-10-tumour-evolution-a-primer.yaml")
    assert out.strip() == f"wrote {path}: write the speakers and the abstract, then announcer check {path}"
    text = path.read_text()
    assert "series: onkpat\n" in text
    assert "start: 2026-04-10 12:00\n" in text
    code, _, err = cli("check", str(path))
    assert code == 1
    assert f"{path}:7: speakers: still to write (a placeholder of announcer new or import)" in err
    assert "abstract: still to write" in err
    assert cli("send", str(path), "--to", "a@example.org")[0] == 1, "a placeholder is never sent"
    written = text.replace("# TODO speakers:", "speakers:").replace("#   - name: ", "  - name: Ada Lovelace")
    written = written.replace("# TODO abstract: |", "abstract: |").replace("#   ", "  ")
    path.write_text(written)
    code, out, err = cli("check", str(path))
    assert code == 0, out + err
    code, _, err = cli("new", "onkpat", "--date", "2026-04-10", "--title", "Tumour Evolution: A Primer")
    assert code == 1
    assert "already exists: nothing written" in err


def test_new_warns_off_the_series_weekday_and_needs_a_time_the_series_lacks(cli: CLI) -> None:
    code, _, err = cli("new", "onkpat", "--date", "2026-04-09")
    assert code == 0
    assert "2026-04-09 is a Thursday; the OnkPat Friday Seminar meets on Fridays" in err
    assert Path("events/2026-04-09-onkpat.yaml").exists()
    write(Path("series/loose.yaml"), "name: Loose Talks\n")
    code, _, err = cli("new", "loose", "--date", "2026-04-09")
    assert code == 1
    assert "series/loose.yaml: has no usual time: give one with --time 12:00" in err
    assert cli("new", "loose", "--date", "2026-04-09", "--time", "15:15")[0] == 0
    assert "start: 2026-04-09 15:15" in Path("events/2026-04-09-loose.yaml").read_text()
    code, _, err = cli("new", "nosuch", "--date", "2026-04-09")
    assert code == 1
    assert "no series/nosuch.yaml" in err


def test_the_series_brand_colours_its_own_emails(cli: CLI) -> None:
    SERIES.write_text(SERIES.read_text() + 'brand: {accent: "#0b5d1e", footer: "OnkPat, every Friday"}\n')
    assert cli("send", EXAMPLE_EVENT, "--to", "a@example.org")[0] == 0
    message = read_message(next(Path("outbox").rglob("*.eml")))
    html = str(message.get_body(("html",)).get_content())  # type: ignore[union-attr]
    text = str(message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "#0b5d1e" in html
    assert "#7a1f52" not in html
    assert "OnkPat, every Friday" in text


def test_check_reads_every_series_file_and_inspects_the_reminders_a_series_asks_for(cli: CLI) -> None:
    write(Path("series/broken.yaml"), "name: Broken\nweekday: someday\n")
    code, _, err = cli("check", EXAMPLE_EVENT)
    assert code == 1
    assert "series/broken.yaml:2: weekday:" in err, "a series no event names yet is read too"
    Path("series/broken.yaml").unlink()
    code, out, err = cli("check", EXAMPLE_EVENT, "--json")
    assert code == 0, err
    inspected = [item["message"] for item in json.loads(out)["messages"]]
    assert f"{EXAMPLE_EVENT}, announcer remind: 1d before" in inspected
    assert f"{EXAMPLE_EVENT}, announcer remind: 1h before" in inspected


def test_a_broken_series_is_reported_once_though_an_event_names_it(cli: CLI) -> None:
    SERIES.write_text(SERIES.read_text().replace("weekday: friday", "weekday: fredag"))
    code, _, err = cli("check", EXAMPLE_EVENT)
    assert code == 1
    assert err.count("series/onkpat.yaml:8: weekday:") == 1, err


def _talk(series: str, name: str = "events/2026-04-03-talk.yaml") -> Path:
    return write(Path(name), f"series: {series}\ntitle: A Talk\nstart: 2026-04-03 12:00\n")


@pytest.mark.parametrize("series", ["onkpat", "OnkPat", "OnkPat Friday Seminar", "onkpat  friday SEMINAR"])
def test_a_series_is_one_series_by_its_id_or_its_name_whatever_the_case(
    settings: Settings, series: str
) -> None:
    named = load_named(_talk(series), settings.defaults)
    assert named.series_id == "onkpat"
    assert named.event.series == "OnkPat Friday Seminar"
    assert named.event.venue is not None
    assert named.event.venue.name == "Air & Fire", "the series' place"


@pytest.mark.parametrize(
    ("series", "said"),
    [
        ("Onkpt", "no series is called 'Onkpt' (did you mean 'onkpat'?)"),
        ("OnkPat Friday Seminr", "no series is called 'OnkPat Friday Seminr' (did you mean 'onkpat'?)"),
        ("onkpt", "no series/onkpt.yaml (did you mean 'onkpat'?)"),
    ],
)
def test_a_series_close_to_one_there_is_is_a_mistake_not_a_series_in_words(
    cli: CLI, series: str, said: str
) -> None:
    """Else the email goes out with no place and no host, as a series of its own."""
    path = _talk(series)
    code, _, err = cli("check", str(path))
    assert code == 1
    assert f"error: {path}:1: series: {said}" in err
    code, _, err = cli("send", str(path), "--to", "a@example.org")
    assert code == 1
    assert said in err
    assert not Path("outbox").exists()


def test_a_series_in_words_unlike_any_there_is_stays_a_series_in_words(settings: Settings) -> None:
    named = load_named(_talk("Friday Lunch Talks"), settings.defaults)
    assert (named.series_id, named.event.series, named.event.venue) == (None, "Friday Lunch Talks", None)


def test_the_site_lists_a_series_by_its_name_and_by_its_id_as_one(cli: CLI) -> None:
    _talk("OnkPat Friday Seminar", "events/2026-04-03-by-name.yaml")
    assert cli("site", "--out", "public")[0] == 0
    assert Path("public/onkpat/2026-04-03-by-name.html").is_file()
    assert Path("public/onkpat/2026-03-06-car-t-cell-therapy.html").is_file()
    assert not Path("public/onkpat-friday-seminar").exists()


def test_an_event_with_neither_a_place_nor_a_link_is_warned_of(cli: CLI) -> None:
    path = write(Path("events/nowhere.yaml"), "title: A Talk\nstart: 2099-04-03 12:00\n")
    said = f"{path}: says neither where it takes place nor how to join online: give it a venue"
    code, _, err = cli("check", str(path))
    assert code == 0, err
    assert f"warning: {said}" in err
    code, _, err = cli("send", str(path), "--to", "a@example.org")
    assert code == 0, err
    assert f"warning: {said}" in err
    online = write(
        Path("events/online.yaml"),
        "title: B\nstart: 2099-04-03 12:00\nvenue: {name: Zoom, online_url: https://zoom.example/j/1}\n",
    )
    assert "says neither" not in cli("check", str(online))[2]


@hypothesis_settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    series=st.one_of(
        st.text(max_size=40),
        st.sampled_from(["onkpat", "OnkPat Friday Seminar"]).flatmap(
            lambda name: st.builds(
                lambda cut, extra: name[:cut] + extra, st.integers(0, 22), st.text(max_size=3)
            )
        ),
    )
)
def test_any_series_name_is_a_series_a_series_in_words_or_a_located_error(
    settings: Settings, series: str
) -> None:
    path = write(
        Path("events/2026-04-03-talk.yaml"),
        f"series: {json.dumps(series)}\ntitle: A\nstart: 2026-04-03 12:00\n",
    )
    problems: tuple[object, ...] = ()
    try:
        named = load_named(path, settings.defaults)
    except InputError as caught:
        problems = caught.problems
    if problems:
        assert all(str(problem).startswith(f"{path}") for problem in problems), "located, never a traceback"
    elif named.series_id is None:
        assert " ".join(series.split()).casefold() not in ("onkpat", "onkpat friday seminar")
    else:
        assert named.series_id == "onkpat"
