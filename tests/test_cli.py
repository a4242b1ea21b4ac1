"""The verbs as a user types them: output, files written and exit codes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import vobject

from tests.helpers import CLI, EXAMPLE_EVENT, EXAMPLE_RECIPIENTS, write


def test_check_passes_the_example(cli: CLI) -> None:
    code, out, err = cli("check", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS)
    assert code == 0, out + err
    assert f"ok: {EXAMPLE_EVENT}" in out
    assert f"ok: {EXAMPLE_RECIPIENTS}: 5 recipients" in out


def test_check_reports_every_file_and_exits_1(cli: CLI) -> None:
    write(Path("events/bad.yaml"), "title: x\n")
    write(Path("recipients/bad.csv"), "email\nnobody\n")
    code, _, err = cli("check", EXAMPLE_EVENT, "events/bad.yaml", "--to", "recipients/bad.csv")
    assert code == 1
    assert "error: events/bad.yaml:1: start: required, but missing" in err
    assert "error: recipients/bad.csv:2: email: 'nobody' is not a valid email address" in err


def test_check_warns_about_duplicates(cli: CLI) -> None:
    write(Path("recipients/twice.csv"), "email\na@example.org\nA@example.org\n")
    code, out, err = cli("check", EXAMPLE_EVENT, "--to", "recipients/twice.csv")
    assert code == 0
    assert "warning: recipients/twice.csv:3: duplicate of line 2 (A@example.org): dropped" in err
    assert "ok: recipients/twice.csv: 1 recipient\n" in out


def test_render_writes_html_text_and_calendar(cli: CLI) -> None:
    code, out, err = cli("render", EXAMPLE_EVENT, "-o", "rendered")
    assert code == 0, out + err
    slug = "2026-03-06-car-t-cell-therapy"
    assert out == f"wrote {slug}.html, {slug}.txt and {slug}.ics to rendered\n"
    html = Path(f"rendered/{slug}.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "Dear colleague," in html
    assert "[[announcer" not in html
    text = Path(f"rendered/{slug}.txt").read_text()
    assert text.startswith("OnkPat Friday Seminar")
    assert "Dear colleague," in text
    for html_only in ("<p>", "</", "&amp;"):
        assert html_only not in text, "the text part is not HTML"
    calendar = vobject.readOne(Path(f"rendered/{slug}.ics").read_text())
    assert calendar.vevent.uid.value == f"{slug}@example.org"
    assert calendar.vevent.sequence.value == "0"


def test_send_to_a_single_address(cli: CLI) -> None:
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", "seminars@lists.example.org")
    assert code == 0, out + err
    (eml,) = Path("outbox/2026-03-06-car-t-cell-therapy").glob("*.eml")
    assert eml.name == "0001-seminars@lists.example.org.eml"


def test_rate_paces_the_send(cli: CLI) -> None:
    started = time.monotonic()
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--rate", "1200/min")
    assert code == 0, out + err
    assert time.monotonic() - started >= 4 * 0.05, "five messages at 20 a second need four 50 ms gaps"
    for rate in ("72000/h", "20/s", "1200"):
        assert cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--rate", rate)[0] == 0
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--rate", "fast")
    assert code == 2
    assert "'fast': give a rate like 120/min" in err


def test_usage_errors_exit_2_and_say_what_is_wrong(cli: CLI) -> None:
    code, _, err = cli("digest", "events")
    assert code == 2
    assert "Missing option '--to'" in err
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--transport", "carrier-pigeon")
    assert code == 2
    assert "Invalid value for '--transport'" in err
    assert "carrier-pigeon" in err
    code, _, err = cli("frobnicate")
    assert code == 2
    assert "No such command 'frobnicate'" in err
    assert not Path("outbox").exists()


def test_config_names_a_workspace_elsewhere(cli: CLI, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    Path("announcer.toml").rename(elsewhere / "announcer.toml")
    code, out, err = cli(
        "send",
        EXAMPLE_EVENT,
        "--to",
        EXAMPLE_RECIPIENTS,
        "--config",
        str(elsewhere / "announcer.toml"),
    )
    assert code == 0, out + err
    write(elsewhere / "templates/email/invitation.subject.j2", "From elsewhere: {{ event.title }}\n")
    write(Path("templates/email/invitation.subject.j2"), "From here: {{ event.title }}\n")
    config = str(elsewhere / "announcer.toml")
    assert cli("send", EXAMPLE_EVENT, "--to", "a@example.org", "--config", config)[0] == 0
    eml = next((elsewhere / "outbox/2026-03-06-car-t-cell-therapy").glob("*.eml")).read_text()
    assert "Subject: From elsewhere: CAR T Cell Therapy" in eml, "the workspace is the settings' folder"
    assert not Path("outbox").exists(), "its outbox too"


def test_workspace_template_overrides_the_theme(cli: CLI) -> None:
    write(Path("templates/email/invitation.subject.j2"), "Seminar: {{ event.title }}\n")
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", "a@example.org")
    assert code == 0, out + err
    eml = next(Path("outbox").rglob("*.eml")).read_text()
    assert "Subject: Seminar: CAR T Cell Therapy: From Lymphoma to Autoimmunity" in eml


def test_template_errors_name_file_and_line(cli: CLI) -> None:
    write(Path("templates/email/invitation.subject.j2"), "Seminar:\n{{ event.titel }}\n")
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", "a@example.org")
    assert code == 1
    assert (
        "error: templates/email/invitation.subject.j2:2: event has no field 'titel' (did you mean 'title'?)"
        in err
    )
    assert "announcer.model" not in err, "a template author is not shown Python's classes"
    write(Path("templates/email/invitation.subject.j2"), "{% if %}\n")
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", "a@example.org")
    assert code == 1
    assert "error: templates/email/invitation.subject.j2:1: Expected an expression" in err
    assert not Path("outbox").exists()


def test_check_reads_events_even_when_settings_are_broken(cli: CLI) -> None:
    write(Path("announcer.toml"), "[sender]\nname = 'S'\n")
    write(Path("events/bad.yaml"), "title: x\nstart: 2026-01-01 10:00\nspeaker: []\n")
    code, _, err = cli("check", "events/bad.yaml")
    assert code == 1
    assert "error: announcer.toml:1: [sender].email: required, but missing" in err
    assert "error: events/bad.yaml:3: speaker: unknown key (did you mean 'speakers'?)" in err


def test_python_dash_m_announcer_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "announcer", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "Turn event announcements into emails" in result.stdout


def test_a_multi_day_event_names_both_days(cli: CLI) -> None:
    event = Path(EXAMPLE_EVENT)
    event.write_text(event.read_text().replace("end: 2026-03-06 13:00", "end: 2026-03-07 13:00"))
    assert cli("render", EXAMPLE_EVENT, "-o", "rendered")[0] == 0
    text = Path("rendered/2026-03-06-car-t-cell-therapy.txt").read_text()
    assert "Friday, 6 March 2026, 12:00 – Saturday, 7 March 2026, 13:00" in text
    calendar = vobject.readOne(Path("rendered/2026-03-06-car-t-cell-therapy.ics").read_text())
    assert calendar.vevent.dtend.value.day == 7


def test_times_rates_and_days_past_what_makes_sense_say_the_range(cli: CLI) -> None:
    """Each was a traceback: a timedelta, a sleep or a date past what Python holds."""
    long = "1" * 5000
    for args, expected in [
        (("remind", "--within", "99999999999d"), "'99999999999d': give a time from a minute to a week (7d)"),
        (("remind", "--within", f"{long}d"), "give a time from a minute to a week (7d) before"),
        (
            ("send", EXAMPLE_EVENT, "--to", "a@example.org", "--rate", f"{long}/s"),
            "give a rate from 1/h to 1,000/s",
        ),
        (
            ("send", EXAMPLE_EVENT, "--to", "a@example.org", "--rate", f"0.{'0' * 300}1/h"),
            "from 1/h to 1,000/s",
        ),
        (
            ("digest", "--to", "a@example.org", "--from", "9999-12-31"),
            "'9999-12-31': give a day in the years 1900",
        ),
        (("check", EXAMPLE_EVENT, "--from", "9999-12-31"), "give a day in the years 1900 to 2200"),
    ]:
        code, _, err = cli(*args)
        assert code == 2, (args, err)
        assert expected in err, (args, err)
        assert len(err) < 1000, "the value is quoted short"
    assert not Path("outbox").exists()
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", "a@example.org", "--rate", "1000/s")
    assert code == 0, out + err
    assert cli("remind", "--to", "a@example.org", "--within", "7d")[0] == 0
