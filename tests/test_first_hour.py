"""A new organiser's first hour: their own workspace, common mistakes caught, words they understand."""

from __future__ import annotations

import re
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
    text = Path("announcer.toml").read_text().replace('language = "en"', 'language = "fr"')
    Path("announcer.toml").write_text(text)
    code, _, err = cli("check", EXAMPLE_EVENT)
    assert code == 1
    assert (
        "[defaults].language: 'fr': the emails can be written in en, de, sv (a new language is one .po file)"
        in err
    )


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


def _hybrid(cli: CLI) -> tuple[str, str]:
    """The HTML and text of a hybrid talk with two speakers and publications with DOIs."""
    write(
        Path("events/hybrid.yaml"),
        TALK.replace(
            "speakers: [{name: Ada Example}]", "speakers: [{name: Ada Example}, {name: Tomás Ruiz-Álvarez}]"
        )
        + "venue: {name: Hörsaal 3, online_url: 'https://meet.example.org/h3'}\n"
        + "intro: Welcome to this one.\n"
        + "publications:\n"
        + "  - {authors: [Example A], title: Paper one., journal: J, year: 2025, doi: 10.1000/one}\n",
    )
    assert cli("render", "events/hybrid.yaml", "-o", "rendered")[0] == 0
    return Path("rendered/hybrid.html").read_text(), Path("rendered/hybrid.txt").read_text()


def test_the_greeting_comes_first_and_joining_online_is_the_clearest_button(cli: CLI) -> None:
    html, text = _hybrid(cli)
    for part in (html, text):
        assert part.index("Dear colleague,") < part.index("Welcome to this one.") < part.index("Where")
    join = re.search(r'<a href="https://meet.example.org/h3"[^>]*>\s*Join online\s*</a>', html)
    assert join, "a button, not a plain link"
    assert "background" in join[0] or 'class="join' in html
    assert "Join online: https://meet.example.org/h3" in text


def test_publications_show_their_doi_and_titles_are_text(cli: CLI) -> None:
    html, text = _hybrid(cli)
    assert '<a href="https://doi.org/10.1000/one"' in html
    assert "doi:10.1000/one</a>" in html
    assert '<span class="pub-title"' in html
    assert not re.search(r'class="pub-title"[^>]*><a ', html), "a title is not a link unlike every other"
    assert "https://doi.org/10.1000/one" in text


def test_the_text_is_short_to_read_past_and_the_footer_says_things_once(cli: CLI) -> None:
    _, text = _hybrid(cli)
    urls = re.findall(r"https://\S+", text)
    assert max(len(url) for url in urls) < 400, "calendar links a person can read past"
    assert "meet.example.org%2Fh3" in next(url for url in urls if "calendar.google" in url)
    footer = text.split("\n-- \n", 1)[1]
    assert footer.count("OnkPat Friday Seminar") == 1
    assert "<onkpat-seminars@example.org>" not in footer


def test_a_value_of_the_wrong_shape_is_explained_in_yaml_words(cli: CLI) -> None:
    write(
        Path("events/talk.yaml"),
        'title: "A talk"\nstart: 2099-04-10 15:00\nspeakers: [Ada Example]\nlinks: https://example.org\n'
        + "publications: [{authors: [A], title: T, journal: J, year: soon}]\n",
    )
    code, _, err = cli("check", "events/talk.yaml")
    assert code == 1
    assert (
        "events/talk.yaml:3: speakers[0]: needs `key: value` lines here (name, title, affiliation, ...)"
        in err
    )
    assert "events/talk.yaml:4: links: needs a list: one `- item` a line, or [first, second]" in err
    assert "events/talk.yaml:5: publications[0].year: needs a whole number" in err
    assert "instance of" not in err
    assert "valid dictionary" not in err
