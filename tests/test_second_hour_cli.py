"""The second hour at the command line: the README's example shows an ordinary day (`--today`),
`--help` shows each argument by its name, and a template's mistake names what its author wrote."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from announcer.cli import app
from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, ROOT, read_message, write


def _readme_example() -> list[str]:
    """The README's first command's announcer part, as words (what .ci/run runs)."""
    block = ROOT.joinpath("README.md").read_text().split("```")[1]
    example = block.splitlines()[1]
    return shlex.split(example.split(".venv/bin/announcer ", 1)[1])


def test_the_readme_s_example_shows_an_ordinary_day_not_an_event_that_is_over(cli: CLI) -> None:
    words = _readme_example()
    assert words[:2] == ["send", EXAMPLE_EVENT]
    code, out, err = cli(*words)
    assert code == 0, err
    assert err == "", "no warning: the first thing a new user sees is what announcer does"
    assert out == "wrote 5 messages to outbox/2026-03-06-car-t-cell-therapy; a dry run: nothing was sent\n"
    message = read_message(next(Path("outbox").rglob("*.eml")))
    assert str(message["Date"]) == "Mon, 02 Mar 2026 09:00:00 +0100", "written on the day it says"


def test_without_today_the_example_is_over_as_before(cli: CLI) -> None:
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS)
    assert code == 0
    assert "the event is over" in err


def test_today_is_for_dry_runs_only(cli: CLI) -> None:
    code, _, err = cli(
        "send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--today", "2026-03-02", "--transport", "smtp"
    )
    assert code == 2
    assert "--today: is for dry runs: a message sent for real says when it went" in err
    assert not Path("outbox").exists()
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--today", "2 March")
    assert code == 2
    assert "'2 March': give a day like 2026-03-02" in err


def test_check_on_the_example_s_day_says_nothing_is_over(cli: CLI) -> None:
    code, out, err = cli("check", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--today", "2026-03-02")
    assert code == 0, err
    assert "over" not in err
    assert "pre-flight: 0 errors" in out


def _verbs() -> list[list[str]]:
    """Every verb, and every verb of a group of verbs (`audience remove`)."""
    verbs = [[command.name or command.callback.__name__] for command in app.registered_commands]  # type: ignore[union-attr]
    for group in app.registered_groups:
        assert group.name
        assert group.typer_instance
        for command in group.typer_instance.registered_commands:
            verbs.append([group.name, command.name or command.callback.__name__])  # type: ignore[union-attr]
    return verbs


@pytest.mark.parametrize("verb", _verbs(), ids=" ".join)
def test_help_shows_each_argument_by_its_name_not_a_python_type(cli: CLI, verb: list[str]) -> None:
    code, out, _ = cli(*verb, "--help")
    assert code == 0
    usage = out.splitlines()[0]
    assert not re.search(r"[{}]", usage), usage
    assert not re.search(r"<(list\[|str>|int>|Path|path>|file>|dir>)", out), out
    assert not re.search(r"list\[|Path", out), out


def test_help_s_usage_reads_as_a_person_writes_it(cli: CLI) -> None:
    assert cli("check", "--help")[1].splitlines()[0].endswith(" check [OPTIONS] EVENT...")
    assert cli("new", "--help")[1].splitlines()[0].endswith(" new [OPTIONS] SERIES")
    assert cli("digest", "--help")[1].splitlines()[0].endswith(" digest [OPTIONS] [EVENTS_DIR]")
    assert "\n  SERIES  The series' id" in cli("new", "--help")[1]


def test_a_misspelt_field_of_the_recipient_names_the_recipient(cli: CLI) -> None:
    write(
        Path("templates/email/invitation.txt.j2"),
        '{% extends "theme:invitation.txt.j2" %}\n{% block greeting %}{{ recipient.nme }}{% endblock %}\n',
    )
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS)
    assert code == 1
    assert "templates/email/invitation.txt.j2:2: recipient has no field 'nme' (did you mean 'name'?)" in err
    assert "given_name" in err
    assert "slots" not in err.lower()
