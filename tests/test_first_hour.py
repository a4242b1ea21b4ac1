"""A new organiser's first hour: their own workspace, common mistakes caught, words they understand."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, read_message, write

TALK = 'title: "A talk"\nstart: 2099-04-10 15:00\nspeakers: [{name: Ada Example}]\n'


def test_init_writes_a_workspace_that_passes_check_and_sends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    cli = CLI()
    code, out, err = cli("init", "my-seminars", "--timezone", "Europe/Berlin")
    assert code == 0, out + err
    assert "next: cd my-seminars && announcer check events/" in out
    monkeypatch.chdir(tmp_path / "my-seminars")
    (event,) = Path("events").glob("*.yaml")
    assert "timezone: Europe/Berlin" in event.read_text()
    code, out, err = cli("check", "events", "--to", "recipients/list.csv")
    assert code == 0, out + err
    assert err == "", "a new workspace has nothing to warn about"
    code, out, err = cli("send", str(event), "--to", "recipients/list.csv")
    assert code == 0, out + err
    assert "ANNOUNCER_UNSUBSCRIBE_SECRET" in Path("announcer.toml").read_text(), "the secret is explained"


def test_init_never_writes_over_a_folder_in_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(Path("mine/notes.txt"), "mine")
    code, _, err = CLI()("init", "mine")
    assert code == 1
    assert "error: mine: already exists and is not empty: nothing written" in err
    assert sorted(path.name for path in Path("mine").iterdir()) == ["notes.txt"]


def test_a_semicolon_separated_list_is_read_and_said_so(cli: CLI) -> None:
    write(Path("recipients/excel.csv"), 'email;name\na@example.org;"Müller; Jürgen"\nb@example.org;Bea\n')
    code, out, err = cli("check", EXAMPLE_EVENT, "--to", "recipients/excel.csv")
    assert code == 0, out + err
    assert "ok: recipients/excel.csv: 2 recipients (semicolon-separated)" in out
    assert cli("send", EXAMPLE_EVENT, "--to", "recipients/excel.csv")[0] == 0
    first = read_message(sorted(Path("outbox/2026-03-06-car-t-cell-therapy").glob("*.eml"))[0])
    assert str(first["To"]) == '"Müller; Jürgen" <a@example.org>'


def test_a_csv_error_names_its_line(cli: CLI) -> None:
    write(Path("recipients/bad.csv"), 'email,name\na@example.org,A\n\nb@example.org,"unterminated\n')
    code, _, err = cli("check", EXAMPLE_EVENT, "--to", "recipients/bad.csv")
    assert code == 1
    assert "error: recipients/bad.csv:4: not valid CSV: unexpected end of data" in err


def test_publication_details_are_written_the_usual_way(cli: CLI) -> None:
    write(
        Path("events/talk.yaml"),
        TALK
        + "publications:\n"
        + "  - {authors: [Example A], title: T, journal: J, year: 2025, month: 2,"
        + " doi: 'https://doi.org/10.1038/s41586-020-2649-2'}\n",
    )
    code, out, err = cli("render", "events/talk.yaml", "-o", "rendered")
    assert code == 0, out + err
    text = Path("rendered/talk.txt").read_text()
    assert "J 2025 Feb" in text
    assert "https://doi.org/10.1038/s41586-020-2649-2" in text
    assert "doi.org/https" not in text + Path("rendered/talk.html").read_text()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("end: 17:45\n", "events/talk.yaml:4: end: give the date with the time, like 2026-03-06 17:45"),
        (
            "publications: [{authors: [A], title: T, journal: J, year: 2025, month: 13}]\n",
            "month: '13' is not a month",
        ),
        (
            "publications: [{authors: [A], title: T, journal: J, year: 2025, doi: nope}]\n",
            "doi: 'nope' is not a DOI",
        ),
    ],
)
def test_common_mistakes_get_words_that_say_what_to_write(cli: CLI, extra: str, expected: str) -> None:
    write(Path("events/talk.yaml"), TALK + extra)
    code, _, err = cli("check", "events/talk.yaml")
    assert code == 1
    assert expected in err


def test_an_unquoted_colon_gets_a_hint_to_quote(cli: CLI) -> None:
    write(Path("events/talk.yaml"), TALK.replace('"A talk"', "CAR T: From A to B"))
    code, _, err = cli("check", "events/talk.yaml")
    assert code == 1
    assert (
        'events/talk.yaml:1: not valid YAML: mapping values are not allowed here (a value that holds ": "'
        in err
    )


def test_a_plain_venue_is_its_name(cli: CLI) -> None:
    write(Path("events/talk.yaml"), TALK + "venue: Hörsaal 3\n")
    assert cli("render", "events/talk.yaml", "-o", "rendered")[0] == 0
    assert "Hörsaal 3" in Path("rendered/talk.txt").read_text()


def test_an_event_in_the_past_gets_a_warning(cli: CLI) -> None:
    code, out, err = cli("check", EXAMPLE_EVENT)
    assert code == 0, out + err
    assert f"warning: {EXAMPLE_EVENT}: the event is over (it ended 2026-03-06 13:00 CET)" in err
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", "a@example.org")
    assert code == 0
    assert "the event is over" in err
    write(Path("events/talk.yaml"), TALK)
    assert "the event is over" not in cli("check", "events/talk.yaml")[2]


def test_a_language_without_wording_is_refused(cli: CLI) -> None:
    text = Path("announcer.toml").read_text().replace('language = "en"', 'language = "de"')
    Path("announcer.toml").write_text(text)
    code, _, err = cli("check", EXAMPLE_EVENT)
    assert code == 1
    assert "[defaults].language: 'de': the emails can be written in English (en) only, so far" in err


def test_the_dry_run_says_what_it_did(cli: CLI) -> None:
    code, out, _ = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS)
    assert code == 0
    assert out == "wrote 5 messages to outbox/2026-03-06-car-t-cell-therapy; a dry run: nothing was sent\n"
    code, out, _ = cli("send", EXAMPLE_EVENT, "--to", "a@example.org")
    assert "wrote 1 message to" in out


def test_check_takes_a_folder_and_preview_a_missing_file_is_not_found(cli: CLI) -> None:
    code, out, err = cli("check", "events")
    assert code == 0, out + err
    assert out.count("ok: events/") == 5
    code, _, err = cli("preview", "events/missing.yaml")
    assert code == 1
    assert "error: events/missing.yaml: not found" in err


def test_help_and_version_read_cleanly() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "announcer", "send", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    for noise in ("<bool>", "<str>", "list[str]", "<path>  "):
        assert noise not in result.stdout
    assert "--to LIST" in result.stdout
    preview = subprocess.run(
        [sys.executable, "-m", "announcer", "preview", "--help"], capture_output=True, text=True, check=False
    )
    assert "http://127.0.0.1:8800/" in preview.stdout
    assert "recipient #1" in preview.stdout
    version = subprocess.run(
        [sys.executable, "-m", "announcer", "--version"], capture_output=True, text=True, check=False
    )
    assert version.stdout.startswith("announcer 0.")
