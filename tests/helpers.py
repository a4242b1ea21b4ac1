"""Helpers the tests share: the example's paths, the CLI in-process, SMTP settings, golden files."""

from __future__ import annotations

import difflib
import os
import shutil
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path

import pytest
from typer.testing import CliRunner

from announcer.cli import app
from announcer.compose.headers import WIRE
from announcer.compose.message import Composer, Outgoing
from announcer.history import history
from announcer.jobs import render_invitation, render_window
from announcer.load.events import load_events, load_named
from announcer.model.settings import Letterhead, Settings
from announcer.model.window import Window
from announcer.render.content import RenderedContent, Renderer
from tests.smtp_server import Server

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "golden"
EXAMPLE_EVENT = "events/2026-03-06-car-t-cell-therapy.yaml"
EXAMPLE_RECIPIENTS = "recipients/example.csv"
PINNED_NOW = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)
UPDATE_GOLDEN = os.environ.get("ANNOUNCER_UPDATE_GOLDEN") == "1"


class CLI:
    """Runs `announcer` in-process, as a user would type it."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str) -> tuple[int, str, str]:
        result = self.runner.invoke(app, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr


def wire(message: EmailMessage) -> Outgoing:
    """A message built with the stdlib, as a transport takes it (bounces to its From)."""
    return Outgoing(
        message["To"].addresses[0].addr_spec,
        str(message["Message-ID"]),
        message.as_bytes(policy=WIRE),
        message["From"].addresses[0].addr_spec,
    )


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path`, creating folders; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path


def read_message(data: bytes | Path) -> EmailMessage:
    """A message parsed by the stdlib with its modern policy."""
    raw = data.read_bytes() if isinstance(data, Path) else data
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def render_event(
    settings: Settings, path: str | Path = EXAMPLE_EVENT, language: str | None = None
) -> RenderedContent:
    """The event's content as the next real send would carry it (in `language`)."""
    named = load_named(Path(path), settings.defaults)
    with history(settings.workspace) as sequences:
        return render_invitation(Renderer(Letterhead.of(settings)), named, sequences, language)


def render_digest_of(
    settings: Settings, window: Window, folder: str | Path = "events", language: str | None = None
) -> RenderedContent:
    """The digest of a folder's events in `window` (in `language`)."""
    events = load_events(Path(folder), settings.defaults)
    with history(settings.workspace) as sequences:
        return render_window(Renderer(Letterhead.of(settings)), window, events, sequences, language)


def composer(content: RenderedContent, settings: Settings, secret: str | None = None) -> Composer:
    return Composer(content, settings.sender, settings.list_, secret)


def copy_example(into: Path) -> Path:
    """The example workspace (its settings, events, lists and series) copied into `into`."""
    into.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "announcer.toml", into)
    for folder in ("events", "recipients", "series"):
        shutil.copytree(ROOT / folder, into / folder)
    return into


def configure_smtp(server: Server, workspace: Path = Path(), **extra: object) -> None:
    """Point a workspace's settings (the current one's) at a test server (retries fast)."""
    lines = [
        "\n[smtp]",
        'host = "127.0.0.1"',
        f"port = {server.port}",
        f'security = "{server.security}"',
        "retry_delay_seconds = 0.01",
    ]
    if server.ca_file:
        lines.append(f'ca_file = "{server.ca_file}"')
    lines += [f"{key} = {value!r}".replace("'", '"') for key, value in extra.items()]
    with (workspace / "announcer.toml").open("a") as settings:
        settings.write("\n".join(lines) + "\n")


def skip_if_rewritten() -> None:
    """A golden test run with ANNOUNCER_UPDATE_GOLDEN=1 compared nothing: say so."""
    if UPDATE_GOLDEN:
        pytest.skip("rewrote the golden files: review `git diff tests/golden`, then run without the variable")


def compare_golden(name: str, actual: bytes) -> None:
    """Compare with `tests/golden/<name>`; with ANNOUNCER_UPDATE_GOLDEN=1, rewrite it instead.

    A difference fails with a unified diff of its first lines; nothing is written into the tree.
    A test that rewrites golden files ends with `skip_if_rewritten()`, so it never reports a pass.
    """
    expected_path = GOLDEN / name
    if UPDATE_GOLDEN:
        expected_path.parent.mkdir(parents=True, exist_ok=True)
        expected_path.write_bytes(actual)
        return
    assert expected_path.exists(), f"{expected_path} is missing: run with ANNOUNCER_UPDATE_GOLDEN=1"
    expected = expected_path.read_bytes()
    if actual != expected:
        diff = difflib.unified_diff(
            expected.decode(errors="replace").splitlines(),
            actual.decode(errors="replace").splitlines(),
            f"golden/{name}",
            "actual",
            lineterm="",
        )
        shown = "\n".join(list(diff)[:60])
        pytest.fail(f"{name} differs from the golden file:\n{shown}", pytrace=False)


def parts(message: EmailMessage) -> list[tuple[object, ...]]:
    """Each part as a reader sees it: type, parameters, disposition, file name, decoded content."""
    return [
        (
            part.get_content_type(),
            sorted(param for param in part.get_params() or [] if param[0] != "boundary"),
            part.get_content_disposition(),
            part.get_filename(),
            None if part.is_multipart() else part.get_content(),
        )
        for part in message.walk()
    ]


SHARED_HEADERS = (
    "From",
    "Subject",
    "Reply-To",
    "Content-Language",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "Feedback-ID",
)


def to_name_and_address(message: EmailMessage) -> tuple[str, str]:
    """The To header's name and address as RFC 2047 reads them (the space between two encoded
    words is not part of the text; the stdlib's address parser keeps it)."""
    raw = next(value for name, value in message.raw_items() if name.lower() == "to")
    ((name, address),) = getaddresses([raw.replace("\r\n", "")])
    return str(make_header(decode_header(name))), address
