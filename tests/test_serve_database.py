"""`announcer serve` on a real PostgreSQL that goes away and comes back, or holds a commit: serve
heals on its own, says so once, and its event loop never waits for the database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest

from announcer.audience.ledger import Audience, State
from announcer.audience.tokens import unsubscribe_token
from announcer.deliver.ledger import Ledger, Outcome
from announcer.errors import JournalError, PostgresError
from announcer.journal_file import use_database
from announcer.journal_postgres import Postgres
from announcer.journal_schema import AUDIENCE_LOCK
from announcer.load.settings import load_settings
from announcer.model.recipient import Recipient
from announcer.model.settings import Settings
from announcer.serve.limits import Limits
from tests.frozen_relay import FrozenRelay
from tests.serving import LIST, ONE_CLICK, PREFIX, SECRET, Client, Reply, serving, with_token_url

READERS = ("lars.berg@example.org", "maria.rossi@example.org", "ana.lima@example.org")
WIDE = Limits(per_client_per_second=10_000, per_client_burst=10_000)
SERVE_SESSIONS = "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'announcer%%' AND datname = %s"


@pytest.fixture
def settings(workspace: Path, postgres: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The example workspace with a `{token}` URL and its state in a PostgreSQL database of its
    own, where a send reached three readers."""
    return settings_on(workspace, postgres, monkeypatch)


def settings_on(workspace: Path, postgres: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    with_token_url(workspace, monkeypatch)
    with (workspace / "announcer.toml").open("a", encoding="utf-8") as toml:
        toml.write(f'\n[state]\ndatabase = "{postgres}"\n')
    use_database(workspace, postgres)
    with Ledger(workspace, lock=False) as ledger:
        for number, reader in enumerate(READERS):
            ledger.record(
                "invitation:old@example.org:0", Recipient(reader), f"<{number}@x>", Outcome.DELIVERED, ""
            )
    return load_settings(workspace / "announcer.toml")


def url_of(address: str) -> str:
    return PREFIX + unsubscribe_token(address, SECRET)


def left(workspace: Path, address: str) -> bool:
    with Audience(workspace, LIST) as ledger:
        found = ledger.standing(address)
        return found is not None and found.state is State.UNSUBSCRIBED


def end_serve_s_sessions(server: str, database: str) -> int:
    """What a restart of the server does to serve: its sessions end (the server drops them)."""
    with psycopg.connect(server, autocommit=True) as admin:
        query = f"SELECT pg_terminate_backend(pid) FROM ({SERVE_SESSIONS}) AS serve"
        return len(admin.execute(query, (database,)).fetchall())


def until(condition: Callable[[], bool], what: str, every: float = 0.02) -> None:
    """Wait for `condition`, checking it again and again (30 s at most: then it never came)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"never: {what}"
        threading.Event().wait(every)  # between looks


def test_serve_reconnects_when_the_database_server_dropped_its_sessions(
    settings: Settings,
    workspace: Path,
    postgres: str,
    postgres_server: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    with serving(settings, WIDE) as client:
        assert client.post(url_of(READERS[0]), ONE_CLICK).status == 200
        assert left(workspace, READERS[0])
        assert (
            end_serve_s_sessions(postgres_server, _name(postgres)) == 2
        )  # its changes' connection and its look-ups'

        reply = client.post(url_of(READERS[1]), ONE_CLICK)
        assert reply.status == 200, reply.text
        assert left(workspace, READERS[1])
        assert client.get(url_of(READERS[2])).status == 200  # the look-ups' connection is new too
        assert client.post(url_of(READERS[2]), ONE_CLICK).status == 200
        assert left(workspace, READERS[2])
    said = capfd.readouterr().err
    assert said.count("reconnected") == 1, said
    assert "Traceback" not in said


def test_while_the_database_refuses_connections_each_request_is_told_to_come_back(
    settings: Settings,
    workspace: Path,
    postgres: str,
    postgres_server: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    database = _name(postgres)
    with serving(settings, WIDE) as client, psycopg.connect(postgres_server, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        assert end_serve_s_sessions(postgres_server, database) == 2
        for _ in range(3):  # the first tries to reconnect; the others, in its pause, do not
            refused = client.post(url_of(READERS[0]), ONE_CLICK)
            assert refused.status == 503
            assert refused.headers["retry-after"] == "5"
            assert "try again" in refused.text
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')
        assert not left(workspace, READERS[0])  # nothing half-recorded

        replies: list[Reply] = []

        def answered() -> bool:  # once the pause is over: a 503 meanwhile
            replies.append(client.post(url_of(READERS[0]), ONE_CLICK))
            return replies[-1].status == 200

        until(answered, "a 200 once the database takes connections again", every=0.2)
        assert {reply.status for reply in replies} <= {200, 503}
        assert left(workspace, READERS[0])
    said = capfd.readouterr().err
    assert said.count("reconnecting failed") == 1, said
    assert said.count("reconnected") == 1, said
    assert "Traceback" not in said


def test_the_page_is_answered_while_a_commit_waits_for_the_database(
    settings: Settings, workspace: Path, postgres: str
) -> None:
    """Another writer of the audience (a machine's `inbox`, here the test) holds the lock its
    writers take turns by: the POST waits for it, the event loop does not."""
    with (
        serving(settings, WIDE) as client,
        psycopg.connect(postgres, autocommit=True) as holder,
        ThreadPoolExecutor(max_workers=1) as poster,
    ):
        holder.execute("SELECT pg_advisory_lock(%s)", (AUDIENCE_LOCK,))
        posted: Future[Reply] = poster.submit(
            Client(client.host, client.port).post, url_of(READERS[0]), ONE_CLICK
        )
        until(lambda: _waiting_for(holder, AUDIENCE_LOCK), "serve's commit waiting for the lock")

        page = client.get(url_of(READERS[1]))  # the loop answers meanwhile
        assert page.status == 200
        assert client.get("/").status in (200, 404)
        assert not posted.done()
        assert not left(workspace, READERS[0])

        holder.execute("SELECT pg_advisory_unlock(%s)", (AUDIENCE_LOCK,))
        assert posted.result(timeout=30).status == 200
        assert left(workspace, READERS[0])


def test_a_commit_that_waits_beyond_its_request_s_time_gives_up(
    settings: Settings, workspace: Path, postgres: str
) -> None:
    """A writer holds the audience's lock longer than a request may wait: the POST is answered
    503, serve's commit stops waiting (its lock timeout) rather than queue the others behind
    it, and the reader told 503 stays subscribed when the lock is let go."""
    limits = replace(WIDE, answer_seconds=1.0)
    with serving(settings, limits) as client, psycopg.connect(postgres, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (AUDIENCE_LOCK,))
        assert client.post(url_of(READERS[0]), ONE_CLICK).status == 503
        until(lambda: not _waiting_for(holder, AUDIENCE_LOCK), "serve's commit giving up the wait")
        holder.execute("SELECT pg_advisory_unlock(%s)", (AUDIENCE_LOCK,))
        assert client.post(url_of(READERS[1]), ONE_CLICK).status == 200
    assert not left(workspace, READERS[0])
    assert left(workspace, READERS[1])


def _waiting_for(db: psycopg.Connection[tuple[object, ...]], key: int) -> bool:
    """Whether a session waits for the advisory lock `key` (a bigint's lock: its two halves)."""
    row = db.execute(
        "SELECT EXISTS (SELECT FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
        "AND classid::bigint = %s AND objid::bigint = %s)",
        (key >> 32, key & 0xFFFFFFFF),
    ).fetchone()
    return bool(row and row[0])


def _name(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_serve_gives_up_on_a_database_that_froze_and_goes_on_with_the_new_one(
    workspace: Path, postgres: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database's machine froze (or vanished behind a NAT): no answer, no reset. The request
    gets its 503 in its time, serve cuts the silent sessions once their deadline is over and
    reconnects (here, to the server a failover put behind the same name), and the next request
    is answered; the reader told 503 is not unsubscribed behind their back."""
    server = urlsplit(postgres)
    assert server.hostname is not None
    assert server.port is not None
    limits = replace(WIDE, answer_seconds=3.0)
    with FrozenRelay(server.hostname, server.port) as relay:
        settings = settings_on(
            workspace, postgres.replace(f":{server.port}/", f":{relay.port}/"), monkeypatch
        )
        with serving(settings, limits) as client, psycopg.connect(postgres, autocommit=True) as admin:
            assert client.post(url_of(READERS[0]), ONE_CLICK).status == 200
            sessions = len(admin.execute(SERVE_SESSIONS, (_name(postgres),)).fetchall())
            relay.freeze()
            asked = time.monotonic()
            assert client.post(url_of(READERS[1]), ONE_CLICK).status == 503
            assert time.monotonic() - asked < limits.answer_seconds + 5  # its time, not the kernel's

            def reconnected() -> bool:  # the frozen sessions live on at the server, silent
                return len(admin.execute(SERVE_SESSIONS, (_name(postgres),)).fetchall()) >= sessions + 2

            until(reconnected, "serve's new sessions")
            reply = client.post(url_of(READERS[2]), ONE_CLICK)
            assert reply.status == 200, reply.text
            assert client.get(url_of(READERS[2])).status == 200
        assert not left(workspace, READERS[1])
        assert left(workspace, READERS[2])


def test_a_new_session_that_falls_silent_after_its_login_is_given_up_in_its_time(postgres: str) -> None:
    """A reconnect meets a peer that lets it in and then says nothing (a pooler waiting for a
    server during a failover, a relay that froze): the session's first statements are watched
    as every later one is, so the reconnect fails within its deadline instead of hanging."""
    server = urlsplit(postgres)
    assert server.hostname is not None
    assert server.port is not None
    with FrozenRelay(server.hostname, server.port) as relay:
        database = Postgres(postgres.replace(f":{server.port}/", f":{relay.port}/") + "?sslmode=disable")
        database.bound(1.0)
        relay.freeze_after_login()
        tried: Future[None] = ThreadPoolExecutor(max_workers=1).submit(database.reopen)
        with pytest.raises(JournalError, match="cannot reach the database"):
            tried.result(timeout=30)  # the deadline and the watchdog's second: about 2 s


def test_a_transaction_of_many_quick_statements_is_no_statement_that_hangs(postgres: str) -> None:
    """Each statement has the deadline, not the whole transaction: a batch of many quick
    changes over a slow link commits though together they take longer than one may."""
    database = Postgres(postgres)
    database.bound(1.0)
    with database.transaction():
        for _ in range(5):
            database.execute("SELECT pg_sleep(0.5)")  # each half the deadline, 2.5 s in all
    assert not database.lost
    database.close()


def test_a_session_cut_in_a_transaction_frees_the_audience_at_the_server_in_its_time(postgres: str) -> None:
    """The link falls silent inside a batch's transaction: serve cuts its side, and the server
    ends the backend left idle in that transaction within the deadline, so the audience's lock
    is free again (else it waits for the server's TCP keepalive: two hours)."""
    server = urlsplit(postgres)
    assert server.hostname is not None
    assert server.port is not None
    held = "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND granted"
    admin = psycopg.connect(postgres, autocommit=True)

    def locked() -> bool:
        return admin.execute(held, (AUDIENCE_LOCK,)).fetchone() is not None

    def cut_in_a_transaction(database: Postgres, relay: FrozenRelay) -> None:
        with database.transaction(exclusive=AUDIENCE_LOCK):
            until(locked, "the lock taken")
            relay.freeze()
            database.execute("SELECT 1")  # never answered: cut after its deadline

    with admin, FrozenRelay(server.hostname, server.port) as relay:
        database = Postgres(postgres.replace(f":{server.port}/", f":{relay.port}/") + "?sslmode=disable")
        database.bound(1.0)
        with pytest.raises(PostgresError):
            cut_in_a_transaction(database, relay)
        until(lambda: not locked(), "the lock freed at the server")
