"""The verbs as a user types them: output, files written and exit codes."""

from __future__ import annotations

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
    html = Path(f"rendered/{slug}.html").read_text()
    assert "Dear colleague," in html
    assert "[[announcer:" not in html
    assert "Dear colleague," in Path(f"rendered/{slug}.txt").read_text()
    calendar = vobject.readOne(Path(f"rendered/{slug}.ics").read_text())
    assert calendar.vevent.uid.value == f"{slug}@example.org"


def test_send_to_a_single_address(cli: CLI) -> None:
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", "seminars@lists.example.org")
    assert code == 0, out + err
    (eml,) = Path("outbox/2026-03-06-car-t-cell-therapy").glob("*.eml")
    assert eml.name == "0001-seminars@lists.example.org.eml"


def test_rate_is_read_per_minute_second_or_hour(cli: CLI) -> None:
    for rate in ("6000/min", "100/s", "360000/h", "6000"):
        code, out, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--rate", rate)
        assert code == 0, out + err
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--rate", "fast")
    assert code == 2
    assert "'fast': give a rate like 120/min" in err


def test_usage_errors_exit_2(cli: CLI) -> None:
    assert cli("send", EXAMPLE_EVENT)[0] == 2  # --to missing
    assert cli("send", EXAMPLE_EVENT, "--to", EXAMPLE_RECIPIENTS, "--transport", "carrier-pigeon")[0] == 2
    assert cli("frobnicate")[0] == 2


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
        "error: templates/email/invitation.subject.j2:2: "
        "'announcer.model.event.Event object' has no attribute 'titel'" in err
    )
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
