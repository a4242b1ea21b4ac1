"""`announcer state export` / `state import`: a workspace's state moves from its SQLite file to
PostgreSQL and back, whole; a file that is not what export wrote changes nothing and is said
in a line that names it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from announcer.audience.ledger import Audience, How
from announcer.deliver.ledger import Ledger, Outcome
from announcer.errors import InputError
from announcer.history import CalendarHistory, Sent
from announcer.journal_file import JOURNAL_PATH, use_database
from announcer.model.recipient import Recipient
from announcer.state_move import _read, export_state, import_state
from tests.helpers import CLI, EXAMPLE_EVENT

LIST = "onkpat-seminars.example.org"
UID = "2026-03-06-car-t-cell-therapy@example.org"
KEY = f"invitation:{UID}:0"


def _a_state(workspace: Path) -> None:
    """A workspace after a send: lines of every kind, a calendar history, an audience."""
    with Ledger(workspace) as ledger:
        ledger.record(
            KEY, Recipient("asa@example.org", "Åsa", language="sv"), "<1@x>", Outcome.DELIVERED, "250"
        )
        ledger.record(KEY, "bo@example.org", "<2@x>", Outcome.FAILED, "550 no such user")
        ledger.record(KEY, "cy@example.org", "<3@x>", Outcome.IN_FLIGHT, "")
        CalendarHistory(ledger.file).settle(
            UID, Sent(0, "f1", "invitation"), {"title": "Talk"}, {}, rsvp=True
        )
    with Audience(workspace, LIST) as audience:
        audience.unsubscribe("dee@example.org", How.ONE_CLICK)
        audience.remove("eve@example.org", "asked by phone")
        audience.learn([("token-1", "asa@example.org")])
        audience.claim("<bounce@x>", "a bounce")


def _settings_with(workspace: Path, database: str | None) -> None:
    path = workspace / "announcer.toml"
    text = path.read_text().split("\n[state]\n")[0]
    path.write_text(text + (f'\n[state]\ndatabase = "{database}"\n' if database else ""))
    use_database(workspace, database)


def test_a_state_moves_to_postgresql_and_back_whole(
    cli: CLI, workspace: Path, postgres: str, tmp_path: Path
) -> None:
    _a_state(workspace)
    code, out, err = cli("status", EXAMPLE_EVENT)
    assert code == 0, err
    before = out

    code, out, err = cli("state", "export", str(tmp_path / "from-sqlite.jsonl"))
    assert code == 0, err
    assert "wrote 3 deliveries, 1 sequences, 2 standings, 2 audience_log, 1 tokens, 1 handled" in out

    _settings_with(workspace, postgres)
    code, out, err = cli("status", EXAMPLE_EVENT)
    assert code == 1, "a database named beside a state it would forget: nothing is read or sent"
    assert "this workspace's state (who has which message, who left the list) is still in this file" in err
    (workspace / ".announcer" / "journal.sqlite").rename(tmp_path / "journal.sqlite.moved")
    code, out, err = cli("state", "import", str(tmp_path / "from-sqlite.jsonl"))
    assert code == 0, err
    assert "read 3 deliveries" in out
    assert cli("status", EXAMPLE_EVENT)[1] == before, "the same status from the database"
    with Audience(workspace, LIST) as audience:
        assert set(audience.left_out()) == {"dee@example.org", "eve@example.org"}
        assert [line.how for line in audience.log()] == ["one-click", "by hand"]
        assert audience.address_of("token-1") == "asa@example.org"
        assert not audience.claim("<bounce@x>", "again"), "a message handled stays handled"
    with Ledger(workspace, lock=False) as ledger:
        asa = ledger.entry(KEY, "asa@example.org")
        assert asa is not None
        assert (asa.name, asa.language) == ("Åsa", "sv")

    code, _, err = cli("state", "export", str(tmp_path / "from-postgresql.jsonl"))
    assert code == 0, err
    assert (tmp_path / "from-postgresql.jsonl").read_bytes() == (tmp_path / "from-sqlite.jsonl").read_bytes()

    _settings_with(workspace, None)  # and back, into a new SQLite file
    code, _, err = cli("state", "import", str(tmp_path / "from-postgresql.jsonl"))
    assert code == 0, err
    assert cli("status", EXAMPLE_EVENT)[1] == before


def test_an_import_into_a_state_in_use_is_refused_and_changes_nothing(
    cli: CLI, workspace: Path, backend: str | None, tmp_path: Path
) -> None:
    _a_state(workspace)
    cli("state", "export", str(tmp_path / "state.jsonl"))
    code, out, err = cli("state", "import", str(tmp_path / "state.jsonl"))
    assert code == 1, out + err
    assert "already holds a state (deliveries); import only into a new one" in err
    code, _, _ = cli("state", "export", str(tmp_path / "again.jsonl"))
    assert (tmp_path / "again.jsonl").read_bytes() == (tmp_path / "state.jsonl").read_bytes()


def test_an_import_is_all_or_nothing(cli: CLI, workspace: Path, backend: str | None, tmp_path: Path) -> None:
    """A row the database refuses (here the same reader twice) after others went in: none stays."""
    header = json.dumps({"format": "announcer-state", "schema": 5})
    row = {
        "table": "deliveries",
        "row": [KEY, "a@example.org", "<1@x>", "delivered", "", "t", "", "", "", ""],
    }
    (tmp_path / "twice.jsonl").write_text("\n".join([header, json.dumps(row), json.dumps(row)]) + "\n")
    code, out, err = cli("state", "import", str(tmp_path / "twice.jsonl"))
    assert code == 1, out + err
    assert "cannot write" in err
    assert "Traceback" not in out + err
    with Ledger(workspace, lock=False) as ledger:
        assert ledger.entry(KEY, "a@example.org") is None


HEADER = json.dumps({"format": "announcer-state", "schema": 5})
GOOD = {"table": "tokens", "row": ["t", "a@example.org"]}


@pytest.mark.parametrize(
    ("lines", "said"),
    [
        ([], "empty: not a file `announcer state export` wrote"),
        (['{"format": "csv"}'], ":1: not a file `announcer state export` wrote"),
        (
            [json.dumps({"format": "announcer-state", "schema": 99})],
            "another version of announcer (schema 99)",
        ),
        ([HEADER, "{not json"], ":2: not a line of a state file (JSON)"),
        ([HEADER, json.dumps({"table": "pg_authid", "row": []})], ":2: table: no such table: 'pg_authid'"),
        ([HEADER, json.dumps({"table": "tokens", "row": ["t"]})], ":2: row: a row of tokens has 2 values"),
        (
            [HEADER, json.dumps({"table": "tokens", "row": ["t\x00", "a"]})],
            ":2: tokens.token: a text without NUL",
        ),
        (
            [
                HEADER,
                json.dumps({"table": "deliveries", "row": ["k", "r", "m", "sent", "", "t", "", "", "", ""]}),
            ],
            ":2: deliveries.outcome: one of delivered, failed, in-flight",
        ),
        (
            [HEADER, json.dumps({"table": "sequences", "row": ["u", 1e300, "f", "{}"]})],
            ":2: sequences.sequence: a number (int) expected",
        ),
        ([HEADER, json.dumps(GOOD), "[" * 100_000], ":3: not a line of a state file (JSON)"),
        ([HEADER, " " * (5 << 20)], "a line longer than 4 MiB"),
    ],
    ids=[
        "empty",
        "no-header",
        "newer",
        "not-json",
        "foreign-table",
        "short-row",
        "nul",
        "unknown-outcome",
        "huge-number",
        "deep",
        "long-line",
    ],
)
def test_a_file_export_never_wrote_is_said_in_a_line_and_changes_nothing(
    cli: CLI, workspace: Path, tmp_path: Path, lines: list[str], said: str
) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_text("".join(line + "\n" for line in lines))
    code, out, err = cli("state", "import", str(path))
    assert code == 1, out + err
    assert said in err, err
    assert "Traceback" not in out + err
    assert not (workspace / ".announcer" / "journal.sqlite").exists(), "nothing was opened"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
            lambda inner: (
                st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=12,
        ),
        max_size=5,
    )
)
def test_any_lines_are_read_as_rows_or_said_as_a_problem(tmp_path: Path, values: list[object]) -> None:
    path = tmp_path / "generated.jsonl"
    path.write_text("".join(json.dumps(value) + "\n" for value in [json.loads(HEADER), *values]))
    rows, problem = None, ""
    try:
        rows = list(_read(path))
    except InputError as error:
        problem = str(error)
    if rows is None:
        assert problem.startswith(str(path))
    else:
        assert len(rows) == len(values)


def test_a_doubt_a_crash_left_moves_as_a_doubt_never_as_nothing(tmp_path: Path) -> None:
    """A batch reserved when the machine went down is in doubt (its messages may have gone);
    moved to another state it stays in doubt, and the next send there does not send it again."""
    old, new = tmp_path / "old", tmp_path / "new"
    with Ledger(old) as ledger:
        ledger.reserve(KEY, ["cy@example.org"])  # then the power went
    with sqlite3.connect(old / JOURNAL_PATH) as db:  # as it reads after a reboot
        db.execute("UPDATE reservations SET boot = 'the boot before'")
    db.close()
    export_state(old, tmp_path / "state.jsonl")
    import_state(new, tmp_path / "state.jsonl")
    with Ledger(new) as ledger:
        line = ledger.entry(KEY, "cy@example.org")
        assert line is not None
        assert line.outcome is Outcome.IN_FLIGHT
        assert "whether it went is unknown" in line.reply
