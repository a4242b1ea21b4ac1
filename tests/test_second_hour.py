"""An organiser's second hour: zones by their place, TOML and YAML mistakes worded, a series
from scratch, the zone `init` chose, and a template's misspelt field named in its own words."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from zoneinfo import available_timezones

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from announcer.cli import app
from announcer.model.event import MEANT, zone_named
from announcer.starter import start_workspace
from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, write

TALK = 'title: "A talk"\nstart: 2099-06-10 15:00\n'
EXAMPLES = 2000 if os.environ.get("CI") else 150


# 1. A time zone is a place (or UTC)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("CET", "events/talk.yaml:3: timezone: 'CET' names no place: give the place whose clock the event"),
        ("CET", "such as Europe/Berlin, Europe/Paris, Europe/Stockholm"),
        ("EST", "such as America/New_York"),
        ("PST", "such as America/Los_Angeles"),
        ("EST5EDT", "'EST5EDT' names no place"),
        ("GMT+1", "'GMT+1' is a fixed offset, which ignores summer time"),
        ("Etc/GMT-2", "(and Etc/GMT-2 is UTC+2: those names reverse the sign)"),
        (
            "America/New_Yrok",
            "timezone: unknown time zone 'America/New_Yrok' (did you mean 'America/New_York'?)",
        ),
        ("europe/stockholm", "unknown time zone 'europe/stockholm' (did you mean 'Europe/Stockholm'?)"),
        ("Stockholm", "(did you mean 'Europe/Stockholm'?)"),
        ("Japan", "not a place's IANA name: write it as Area/City"),
        ("localtime", "not a place's IANA name"),
    ],
)
def test_a_zone_that_names_no_place_is_refused_with_the_places_it_means(
    cli: CLI, zone: str, expected: str
) -> None:
    write(Path("events/talk.yaml"), TALK + f"timezone: {zone}\n")
    code, _, err = cli("check", "events/talk.yaml")
    assert code == 1
    assert expected in err


def test_utc_and_a_place_are_accepted(cli: CLI) -> None:
    for zone in ("UTC", "Etc/UTC", "America/New_York", "US/Eastern"):
        write(Path("events/talk.yaml"), TALK + f"timezone: {zone}\n")
        code, out, err = cli("check", "events/talk.yaml")
        assert code == 0, out + err


def test_a_series_and_the_defaults_are_held_to_places_too(cli: CLI) -> None:
    series = Path("series/onkpat.yaml")
    series.write_text(series.read_text().replace("timezone: Europe/Stockholm", "timezone: CET"))
    code, _, err = cli("check", "events/2026-03-13-tumour-microenvironment.yaml")
    assert code == 1
    assert "series/onkpat.yaml:11: timezone: 'CET' names no place" in err

    settings_file = Path("announcer.toml")
    settings_file.write_text(settings_file.read_text().replace('"Europe/Stockholm"', '"PST"'))
    code, _, err = cli("check", EXAMPLE_EVENT)
    assert code == 1
    assert "announcer.toml:18: [defaults].timezone: 'PST' names no place" in err
    assert "America/Los_Angeles" in err


def test_every_place_an_abbreviation_suggests_is_accepted() -> None:
    for abbreviation, places in MEANT.items():
        for place in re.findall(r"[A-Z][A-Za-z_]+/[A-Za-z_]+|\bUTC\b", places):
            assert zone_named(place).key == place, abbreviation


_ALL_ZONES = sorted(available_timezones())


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.sampled_from(_ALL_ZONES),
        st.sampled_from(_ALL_ZONES).map(str.lower),
        st.sampled_from(_ALL_ZONES).map(lambda name: name[:-1]),
        st.sampled_from([*MEANT, "UTC+2", "GMT-5", "Etc/GMT+3", "utc"]),
        st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_/+-0123456789 ", max_size=30),
    )
)
def test_a_zone_is_a_place_or_utc_and_every_suggestion_is_one(name: str) -> None:
    """What zoneinfo reads, and near misses of it: accepted only as a place (Area/City) or UTC;
    refused with the name quoted, and every name suggested is itself accepted."""
    try:
        zone = zone_named(name)
    except ValueError as exc:
        message = str(exc)
        assert repr(name.strip())[:20] in message or "…" in message
        suggested = re.findall(r"did you mean '([^']+)'", message)
        if "such as" in message:
            suggested += re.findall(r"[A-Z][A-Za-z_]+/[A-Za-z_]+", message.split("such as", 1)[1])
        for place in suggested:
            zone_named(place)
        return
    assert zone.key == name
    assert name in ("UTC", "Etc/UTC") or ("/" in name and not name.startswith("Etc/"))


# 2. TOML errors with the help YAML's have


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (
            'name = "OnkPat Friday Seminar"',
            "name = OnkPat",
            "announcer.toml:4: [sender].name: not valid TOML: Invalid value (at line 4, column 8):"
            ' text needs quotes: name = "OnkPat"',
        ),
        (
            'accent = "#7a1f52"',
            "accent = #7a1f52",
            "announcer.toml:14: [brand].accent: not valid TOML: Invalid value (at line 14, column 10):"
            ' accent has no value (a # starts a comment: write a colour in quotes, "#1f4e79")',
        ),
        (
            'timezone = "Europe/Stockholm"',
            "timezone = 2026-03-06 12:00",
            "announcer.toml:18: [defaults].timezone: not valid TOML:"
            " Expected newline or end of document after a statement (at line 18, column 23):"
            ' a date or time is text here: quote it, timezone = "2026-03-06 12:00"',
        ),
        (
            'email = "onkpat-seminars@example.org"',
            'email: "onkpat-seminars@example.org"',
            "announcer.toml:5: [sender]: not valid TOML: Expected '=' after a key in a key/value pair"
            " (at line 5, column 6): a setting is written `key = value`"
            " (not `key: value`, as YAML writes it)",
        ),
        (
            'name = "OnkPat Friday Seminar"',
            'name = "OnkPat Friday Seminar',
            "announcer.toml:4: [sender].name: not valid TOML: Illegal character '\\n' (at line 4, column 30):"
            " the closing quote is missing",
        ),
        (
            "[defaults]",
            "[default]                  # what an event file may leave out",
            "announcer.toml:17: [default]: unknown key (did you mean 'defaults'?)",
        ),
        (
            "[brand]",
            "[brand.colours]\nx = 1\n[brand]",
            "announcer.toml:13: [brand].colours: unknown key"
            " (known keys: accent, logo_url, logo_alt, footer)",
        ),
    ],
)
def test_a_toml_mistake_is_located_and_says_what_to_write(
    cli: CLI, before: str, after: str, expected: str
) -> None:
    settings_file = Path("announcer.toml")
    text = settings_file.read_text()
    assert before in text
    settings_file.write_text(text.replace(before, after, 1))
    code, _, err = cli("check", EXAMPLE_EVENT)
    assert code == 1
    assert f"error: {expected}\n" in err


# 3. A tab in YAML's indentation


@pytest.mark.parametrize(
    "written",
    [
        TALK + "\tvenue: Hall 1\n",
        TALK + "venue:\n\tname: Hall 1\n",
        TALK + "speakers:\n-\tname: Ada\n",
        TALK + "venue:\n  name: Hall 1\n  \tbuilding: Main\n",
    ],
)
def test_a_tab_in_yaml_indentation_is_named_as_such(cli: CLI, written: str) -> None:
    write(Path("events/talk.yaml"), written)
    code, _, err = cli("check", "events/talk.yaml")
    assert code == 1
    line = written.count("\n", 0, written.index("\t")) + 1
    assert (
        f"error: events/talk.yaml:{line}: a tab: YAML indents with spaces, replace the tab with spaces\n"
        in err
    )


def test_a_tab_inside_a_text_is_text(cli: CLI) -> None:
    write(Path("events/talk.yaml"), TALK + "abstract: |\n  a table:\tone\tcolumn\n")
    code, out, err = cli("check", "events/talk.yaml")
    assert code == 0, out + err


# 4 and 5. A series from scratch; the zone `init` chose


def test_new_without_a_series_says_how_to_write_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(Path("events/.keep"), "")
    code, _, err = CLI()("new", "onkpat", "--date", "2099-04-10")
    assert code == 1
    assert (
        "error: series: no series/onkpat.yaml: write it, a few lines such as `name: Our Seminar Series`"
        in err
    )
    assert 'README.md, "A series, week after week"' in err


def test_new_with_a_misspelt_series_names_the_one_there_is(cli: CLI) -> None:
    code, _, err = cli("new", "onkpatt", "--date", "2099-04-10")
    assert code == 1
    assert "error: series: no series/onkpatt.yaml (did you mean 'onkpat'?)" in err


def test_init_writes_a_series_that_new_uses_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cli = CLI()
    code, out, err = cli("init", "mine", "--timezone", "Europe/Berlin")
    assert code == 0, out + err
    assert "\ntime zone: Europe/Berlin, as asked. To change it:" in out, "the CLI prints the starter's notes"
    monkeypatch.chdir(tmp_path / "mine")
    series = Path("series/seminar.yaml").read_text()
    assert "announcer new seminar --date" in series, "the series file says how to use it"
    code, out, err = cli("new", "seminar", "--date", "2099-04-10", "--title", "Second Talk")
    assert code == 0, out + err
    written = Path("events/2099-04-10-second-talk.yaml").read_text()
    assert "series: seminar\n" in written
    assert "start: 2099-04-10 12:00\n" in written
    code, out, err = cli("check", "events")
    assert code == 1, "the new talk's TODOs are still to write"
    assert "series/seminar.yaml" not in err, "the series itself is valid"


def test_init_says_which_zone_it_chose_and_how_to_change_it(tmp_path: Path) -> None:
    asked = start_workspace(tmp_path / "asked", "Europe/Berlin")
    assert asked.notes == [
        "time zone: Europe/Berlin, as asked. To change it: `timezone` in announcer.toml's [defaults]"
        " and in the example event (or init again with --timezone Europe/Stockholm)"
    ]
    machine = start_workspace(tmp_path / "machine")
    (note,) = machine.notes
    zone = re.search(r'^timezone = "([^"]+)"', (tmp_path / "machine/announcer.toml").read_text(), re.M)
    assert zone is not None
    assert note.startswith(f"time zone: {zone[1]} (") or note.startswith(
        f"time zone: {zone[1]}, this machine's."
    )
    assert "--timezone" in note
    assert machine.event == tmp_path / "machine" / "events" / machine.event.name


def test_init_refuses_a_zone_that_names_no_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = CLI()("init", "mine", "--timezone", "CET")
    assert code == 1
    assert "error: --timezone: 'CET' names no place" in err
    assert not Path("mine").exists()


# 6. A template's misspelt name, in a template author's words


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        (
            "{{ event.titel }}",
            "templates/email/invitation.txt.j2:3: event has no field 'titel' (did you mean 'title'?);"
            " its fields: series, category, title, start, end, timezone, venue,",
        ),
        (
            "{{ event.venue.nam }}",
            "templates/email/invitation.txt.j2:3: venue has no field 'nam' (did you mean 'name'?)",
        ),
        (
            "{{ evnt.title }}",
            "templates/email/invitation.txt.j2:3: the template has no variable 'evnt'"
            " (did you mean 'event'?);"
            " the variables: ",
        ),
        (
            "{{ event.title.size }}",
            "templates/email/invitation.txt.j2:3: text has no field 'size'; its fields: none",
        ),
    ],
)
def test_a_misspelt_field_in_an_override_is_named_with_the_fields_there_are(
    cli: CLI, written: str, expected: str
) -> None:
    write(
        Path("templates/email/invitation.txt.j2"),
        '{% extends "theme:invitation.txt.j2" %}\n{% block abstract %}\n' + written + "\n{% endblock %}\n",
    )
    code, _, err = cli("render", EXAMPLE_EVENT, "-o", "rendered")
    assert code == 1
    assert f"error: {expected}" in err
    assert "announcer." not in err, "no Python class is named"


def test_a_field_tested_or_defaulted_is_no_error(cli: CLI) -> None:
    write(
        Path("templates/email/invitation.txt.j2"),
        '{% extends "theme:invitation.txt.j2" %}\n{% block abstract %}\n'
        '{% if event.titel is defined %}x{% endif %}{{ event.titel | default("none") }}\n{% endblock %}\n',
    )
    code, out, err = cli("render", EXAMPLE_EVENT, "-o", "rendered")
    assert code == 0, out + err


def test_a_reader_s_zone_is_held_to_places_as_an_event_s_is(cli: CLI) -> None:
    write(Path("recipients/zones.csv"), "email,timezone\na@example.org,Europe/Oslo\nb@example.org,EST\n")
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", "recipients/zones.csv")
    assert code == 1
    assert "error: recipients/zones.csv:3: timezone: 'EST' names no place" in err
    assert "America/New_York" in err


@pytest.mark.parametrize("quote", ['"', "'"])
def test_a_quote_never_closed_is_named_where_it_opens_not_at_the_end(cli: CLI, quote: str) -> None:
    event = f"series: onkpat\ntitle: {quote}CAR T Cell Therapy\nstart: 2026-03-06 12:00\nabstract: A talk.\n"
    write(Path("events/open-quote.yaml"), event)
    code, _, err = cli("check", "events/open-quote.yaml")
    assert code == 1
    assert "error: events/open-quote.yaml:2: a quote that opens here is never closed" in err


def test_a_workspace_named_with_config_keeps_its_folders_wherever_announcer_runs(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    monkeypatch.chdir(outside)
    config = ("--config", str(workspace / "announcer.toml"))
    cli = CLI()
    code, out, err = cli(
        "digest", "--to", str(workspace / EXAMPLE_RECIPIENTS), "--from", "2026-03-02", *config
    )
    assert code == 0, out + err
    assert list((workspace / "outbox").glob("digest-*/*.eml")), "the digest read the workspace's events"
    code, out, err = cli("send", str(workspace / EXAMPLE_EVENT), "--to", "a@example.org", *config)
    assert code == 0, out + err
    assert list((workspace / "outbox").glob("2026-03-06-*/*.eml"))
    code, out, err = cli("site", *config)
    assert code == 0, out + err
    assert (workspace / "site" / "onkpat.ics").exists()
    assert list(outside.iterdir()) == [], "nothing written where announcer happened to run"
    code, out, err = cli(
        "send", str(workspace / EXAMPLE_EVENT), "--to", "a@example.org", "--outbox", "here", *config
    )
    assert code == 0, out + err
    assert (outside / "here").is_dir(), "a folder typed is as typed"
    code, out, err = cli(
        "send", str(workspace / EXAMPLE_EVENT), "--to", "a@example.org", "--outbox", "outbox", *config
    )
    assert code == 0, out + err
    assert (outside / "outbox").is_dir(), "even when it is named as the default is"


def test_status_after_a_real_send_that_never_reached_the_server_says_why_nothing_is_there(cli: CLI) -> None:
    with Path("announcer.toml").open("a") as settings:
        settings.write('\n[smtp]\nhost = "127.0.0.1"\nport = 9\nsecurity = "none"\nretries = 0\n')
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", "a@example.org", "--transport", "smtp", "--past")
    assert code == 3, err
    code, out, _ = cli("status", EXAMPLE_EVENT)
    assert code == 0
    assert "a real send that stopped before its first message" in out


@pytest.mark.parametrize(
    ("written", "said"),
    [
        (
            "E-mail,name\na@example.org,A\n",
            "recipients/x.csv:1: the header row has no `email` column: rename 'E-mail'",
        ),
        (
            "email\nÅsa Lindqvist <asa@example.org>\n",
            "recipients/x.csv:2: email: write the address alone here",
        ),
    ],
)
def test_a_list_as_people_write_it_gets_words_for_what_to_change(cli: CLI, written: str, said: str) -> None:
    write(Path("recipients/x.csv"), written)
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", "recipients/x.csv")
    assert code == 1
    assert f"error: {said}" in err
    assert "when not quoted" not in err, "not the library's words"


def test_the_pre_flight_s_last_line_counts_the_warnings_printed_above_it(
    cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("announcer.preflight.SPAMASSASSIN", None)  # seconds a message; not the point here
    code, out, err = cli("check", EXAMPLE_EVENT)  # the example is over: a warning on the input
    assert code == 0, out + err
    assert "warning: events/2026-03-06-car-t-cell-therapy.yaml: the event is over" in err
    assert out.rstrip().endswith("(and 1 warning on the inputs, above)"), out[-200:]


def test_the_verbs_list_says_each_verb_in_a_whole_line() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "announcer", "--help"], capture_output=True, text=True, check=True
    ).stdout
    commands, _, epilog = shown.split("Commands:")[1].strip().partition("\n\n")
    verbs = commands.splitlines()
    assert len(verbs) == len(app.registered_commands) + len(app.registered_groups)
    assert "Exit status: 0 done;" in epilog
    assert "4 done, but something needs a look" in " ".join(epilog.split())
    for line in verbs:
        assert line.rstrip().endswith("."), f"cut off: {line}"
        assert "…" not in line
