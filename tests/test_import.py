"""`announcer import`: announcements in each form we see, the seed carried whole into the
invitation, TODOs that `check` reports, and hostile input refused or bounded."""

from __future__ import annotations

import http.server
import io
import threading
from datetime import date, time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from announcer.cli import app
from announcer.errors import AnnouncementError
from announcer.importer import import_announcement
from announcer.importer.dates import MAX_MENTIONS, DateMention, decide_day, find_dates, find_times
from announcer.importer.draft import Draft, Undecided, When
from announcer.importer.online import meeting_link
from announcer.importer.people import people
from announcer.importer.reading import MAX_CHARS, Context, read_announcement
from announcer.importer.writer import event_document
from announcer.importer.zones import zone_named
from announcer.load.events import PLACEHOLDER
from announcer.load.files import read_yaml
from announcer.model.event import EventDefaults
from tests.helpers import CLI
from tests.import_cases import ANNOUNCEMENTS, CASES, FIELDS, SEED, TODO, UNSEEN, source_of
from tests.import_score import imported, verdict

TODAY = date(2026, 2, 20)


ALL_CASES = {**CASES, **UNSEEN}


@pytest.mark.parametrize("case", list(ALL_CASES))
def test_each_announcement_is_read_right_or_left_as_todo(case: str, tmp_path: Path) -> None:
    (tmp_path / "unseen").mkdir()
    data, todos = imported(case, tmp_path)
    verdicts = {name: verdict(ALL_CASES[case][name], data, todos, name) for name in FIELDS}
    expected = {name: "todo" if ALL_CASES[case][name] == TODO else "right" for name in FIELDS}
    assert verdicts == expected, data


def test_the_seed_imported_and_rendered_carries_every_fact(cli: CLI, workspace: Path) -> None:
    code, out, err = cli("import", str(SEED), "-o", "events/imported.yaml")
    assert code == 0, err
    assert "wrote events/imported.yaml" in out
    code, out, err = cli("render", "events/imported.yaml", "-o", "rendered")
    assert code == 0, err
    text = (workspace / "rendered" / "imported.txt").read_text(encoding="utf-8")
    html = (workspace / "rendered" / "imported.html").read_text(encoding="utf-8")
    seed = SEED.read_text(encoding="utf-8")
    facts = [
        "CAR T Cell Therapy: From Lymphoma to Autoimmunity",
        "Dimitrios Mougiakakos",
        "Otto-von-Guericke Universität",
        "Maurice Michel",
        "Department of Oncology-Pathology",
        "Air & Fire",
        "SciLifeLab",
        "Campus Solna",
        "12:00",
        "6 March 2026",
        "began his academic career in 1998",  # the biosketch
        "has received more than €25 million in grant funding",
        "Chimeric antigen receptor (CAR) T-cell therapy has recently been extended",  # the abstract
        "expected to further expand the therapeutic landscape",
    ]
    titles = [line for line in seed.split("Recent publications")[1].splitlines() if line.endswith((".", "?"))]
    assert len(titles) == 9
    for fact in [
        *facts,
        *titles,
        "Lancet 2026 Jan;407(10527):489-491",
        "N Engl J Med 2021 Aug;385(6):567-569",
    ]:
        assert fact in " ".join(text.split()), fact
    assert "Air &amp; Fire" in html
    assert "Mougiakakos" in html
    ics = (workspace / "rendered" / "imported.ics").read_text(encoding="utf-8")
    assert "DTSTART;TZID=Europe/Stockholm:20260306T120000" in ics


def test_check_reports_each_todo_with_its_line(cli: CLI, workspace: Path) -> None:
    code, out, err = cli("import", str(source_of("ambiguous.txt")), "-o", "events/sleep.yaml")
    assert code == 0, err
    assert "write start (the # TODO lines)" in out
    lines = (workspace / "events" / "sleep.yaml").read_text(encoding="utf-8").splitlines()
    number = next(index for index, line in enumerate(lines, 1) if line.startswith("# TODO start:"))
    assert "2026-05-04 10:00" in lines[number]
    assert "2026-04-05 10:00" in lines[number + 1]
    code, out, err = cli("check", "events/sleep.yaml")
    assert code == 1
    assert (
        f"events/sleep.yaml:{number}: start: still to write (a placeholder of announcer new or import)" in err
    )


def test_without_o_it_writes_events_date_slug_and_never_over_a_file(cli: CLI, workspace: Path) -> None:
    code, out, err = cli("import", str(source_of("labelled-en.txt")))
    assert code == 0, err
    written = workspace / "events" / "2017-12-04-ribosomes-at-the-edge-of-stability.yaml"
    assert written.exists()
    assert f"wrote {written.relative_to(workspace)}" in out
    before = written.read_bytes()
    code, out, err = cli("import", str(source_of("labelled-en.txt")))
    assert code == 1
    exists = "already exists: nothing written (give another name with -o)"
    assert err.strip() == f"error: {written.relative_to(workspace)}: {exists}"
    assert written.read_bytes() == before
    assert not list((workspace / "events").glob(".import-*"))


def test_series_option_uses_the_series_and_its_weekday(cli: CLI, workspace: Path) -> None:
    announcement = workspace / "talk.txt"
    announcement.write_text(
        "Title: A talk\nSpeaker: Ann Bell, Lund University\nWhen: 06/03/2026 12:00\n", encoding="utf-8"
    )
    code, _, err = cli("import", "talk.txt", "--series", "onkpat", "-o", "events/talk.yaml")
    assert code == 0, err
    data, _ = read_yaml(workspace / "events" / "talk.yaml")
    assert data["series"] == "onkpat"
    assert data["start"] == "2026-03-06 12:00"  # the series meets on Fridays
    code, _, err = cli("import", "talk.txt", "--series", "nosuch", "-o", "events/other.yaml")
    assert code == 1
    assert "no series/nosuch.yaml (the series: onkpat)" in err


def test_stdin_and_year(cli: CLI, workspace: Path) -> None:
    paste = "Title: Pasted\nSpeaker: Ann Bell, Lund University\nWhen: Friday 6th March, 12:00–13:00\n"
    result = cli.runner.invoke(
        app,
        ["import", "-", "--year", "2027", "-o", "events/pasted.yaml"],
        input=paste,
    )
    assert result.exit_code == 0, result.stderr
    data, _ = read_yaml(workspace / "events" / "pasted.yaml")
    assert "start" not in data  # 6 March 2027 is a Saturday, not the Friday the text says
    text = (workspace / "events" / "pasted.yaml").read_text(encoding="utf-8")
    assert "# TODO start:" in text
    assert "2027-03-05" in text
    assert "weekday disagree" in text


def test_a_pasted_email_is_read_as_one(cli: CLI, workspace: Path) -> None:
    pasted = (ANNOUNCEMENTS / "forwarded.eml").read_bytes()
    result = cli.runner.invoke(app, ["import", "-", "-o", "events/pasted.yaml"], input=pasted)
    assert result.exit_code == 0, result.stderr
    data, _ = read_yaml(workspace / "events" / "pasted.yaml")
    assert data["title"] == "Microbes That Train Our Immune System"  # from its calendar
    assert data["start"] == "2026-03-20 12:00"


def test_summer_time_the_date_does_not_keep_is_a_warning_in_the_file_too(cli: CLI, workspace: Path) -> None:
    (workspace / "cest.txt").write_text(
        "Title: Winter talk\nSpeaker: Ann Bell, Lund University\nWhen: 6 March 2026, 16:00 CEST\n",
        encoding="utf-8",
    )
    code, _, err = cli("import", "cest.txt", "-o", "events/cest.yaml")
    assert code == 0, err
    warning = (
        "the text says CEST, but on 6 March 2026 Europe/Stockholm keeps CET: read as Europe/Stockholm's clock"
    )
    assert err.strip() == f"warning: {warning}"
    text = (workspace / "events" / "cest.yaml").read_text(encoding="utf-8")
    assert f"# Warning: {warning}" in text
    assert "start: 2026-03-06 16:00" in text
    assert "timezone:" not in text


def test_a_page_s_time_in_another_offset_leaves_the_zone_to_the_organiser(tmp_path: Path) -> None:
    page = tmp_path / "talk.html"
    page.write_text(
        '<script type="application/ld+json">{"@type": "Event", "name": "Far away",'
        ' "startDate": "2026-03-06T09:30:00+05:30", "performer": {"name": "Ravi Rao"}}</script>',
        encoding="utf-8",
    )
    code, _, err = CLI()("import", str(page), "-o", str(tmp_path / "far.yaml"))
    assert code == 0, err
    text = (tmp_path / "far.yaml").read_text(encoding="utf-8")
    assert "start: 2026-03-06 09:30" in text
    assert "# TODO timezone: the source gives the time in UTC+05:30" in text


def test_a_weekday_settles_day_and_month_and_a_contradiction_is_a_warning() -> None:
    mention = find_dates("Sunday 02.05.2017", TODAY, None)[0]
    day, warnings = decide_day(mention, None)
    assert day == date(2017, 2, 5)  # read day first it is 2 May, a Tuesday; the Sunday is 5 February
    assert warnings
    assert "the text says Sunday" in warnings[0]
    tuesday = decide_day(find_dates("Tuesday 02.05.2017", TODAY, None)[0], None)
    assert tuesday == (date(2017, 5, 2), [])
    both = decide_day(find_dates("04/05/2026", TODAY, None)[0], None)[0]
    assert isinstance(both, Undecided)
    assert len(both.candidates) == 2
    assert decide_day(find_dates("06-03-2026", TODAY, None)[0], 4)[0] == date(2026, 3, 6)  # a Friday seminar


@pytest.mark.parametrize(
    ("written", "start", "end"),
    [
        ("December 4, 2017, 9:00AM ~ 10:30AM", "09:00", "10:30"),
        ("Friday 6th March, 12:00–13:00", "12:00", "13:00"),
        ("6.3.2026 kl. 12.00", "12:00", None),
        ("Måndag 7 december kl 13.00–14.00", "13:00", "14:00"),
        ("29.04.2024, 16 Uhr c.t.", "16:15", None),
        ("27 septembre 2021 11:30 » 12:30", "11:30", "12:30"),
        ("2026-03-06 12:00", "12:00", None),
        ("3 pm EST", "15:00", None),
        ("11-1 pm", "11:00", "13:00"),
    ],
)
def test_times_in_the_forms_people_write(written: str, start: str, end: str | None) -> None:
    found = find_times(written)[0]
    assert f"{found.start:%H:%M}" == start
    assert (f"{found.end:%H:%M}" if found.end else None) == end


def test_a_date_without_a_year_is_its_next_occurrence() -> None:
    assert find_dates("7 december", TODAY, None)[0].readings == (date(2026, 12, 7),)
    assert find_dates("7 februari", TODAY, None)[0].readings == (date(2027, 2, 7),)
    assert find_dates("7 februari", TODAY, 2025)[0].readings == (date(2025, 2, 7),)
    assert isinstance(find_dates("27 septembre 2021", TODAY, None)[0], DateMention)


def test_time_zones_named_in_the_text() -> None:
    winter = date(2026, 3, 6)
    assert zone_named("16:00 CET", winter, None, "Europe/Stockholm") == (None, [])
    zone, warnings = zone_named("16:00 CEST", winter, None, "Europe/Stockholm")
    assert zone is None
    assert "keeps CET" in warnings[0]  # summer time starts on 29 March
    assert zone_named("3 pm EST", winter, None, "Europe/Stockholm") == ("America/New_York", [])
    assert zone_named("12:00 Stockholm time", winter, None, "America/New_York")[0] == "Europe/Stockholm"
    undecided = zone_named("10:00 IST", winter, None, "Europe/Stockholm")[0]
    assert isinstance(undecided, Undecided)
    assert "Asia/Kolkata" in undecided.candidates


def test_online_links_are_repaired() -> None:
    assert (
        meeting_link("Join: https://uu-se.zoom.us/j/642 1234 5678 now")
        == "https://uu-se.zoom.us/j/64212345678"
    )
    assert meeting_link("see https://meet.google.com/abc-defg-hij.") == "https://meet.google.com/abc-defg-hij"


def test_dois_are_normalised_as_the_model_does(tmp_path: Path) -> None:
    announcement = tmp_path / "doi.txt"
    announcement.write_text(
        "Title: T\nSpeaker: Ann Bell, Lund University\nWhen: 2026-03-06 12:00\n\nPublications\n\n"
        "A paper about cells.\nBell A, Berg B\nNature 2024 May;600(7):1-9\nhttps://doi.org/10.1038/s41586-024-0001-x\n",
        encoding="utf-8",
    )
    code, _, err = CLI()("import", str(announcement), "-o", str(tmp_path / "doi.yaml"))
    assert code == 0, err
    data, _ = read_yaml(tmp_path / "doi.yaml")
    assert data["publications"][0]["doi"] == "10.1038/s41586-024-0001-x"


# Hostile input


def test_a_50_mb_paste_is_refused_with_a_clear_message(cli: CLI) -> None:
    result = cli.runner.invoke(app, ["import", "-"], input=b"Speaker: A\n" * 5_000_000)
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: standard input: is larger than 2 MiB: an announcement is a few pages;"
        " give the announcement alone (its text, its email or its page)"
    )


def test_a_line_of_dates_is_read_for_its_first_few() -> None:
    line = "6 March 2026 12:00, " * 20_000  # each found date is checked against those before it
    assert len(find_dates(line, TODAY, None)) == MAX_MENTIONS


def test_a_long_text_is_read_from_its_beginning_and_says_so() -> None:
    context = Context(today=TODAY, year=None, default_zone="Europe/Stockholm")
    text = SEED.read_text(encoding="utf-8")
    seed = read_announcement(text, context)
    padded = read_announcement(text + "\n\n" + "Dr Anna Berg and 6 March 2026, " * 20_000, context)
    assert padded.title == seed.title
    assert f"only the first {MAX_CHARS:,} characters of" in padded.warnings[0]


def test_a_line_too_long_for_a_name_is_no_speaker() -> None:
    assert people("Dr Anna Berg and " * 100 + "Dr Carl Ek") is None


def test_a_binary_file_is_refused(cli: CLI, workspace: Path) -> None:
    (workspace / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    code, _, err = cli("import", "photo.txt")
    assert code == 1
    assert err.strip() == "error: photo.txt:3: holds a NUL byte: it is not a text file"
    (workspace / "latin.txt").write_bytes("Title: Caf\xe9\n".encode("latin-1"))
    code, _, err = cli("import", "latin.txt")
    assert code == 1
    assert "latin.txt:1: not UTF-8 (byte 0xe9)" in err


def test_an_eml_bomb_is_refused(cli: CLI, workspace: Path) -> None:
    depth = 3_000
    parts = "".join(f'--b{n}\nContent-Type: multipart/mixed; boundary="b{n + 1}"\n\n' for n in range(depth))
    head = 'Subject: x\nContent-Type: multipart/mixed; boundary="b0"\n\n'
    bomb = f"{head}{parts}--b{depth}\nContent-Type: text/plain\n\nhi\n"
    (workspace / "bomb.eml").write_text(bomb, encoding="utf-8")
    code, _, err = cli("import", "bomb.eml")
    assert code == 1
    assert err.strip() == "error: bomb.eml: its parts are nested too deeply to read"
    (workspace / "big.eml").write_bytes(b"Subject: x\n\n" + b"a" * 6_000_000)
    code, _, err = cli("import", "big.eml")
    assert code == 1
    assert "larger than" in err


def test_a_page_s_scripts_and_styles_are_not_read(tmp_path: Path) -> None:
    for case in ("jsonld.html", "microdata.html"):
        data, _ = imported(case, tmp_path)
        text = (tmp_path / f"{case}.yaml").read_text(encoding="utf-8")
        assert "injected" not in text.lower()
        assert "color: red" not in text
        assert data["title"]


def test_a_web_address_is_fetched_only_when_asked(cli: CLI, workspace: Path) -> None:
    page = (source_of("jsonld.html")).read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/elsewhere":  # a redirect out of the web, to a local file
                self.send_response(302)
                self.send_header("Location", "file:///etc/hostname")
                self.end_headers()
                return
            body = page if self.path == "/talk" else b"<p>" + b"x" * 3_000_000
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/talk"
        code, _, err = cli("import", url, "-o", "events/fetched.yaml")
        assert code == 1
        assert "is a web address: announcer reads the network only when asked; add --fetch" in err
        assert not (workspace / "events" / "fetched.yaml").exists()
        code, _, err = cli("import", url, "--fetch", "-o", "events/fetched.yaml")
        assert code == 0, err
        code, _, err = cli("import", url.replace("/talk", "/elsewhere"), "--fetch", "-o", "events/file.yaml")
        assert code == 1
        assert "Redirection to url 'file:///etc/hostname' is not allowed" in err
        code, _, err = cli("import", url.replace("/talk", "/huge"), "--fetch", "-o", "events/huge.yaml")
        assert code == 1
        assert "is larger than 2 MiB" in err
        assert not list((workspace / "events").glob("[fh]*.yaml"))[1:]  # only fetched.yaml
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    data, _ = read_yaml(workspace / "events" / "fetched.yaml")
    assert data["title"] == "Soil Microbes and Carbon"
    assert data["url"] == url


_TEXT_FIELDS = ("title", "intro", "abstract", "series", "category")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from((*_TEXT_FIELDS, "speaker", "host", "place")), st.text(max_size=300)))
def test_no_text_in_any_field_can_break_the_file(tmp_path: Path, values: dict[str, str]) -> None:
    draft = Draft(title="T", when=When(day=date(2026, 3, 6), start=time(12)))
    for key in _TEXT_FIELDS:
        if key in values:
            setattr(draft, key, values[key])
    if "speaker" in values:
        draft.speakers = [{"name": values["speaker"], "bio": values["speaker"]}]
    if "host" in values:
        draft.host = {"name": values["host"]}
    if "place" in values:
        draft.venue = {"name": values["place"]}
    path = tmp_path / "event.yaml"
    path.write_text(
        event_document(draft, source=values.get("title", "x"), default_zone="UTC", defaults=EventDefaults()),
        encoding="utf-8",
    )
    data, _ = read_yaml(path)
    todos = {
        match[1]
        for line in path.read_text(encoding="utf-8").splitlines()
        if (match := PLACEHOLDER.match(line))
    }
    for key in _TEXT_FIELDS:
        if key in values and values[key].strip():
            written = data.get(key)
            assert key in todos or written == values[key].strip().replace("\r\n", "\n"), (key, written)
    if "speaker" in values and values["speaker"].strip():
        assert "speakers" in todos or data["speakers"][0]["name"] == values["speaker"].strip()
    if "host" in values and values["host"].strip():
        assert "host" in todos or data["host"]["name"] == values["host"].strip()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=2_000))
def test_any_paste_gives_a_file_that_loads_or_a_located_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "pasted.yaml"
    path.unlink(missing_ok=True)
    data = text.encode("utf-8", errors="replace")
    refused: list[AnnouncementError] = []
    try:
        import_announcement(
            "-", workspace=tmp_path, defaults=EventDefaults(), output=path, stdin=io.BytesIO(data)
        )
    except AnnouncementError as exc:  # only a located, worded error: anything else fails the test
        refused.append(exc)
    if refused:
        assert all(problem.source == "standard input" for problem in refused[0].problems)
    else:
        read_yaml(path)
