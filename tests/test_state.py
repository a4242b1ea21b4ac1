"""The state of a workspace (journal, calendar history, audience) in SQLite or in PostgreSQL:
one interface, one schema, the same answers; and a PostgreSQL journal that several machines
share, each claiming its own recipients."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from announcer.audience.ledger import Audience, How, State
from announcer.deliver.ledger import Ledger, Outcome
from announcer.errors import JournalError
from announcer.history import CalendarHistory, Sent, history
from announcer.journal_file import SCHEMA_VERSION, JournalFile, use_database
from announcer.journal_postgres import tls_of
from announcer.load.settings import load_settings
from announcer.model.recipient import Recipient
from tests.helpers import CLI, EXAMPLE_EVENT
from tests.postgres_server import HERE as POSTGRES
from tests.postgres_server import fresh_database, own_cluster

KEY = "invitation:talk@example.org:0"


def test_each_store_answers_the_same_from_either_backend(workspace: Path, backend: str | None) -> None:
    with Ledger(workspace) as ledger:
        assert ledger.reserve(KEY, ["A@example.org", "b@example.org"]) == ["a@example.org", "b@example.org"]
        ledger.record(KEY, Recipient("A@example.org", "Åsa"), "<1@x>", Outcome.IN_FLIGHT, "")
        ledger.record(
            KEY, Recipient("A@example.org", "Åsa"), "<1@x>", Outcome.DELIVERED, "250 ok", later=True
        )
        ledger.record(KEY, "b@example.org", "<2@x>", Outcome.IN_FLIGHT, "")
        ledger.release(KEY)
        CalendarHistory(ledger.file).settle(
            "talk@example.org", Sent(0, "f1", "invitation"), {"title": "Talk"}, {}, rsvp=True
        )
    with Ledger(workspace, lock=False) as again:
        entries = again.entries_of(KEY, ["a@example.org", "B@example.org", "c@example.org"])
        assert {address: entry.outcome for address, entry in entries.items()} == {
            "a@example.org": Outcome.DELIVERED,
            "b@example.org": Outcome.IN_FLIGHT,
        }
        assert entries["a@example.org"].name == "Åsa"
        assert entries["a@example.org"].sender.endswith(str(workspace.resolve()))
        assert [reader.email for reader in again.received("talk@example.org")] == [
            "a@example.org",
            "b@example.org",
        ]
    with history(workspace) as calendar:
        assert calendar.last("talk@example.org")[:3] == (0, "f1", "invitation")  # type: ignore[index]
        assert calendar.told("talk@example.org") == ({"title": "Talk"}, {})
        assert calendar.asks_replies("talk@example.org")


def test_the_audience_is_the_same_from_either_backend(workspace: Path, backend: str | None) -> None:
    with Audience(workspace, "list.example.org") as audience:
        audience.unsubscribe("Reader@Example.org", How.ONE_CLICK)
        audience.unsubscribe("reader@example.org", How.MAILTO)  # a repeat changes nothing
        audience.learn([("token1", "reader@example.org")] * 2)
        assert audience.claim("<m@x>", "unsubscribed")
        assert not audience.claim("<m@x>", "unsubscribed")
    with Audience(workspace, "list.example.org") as audience:
        assert set(audience.left_out()) == {"reader@example.org"}
        assert [line.how for line in audience.log()] == ["one-click"]
        assert audience.address_of("token1") == "reader@example.org"
        assert audience.restore("reader@example.org", How.WEB_PAGE).state is State.SUBSCRIBED


def test_a_database_url_holding_a_password_is_refused_and_the_password_never_shown(
    cli: CLI, workspace: Path
) -> None:
    with (workspace / "announcer.toml").open("a") as settings:
        settings.write('\n[state]\ndatabase = "postgresql://announcer:hunter2@db.example.org/announcer"\n')
    code, out, err = cli("status", EXAMPLE_EVENT)
    assert code != 0
    assert "[state].database" in err or "state.database" in err, err
    assert "ANNOUNCER_DATABASE_PASSWORD" in err
    assert "hunter2" not in out + err
    assert "Traceback" not in out + err


@pytest.mark.parametrize(
    "written",
    [
        "host=db.example.org user=announcer password=hunter2 dbname=seminars",  # libpq's other form
        "postgresql://announcer@db.example.org/seminars?sslpassword=hunter2",
        "postgresql://announcer@db.example.org/seminars?password=hunter2",
    ],
)
def test_a_secret_in_any_form_of_the_database_setting_is_never_shown(
    cli: CLI, workspace: Path, written: str
) -> None:
    with (workspace / "announcer.toml").open("a") as settings:
        settings.write(f'\n[state]\ndatabase = "{written}"\n')
    code, out, err = cli("status", EXAMPLE_EVENT)
    assert code == 1, out + err
    assert "[state].database" in err
    assert "hunter2" not in out + err


@pytest.mark.parametrize("sslmode", ["disable", "allow", "prefer", "require"])
def test_tls_that_checks_no_certificate_is_refused_for_a_database_elsewhere(
    cli: CLI, workspace: Path, sslmode: str
) -> None:
    with (workspace / "announcer.toml").open("a") as settings:
        settings.write(
            f'\n[state]\ndatabase = "postgresql://announcer@db.example.org/seminars?sslmode={sslmode}"\n'
        )
    code, _, err = cli("status", EXAMPLE_EVENT)
    assert code == 1
    assert f"sslmode='{sslmode}' does not check the server's certificate" in err


def test_a_database_elsewhere_is_reached_over_tls_that_checks_its_certificate() -> None:
    assert tls_of("postgresql://announcer@db.example.org/x") == {
        "sslmode": "verify-full",
        "sslrootcert": "system",
    }
    assert tls_of("postgresql://announcer@db.example.org/x?sslmode=verify-ca&sslrootcert=ca.pem") == {}
    for local in (
        "postgresql://announcer@127.0.0.1:5433/x",
        "postgresql://announcer@localhost/x",
        "postgresql:///announcer?host=/var/run/postgresql",
    ):
        assert tls_of(local) == {}, local


def test_a_database_that_cannot_be_reached_is_said_in_a_line(cli: CLI, workspace: Path) -> None:
    with (workspace / "announcer.toml").open("a") as settings:
        settings.write('\n[state]\ndatabase = "postgresql://announcer@127.0.0.1:9/announcer"\n')
    code, out, err = cli("status", EXAMPLE_EVENT)
    assert code == 1
    assert "postgresql://announcer@127.0.0.1:9/announcer: cannot reach the database" in err
    assert "Traceback" not in out + err


def test_the_password_comes_from_the_environment(
    postgres: str, workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    role = f"sender_{uuid.uuid4().hex[:12]}"  # roles are the whole server's
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'from-the-environment'")
        admin.execute(f"GRANT ALL ON SCHEMA public TO {role}")
    url = f"postgresql://{role}@" + postgres.split("@", 1)[1]
    use_database(workspace, url)
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.delenv("ANNOUNCER_DATABASE_PASSWORD", raising=False)
    with pytest.raises(JournalError, match="cannot reach the database") as refused:
        JournalFile(workspace)
    assert "from-the-environment" not in str(refused.value)
    monkeypatch.setenv("ANNOUNCER_DATABASE_PASSWORD", "from-the-environment")
    JournalFile(workspace).close()


def test_two_sessions_of_one_database_never_hold_the_same_recipient(postgres: str, tmp_path: Path) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    use_database(first, postgres)
    use_database(second, postgres)
    everyone = [f"r{number}@example.org" for number in range(50)]
    with Ledger(first) as one, Ledger(second) as other:
        assert one.shared
        assert other.shared
        mine = one.reserve(KEY, everyone[:30])
        theirs = other.reserve(KEY, everyone)
        assert sorted(mine) == sorted(everyone[:30])
        assert sorted(theirs) == sorted(everyone[30:]), "a live session's recipients are its own"
        assert one.reserve(KEY, everyone[:30]) != [], "a session may claim its own again"


def test_a_live_session_of_another_role_keeps_its_recipients(
    postgres: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two machines, two roles: PostgreSQL hides one role's sessions from the other in
    pg_stat_activity (without pg_read_all_stats), but never their locks in pg_locks."""
    first, second = tmp_path / "first", tmp_path / "second"
    use_database(first, postgres)
    Ledger(first).close()  # the tables, made by the first machine's role
    role = f"machine_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD 'second-machine'")
        admin.execute(f"GRANT ALL ON SCHEMA public TO {role}")
        admin.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}")
        admin.execute(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}")
    use_database(second, f"postgresql://{role}@" + postgres.split("@", 1)[1])
    monkeypatch.setenv("ANNOUNCER_DATABASE_PASSWORD", "second-machine")
    everyone = [f"r{number}@example.org" for number in range(20)]
    with Ledger(second) as theirs_ledger, Ledger(first) as mine_ledger:
        theirs = theirs_ledger.reserve(KEY, everyone[:10])
        assert sorted(theirs) == sorted(everyone[:10])
        mine = mine_ledger.reserve(KEY, everyone)
        assert sorted(mine) == sorted(everyone[10:]), "another role's live run keeps its readers"


def test_the_recipients_of_a_session_that_died_are_taken_over(postgres: str, tmp_path: Path) -> None:
    """A run killed mid-batch: its session ends with it, so its recipients are free again;
    whichever had its in-flight line is in doubt, the others are simply sent."""
    first, second = tmp_path / "first", tmp_path / "second"
    use_database(first, postgres)
    use_database(second, postgres)
    killed = Ledger(first)
    assert killed.reserve(KEY, ["a@example.org", "b@example.org"]) == ["a@example.org", "b@example.org"]
    killed.record(KEY, "a@example.org", "<1@x>", Outcome.IN_FLIGHT, "")  # its final dot went, no more
    with psycopg.connect(postgres, autocommit=True) as admin:
        session = int(killed.file.holder.split("@")[0])
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND ((classid::bigint << 32) | objid::bigint) = %s",
            (session,),
        )
    with Ledger(second) as rerun:
        for _ in range(200):  # the server ends the session at its own pace
            taken = rerun.reserve(KEY, ["a@example.org", "b@example.org"])
            if taken:
                break
        assert sorted(taken) == ["a@example.org", "b@example.org"]
        entries = rerun.entries_of(KEY, ["a@example.org", "b@example.org"])
        assert entries["a@example.org"].outcome is Outcome.IN_FLIGHT, "in doubt, as on one machine"
        assert "b@example.org" not in entries, "never started: sent by the rerun"
    killed.close()  # its connection is gone: closing it says nothing


def test_a_database_of_schema_4_is_upgraded_in_place(postgres: str, tmp_path: Path) -> None:
    with psycopg.connect(postgres, autocommit=True) as db:
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        db.execute("INSERT INTO meta VALUES ('schema', '4')")
        db.execute(
            "CREATE TABLE deliveries (key TEXT NOT NULL, recipient TEXT NOT NULL, message_id TEXT NOT NULL, "
            "outcome TEXT NOT NULL, reply TEXT NOT NULL DEFAULT '', at TEXT NOT NULL, "
            "name TEXT NOT NULL DEFAULT '', language TEXT NOT NULL DEFAULT '', "
            "timezone TEXT NOT NULL DEFAULT '', PRIMARY KEY (key, recipient))"
        )
        db.execute(
            f"INSERT INTO deliveries VALUES ('{KEY}', 'old@example.org', '<0@x>', 'delivered', '250', 'then')"
        )
    use_database(tmp_path, postgres)
    with Ledger(tmp_path, lock=False) as ledger:
        assert ledger.entry(KEY, "old@example.org") is not None
    with psycopg.connect(postgres) as db:
        assert db.execute("SELECT value FROM meta").fetchone() == (str(SCHEMA_VERSION),)
        row = db.execute("SELECT sender FROM deliveries").fetchone()
        assert row == ("",)


def test_an_unsubscription_in_one_workspace_is_honoured_by_the_other_s_send(
    postgres: str, tmp_path: Path, workspace: Path, cli: CLI
) -> None:
    """Two copies of a workspace on one database: the reader left by the first's word (as
    `serve` records it); the second's next send leaves them out."""
    with (workspace / "announcer.toml").open("a") as settings:
        settings.write(f'\n[state]\ndatabase = "{postgres}"\n')
    other = tmp_path / "other"
    other.mkdir()
    (other / "announcer.toml").write_text((workspace / "announcer.toml").read_text())
    load_settings(other / "announcer.toml")
    with Audience(other, "onkpat-seminars.example.org") as audience:
        audience.unsubscribe("zoe.martin@example.net", How.ONE_CLICK)
    code, out, err = cli("send", EXAMPLE_EVENT, "--to", "recipients/example.csv")
    assert code == 0, err
    assert "left out 1: 1 unsubscribed" in out, out
    written = [path.read_text() for path in Path("outbox").rglob("*.eml")]
    assert len(written) == 4
    assert not [text for text in written if "zoe.martin@example.net" in text]


@pytest.fixture
def crashable() -> Iterator[str]:
    """A PostgreSQL of this test's own (crashing CI's would end others' sessions): a new database on it."""
    with own_cluster() as url:
        yield fresh_database(url)


def test_a_database_server_that_crashed_leaves_the_batch_in_hand_in_doubt_never_sent_twice(
    crashable: str, tmp_path: Path
) -> None:
    """A line commits to the server's memory (as SQLite's to the disk's cache), a batch's
    reservation to its disk: after a crash of the server, whatever of the batch was not
    delivered is in doubt, as after a crash of the machine with SQLite; none is sent again."""
    use_database(tmp_path, crashable)
    batch = ["a@example.org", "b@example.org", "c@example.org"]
    sending = Ledger(tmp_path)
    assert sending.reserve(KEY, batch) == batch
    sending.record(KEY, "a@example.org", "<1@x>", Outcome.IN_FLIGHT, "")
    sending.record(KEY, "a@example.org", "<1@x>", Outcome.DELIVERED, "250 ok", later=True)
    sending.record(KEY, "b@example.org", "<2@x>", Outcome.IN_FLIGHT, "")  # its dot went; then the crash
    crashed = subprocess.run([POSTGRES / "crash", crashable], capture_output=True, text=True, timeout=180)
    assert crashed.returncode == 0, crashed.stderr
    sending.close()  # its session is gone: closing it says nothing
    with Ledger(tmp_path) as rerun:
        assert sorted(rerun.reserve(KEY, batch)) == batch, "the crashed session holds none"
        entries = rerun.entries_of(KEY, batch)
    assert entries["b@example.org"].outcome is Outcome.IN_FLIGHT, "in doubt, whether its line was lost or not"
    assert entries["c@example.org"].outcome is Outcome.IN_FLIGHT, "reserved in the batch in hand: in doubt"
    assert "the machine stopped" in entries["c@example.org"].reply
    assert entries["a@example.org"].outcome in (Outcome.DELIVERED, Outcome.IN_FLIGHT), "never as if unsent"
