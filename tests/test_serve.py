"""`announcer serve`: the unsubscribe page and RFC 8058 one-click endpoint, and the site, on
real uvicorn on 127.0.0.1; hostile clients; the page in Chromium, opened from a sent message."""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from playwright.sync_api import Browser, expect

from announcer.audience.ledger import Audience, How, State
from announcer.audience.tokens import unsubscribe_token
from announcer.deliver.ledger import Ledger, Outcome
from announcer.journal_file import JOURNAL_PATH
from announcer.load.settings import load_settings
from announcer.model.recipient import Recipient
from announcer.model.settings import Settings
from announcer.serve.app import unsubscribe_route
from announcer.serve.limits import Limits
from tests.browser import launch
from tests.helpers import CLI, EXAMPLE_EVENT, ROOT, configure_smtp
from tests.serving import FORM, LIST, ONE_CLICK, PREFIX, SECRET, Client, Process, serving, with_token_url
from tests.smtp_server import smtp_server

SHOTS = Path(os.environ.get("ANNOUNCER_SHOTS", ROOT / "screenshots"))  # git-ignored
SCHEMES: tuple[Literal["light", "dark"], ...] = ("light", "dark")
READER = "lars.berg@example.org"  # Swedish, in recipients/multilingual.csv
OTHER = "maria.rossi@example.org"  # no language of her own: the workspace's, English
WIDE = Limits(per_client_per_second=10_000, per_client_burst=10_000)  # for tests that are no flood
MULTIPART = "multipart/form-data; boundary=XyZ"


def _multipart(name: str, value: str) -> bytes:
    return (f'--XyZ\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n--XyZ--\r\n').encode()


def url_of(address: str) -> str:
    return PREFIX + unsubscribe_token(address, SECRET)


@pytest.fixture
def settings(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The example workspace with a `{token}` URL, where a send of 0.2 (no tokens table yet)
    reached two readers: the ledger knows them by address, language and all."""
    with_token_url(workspace, monkeypatch)
    with Ledger(workspace, lock=False) as ledger:
        ledger.record(
            "invitation:old@example.org:0",
            Recipient(READER, "Lars Berg", language="sv"),
            "<1@x>",
            Outcome.DELIVERED,
            "",
        )
        ledger.record(
            "invitation:old@example.org:0", Recipient(OTHER, "Maria Rossi"), "<2@x>", Outcome.DELIVERED, ""
        )
    return load_settings(workspace / "announcer.toml")


@pytest.fixture
def client(settings: Settings) -> Iterator[Client]:
    with serving(settings, WIDE) as running:
        yield running


def standing(workspace: Path, address: str = READER) -> tuple[State, str] | None:
    with Audience(workspace, LIST) as ledger:
        found = ledger.standing(address)
        return (found.state, found.how) if found else None


def log_length(workspace: Path) -> int:
    with Audience(workspace, LIST) as ledger:
        return len(ledger.log())


def test_a_get_shows_the_page_in_the_reader_s_language_and_changes_nothing(
    client: Client, workspace: Path
) -> None:
    for _ in range(3):  # a link scanner, a preview, the reader
        reply = client.get(url_of(READER))
        assert reply.status == 200
        assert "Avsluta prenumerationen på OnkPat Friday Seminar?" in reply.text
        assert '<html lang="sv" dir="ltr">' in reply.text
        assert 'name="action" value="unsubscribe"' in reply.text
    assert standing(workspace) is None
    assert log_length(workspace) == 0


def test_a_get_is_answered_while_a_send_holds_the_journal(client: Client, workspace: Path) -> None:
    """A GET only looks up: it waits for no writer (a send writing the journal at that moment)."""
    writer = sqlite3.connect(workspace / JOURNAL_PATH, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        reply = client.get(url_of(READER))
        assert reply.status == 200
        assert "Avsluta prenumerationen" in reply.text
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@pytest.mark.parametrize(
    ("kind", "body"),
    [(FORM, ONE_CLICK), (MULTIPART, _multipart("List-Unsubscribe", "One-Click"))],
    ids=["urlencoded", "multipart"],
)
def test_a_one_click_post_unsubscribes_at_once_and_a_repeat_changes_nothing(
    client: Client, workspace: Path, kind: str, body: bytes
) -> None:
    reply = client.post(url_of(READER), body, kind)
    assert reply.status == 200
    assert "Du har avslutat prenumerationen" in reply.text
    assert standing(workspace) == (State.UNSUBSCRIBED, How.ONE_CLICK.value)
    for _ in range(3):  # mail clients repeat a POST they are unsure of
        assert client.post(url_of(READER), body, kind).status == 200
    assert log_length(workspace) == 1
    assert standing(workspace, OTHER) is None


def test_the_page_s_button_unsubscribes_and_its_answer_offers_to_undo(
    client: Client, workspace: Path
) -> None:
    left = client.post(url_of(OTHER), b"action=unsubscribe")
    assert left.status == 200
    assert "You are unsubscribed" in left.text
    assert 'name="action" value="undo"' in left.text
    assert standing(workspace, OTHER) == (State.UNSUBSCRIBED, How.WEB_PAGE.value)

    back = client.post(url_of(OTHER), b"action=undo")
    assert back.status == 200
    assert "You are subscribed again" in back.text
    assert 'name="action" value="unsubscribe"' in back.text
    assert standing(workspace, OTHER) == (State.SUBSCRIBED, How.WEB_PAGE.value)
    assert client.post(url_of(OTHER), b"action=undo").status == 200  # undone once
    assert log_length(workspace) == 2


def test_the_undo_cannot_bring_back_what_the_organiser_removed(client: Client, workspace: Path) -> None:
    with Audience(workspace, LIST) as ledger:
        ledger.remove(OTHER, "left the department")
    assert client.post(url_of(OTHER), b"action=undo").status == 200
    assert standing(workspace, OTHER) == (State.REMOVED, How.BY_HAND.value)


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_forged_token_gets_the_very_answer_a_good_one_gets(
    client: Client, workspace: Path, method: str
) -> None:
    good, forged = url_of(OTHER), url_of("nobody@example.org")
    body = ONE_CLICK if method == "POST" else None
    headers = {"Content-Type": FORM} if body else {}
    answers = [client.request(method, path, body, headers) for path in (good, forged, PREFIX + "x" * 24)]
    first = answers[0]
    for answer in answers[1:]:
        assert answer.status == first.status == 200
        assert answer.body == first.body
        assert {k: v for k, v in answer.headers.items() if k != "date"} == {
            k: v for k, v in first.headers.items() if k != "date"
        }
    for answer in answers:  # "you", never the address
        assert b"@" not in answer.body.replace(b"@media", b"")
    assert log_length(workspace) == (1 if method == "POST" else 0)


def test_an_oversized_body_is_refused_declared_or_not(client: Client, workspace: Path) -> None:
    big = ONE_CLICK + b"&pad=" + b"x" * 5000
    assert client.post(url_of(READER), big).status == 413

    # Sent in chunks, with no length said beforehand: counted as it comes.
    chunks = (big[start : start + 1000] for start in range(0, len(big), 1000))
    connection = Client(client.host, client.port)._connect()
    connection.request(
        "POST", url_of(READER), body=chunks, headers={"Content-Type": FORM}, encode_chunked=True
    )
    assert connection.getresponse().status == 413
    connection.close()

    # 50 MB said to come: refused before a byte of it is read.
    with socket.create_connection((client.host, client.port), timeout=15) as raw:
        raw.sendall(
            f"POST {url_of(READER)} HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
            "Content-Length: 50000000\r\n\r\n".encode()
        )
        assert raw.makefile("rb").readline().startswith(b"HTTP/1.1 413 ")
    assert standing(workspace) is None


def test_a_post_that_is_no_form_or_asks_nothing_known_is_refused(client: Client, workspace: Path) -> None:
    assert client.post(url_of(READER), b'{"unsubscribe": true}', "application/json").status == 415
    assert client.post(url_of(READER), b"action=everything").status == 400
    assert client.post(url_of(READER), b"").status == 400
    assert client.post(url_of(READER), b"--XyZ\r\nbroken", MULTIPART).status == 400
    file_part = (
        b'--XyZ\r\nContent-Disposition: form-data; name="f"; filename="a.txt"\r\n\r\nhi\r\n--XyZ--\r\n'
    )
    assert client.post(url_of(READER), file_part, MULTIPART).status == 400
    assert client.request("PUT", url_of(READER), ONE_CLICK, {"Content-Type": FORM}).status == 405
    assert standing(workspace) is None


def test_a_flood_of_posts_is_rate_limited_never_a_trace(
    settings: Settings, workspace: Path, caplog: pytest.LogCaptureFixture
) -> None:
    limits = Limits(per_client_per_second=5, per_client_burst=10)
    with serving(settings, limits) as client:
        statuses = [client.post(url_of(READER), ONE_CLICK, keep=True).status for _ in range(100)]
        neighbour = Client(client.host, client.port, source="127.0.0.2")  # another client is not held up
        assert neighbour.post(url_of(OTHER), ONE_CLICK).status == 200
    assert set(statuses) == {200, 429}
    assert statuses.count(200) < 40  # ten at once, five a second after: the flood took under 6 s
    assert standing(workspace) == (State.UNSUBSCRIBED, How.ONE_CLICK.value)
    assert standing(workspace, OTHER) == (State.UNSUBSCRIBED, How.ONE_CLICK.value)
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


def test_every_answer_carries_the_security_headers(client: Client) -> None:
    page = client.get(url_of(READER))
    policy = page.headers["content-security-policy"]
    assert policy.startswith("default-src 'none'; style-src 'sha256-")
    assert "form-action 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "'unsafe-inline'" not in policy  # nothing inline but its own styles
    assert "http" not in policy  # nothing from a third party
    for reply in (page, client.get("/nothing-here")):
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert reply.headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"


def test_the_site_is_served_with_its_types_and_nothing_outside_it(
    settings: Settings, workspace: Path, cli: CLI
) -> None:
    code, _, err = cli("site")
    assert code == 0, err
    with serving(settings, WIDE) as client:
        index = client.get("/onkpat/")
        assert index.status == 200
        assert index.headers["content-type"] == "text/html; charset=utf-8"
        assert client.get("/onkpat.atom").headers["content-type"] == "application/atom+xml; charset=utf-8"
        assert client.get("/onkpat.ics").headers["content-type"] == "text/calendar; charset=utf-8"
        for path in (
            "/../announcer.toml",
            "/%2e%2e/announcer.toml",
            "/onkpat/../../announcer.toml",
            "/.announcer/journal.sqlite3",
        ):
            reply = client.get(path)
            assert reply.status == 404, path
            assert b"[sender]" not in reply.body
        assert client.request("POST", "/onkpat.atom", b"x", {"Content-Type": FORM}).status == 405


@pytest.mark.parametrize(
    ("url", "path", "query"),
    [
        ("https://x.org/leave/{token}", "/leave/{token}", None),
        ("https://x.org/a%20b/u-{token}", "/a b/u-{token}", None),
        ("https://x.org/leave?list=s&t={token}", "/leave", "t"),
    ],
)
def test_the_route_is_read_from_the_unsubscribe_url(url: str, path: str, query: str | None) -> None:
    route = unsubscribe_route(url)
    assert (route.path, route.query_name) == (path, query)


def test_a_token_in_the_query_is_answered_too(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    path = workspace / "announcer.toml"
    path.write_text(path.read_text().replace("unsubscribe/{token}", "unsubscribe?t={token}"))
    with serving(load_settings(path), WIDE) as client:
        token = unsubscribe_token(READER, SECRET)
        assert client.post(f"/onkpat-seminars/unsubscribe?t={token}", ONE_CLICK).status == 200
    assert standing(workspace) == (State.UNSUBSCRIBED, How.ONE_CLICK.value)


_HOSTILE_TOKEN = st.text(st.characters(codec="utf-8"), max_size=300)


@given(token=_HOSTILE_TOKEN, body=st.binary(max_size=5000), multipart=st.booleans())
@example(token="../../.announcer/journal.sqlite3", body=ONE_CLICK, multipart=False)
@example(token="%00", body=b"List-Unsubscribe=One-Click&" * 200, multipart=False)
@example(token="x", body=b"List-Unsubscribe=%FF%FE&action=%C0", multipart=False)
@example(token="\u202e", body=b"--XyZ\r\n" * 700, multipart=True)
@hypothesis_settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_hostile_tokens_and_bodies_get_a_plain_answer_and_change_nothing(
    hostile_client: Client, token: str, body: bytes, multipart: bool
) -> None:
    from urllib.parse import quote

    path = PREFIX + quote(token, safe="")
    for reply in (
        hostile_client.get(path),
        hostile_client.post(path, body, MULTIPART if multipart else FORM),
    ):
        assert reply.status in (200, 400, 404, 405, 413), (reply.status, reply.body[:200])
        assert b"Traceback" not in reply.body


@pytest.fixture(scope="module")
def hostile_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:

    folder = tmp_path_factory.mktemp("hostile")
    shutil.copy(ROOT / "announcer.toml", folder)
    monkeypatch = pytest.MonkeyPatch()
    with_token_url(folder, monkeypatch)
    try:
        yield load_settings(folder / "announcer.toml")
    finally:
        monkeypatch.undo()


@pytest.fixture(scope="module")
def hostile_client(hostile_workspace: Settings) -> Iterator[Client]:
    with serving(hostile_workspace, WIDE) as client:
        yield client
    with Audience(hostile_workspace.workspace, LIST) as ledger:
        assert ledger.log() == []  # nothing a hostile request sent changed anything


def test_serve_learns_old_tokens_at_start_and_stops_cleanly_on_sigterm(
    settings: Settings, workspace: Path
) -> None:
    running = Process()
    try:
        assert running.client.get(url_of(READER)).status == 200
        assert running.client.post(url_of(READER), ONE_CLICK).status == 200
    finally:
        code, out, err = running.stop()
    assert code == 0, err
    assert "knows the tokens of 2 readers the journal names\n" in running.said
    assert out.rstrip().endswith("stopped")
    assert "Traceback" not in err
    assert standing(workspace) == (State.UNSUBSCRIBED, How.ONE_CLICK.value)


def test_serve_without_a_token_in_the_url_or_a_secret_says_what_to_set(
    workspace: Path, cli: CLI, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = cli("serve", "--port", "0")
    assert code == 1
    assert "unsubscribe_url" in err
    with_token_url(workspace, monkeypatch)
    monkeypatch.delenv("ANNOUNCER_UNSUBSCRIBE_SECRET")
    code, _, err = cli("serve", "--port", "0")
    assert code == 1
    assert "ANNOUNCER_UNSUBSCRIBE_SECRET" in err


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


def test_a_reader_unsubscribes_in_chromium_from_a_sent_message(
    browser: Browser, workspace: Path, monkeypatch: pytest.MonkeyPatch, cli: CLI
) -> None:
    with_token_url(workspace, monkeypatch)
    with smtp_server() as smtp:
        configure_smtp(smtp)
        with serving(load_settings(workspace / "announcer.toml"), WIDE) as client:
            code, _, err = cli(
                "send", EXAMPLE_EVENT, "--to", "recipients/multilingual.csv", "--transport", "smtp", "--past"
            )
            assert code == 0, err
            sent = {item.rcpt_tos[0]: item.message for item in smtp.handler.received}
            header = str(sent[READER]["List-Unsubscribe"])
            found = re.search(r"<https://lists\.example\.org(/[^>]+)>", header)
            assert found, header
            url = f"http://{client.host}:{client.port}{found[1]}"

            page = browser.new_page(viewport={"width": 375, "height": 740})
            page.goto(url)
            expect(page.locator("h1")).to_have_text("Avsluta prenumerationen på OnkPat Friday Seminar?")
            assert standing(workspace) is None  # a GET alone changes nothing
            SHOTS.mkdir(parents=True, exist_ok=True)
            for scheme in SCHEMES:
                page.emulate_media(color_scheme=scheme)
                page.screenshot(path=str(SHOTS / f"unsubscribe-sv-375-{scheme}.png"), full_page=True)

            page.get_by_role("button", name="Avsluta prenumerationen").click()
            expect(page.locator("h1")).to_have_text("Du har avslutat prenumerationen")
            assert standing(workspace) == (State.UNSUBSCRIBED, How.WEB_PAGE.value)
            for scheme in SCHEMES:
                page.emulate_media(color_scheme=scheme)
                page.screenshot(path=str(SHOTS / f"unsubscribed-sv-375-{scheme}.png"), full_page=True)
            page.get_by_role("button", name="Prenumerera igen").click()
            expect(page.locator("h1")).to_have_text("Du prenumererar igen")
            assert standing(workspace) == (State.SUBSCRIBED, How.WEB_PAGE.value)


def test_a_client_that_sends_slowly_or_nothing_is_cut_at_the_deadline(settings: Settings) -> None:
    with serving(settings, Limits(arrive_seconds=0.5)) as client:
        idle = socket.create_connection((client.host, client.port), timeout=15)
        slow_head = socket.create_connection((client.host, client.port), timeout=15)
        slow_head.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the end of its head
        slow_body = socket.create_connection((client.host, client.port), timeout=15)
        slow_body.sendall(
            f"POST {url_of(READER)} HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"
            "Content-Length: 26\r\n\r\nList-".encode()
        )
        for sock in (idle, slow_head):
            assert sock.recv(1024) == b""  # closed by the server, without a word
        answer = slow_body.makefile("rb").read()
        assert answer == b"" or answer.startswith(b"HTTP/1.1 408 ")
        for sock in (idle, slow_head, slow_body):
            sock.close()
        assert client.get(url_of(READER)).status == 200  # the server itself is fine


def test_connections_that_wait_and_wait_cannot_keep_a_reader_out(settings: Settings) -> None:
    """Past the cap of connections waiting for a request (slow heads, idle ones), the one that
    waited longest makes room: a reader who asks at once is answered, not refused with 503."""
    with serving(settings, Limits(waiting=20, connections=40, arrive_seconds=600)) as client:
        waiting = [socket.create_connection((client.host, client.port), timeout=15) for _ in range(50)]
        try:
            for sock in waiting[::2]:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # half a head, the rest never comes
            reply = client.get(url_of(READER))
            assert reply.status == 200
            assert "Avsluta prenumerationen" in reply.text
            assert all(_closed_by_server(sock) for sock in waiting[:30])  # the oldest
        finally:
            for sock in waiting:
                sock.close()


def _closed_by_server(sock: socket.socket) -> bool:
    """Closed without a word: the end of the stream, or a reset where a half head was unread."""
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
