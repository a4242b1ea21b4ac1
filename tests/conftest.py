"""Shared fixtures: a copy of the example workspace, a pinned clock, the CLI."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from announcer import factories
from announcer.cli import app
from announcer.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_EVENT = "events/2026-03-06-car-t-cell-therapy.yaml"
EXAMPLE_RECIPIENTS = "recipients/example.csv"
PINNED_NOW = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example workspace as the current folder (the packaged theme renders it)."""
    folder = tmp_path / "workspace"
    folder.mkdir()
    shutil.copy(ROOT / "announcer.toml", folder)
    shutil.copytree(ROOT / "events", folder / "events")
    shutil.copytree(ROOT / "recipients", folder / "recipients")
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def settings(workspace: Path) -> Settings:
    return load_settings(workspace / "announcer.toml")


@pytest.fixture
def pinned() -> Iterator[None]:
    """Clock and tokens pinned, so that output is the same on every run."""
    tokens = (f"token{number:04d}" for number in itertools.count(1))
    with factories.pinned(PINNED_NOW, tokens):
        yield


class CLI:
    """Runs `announcer` in-process, as a user would type it."""

    def __init__(self) -> None:
        self.runner = CliRunner()

    def __call__(self, *args: str) -> tuple[int, str, str]:
        result = self.runner.invoke(app, list(args), catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cli(workspace: Path) -> CLI:
    return CLI()


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path`, creating folders; returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding=encoding)
    return path
