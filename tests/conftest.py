"""Shared fixtures: a copy of the example workspace, a pinned clock, the CLI."""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from announcer import clock
from announcer.load.settings import load_settings
from announcer.model.settings import Settings
from tests.helpers import CLI, PINNED_NOW, ROOT


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example workspace as the current folder (the packaged theme renders it)."""
    folder = tmp_path / "workspace"
    folder.mkdir()
    shutil.copy(ROOT / "announcer.toml", folder)
    shutil.copytree(ROOT / "events", folder / "events")
    shutil.copytree(ROOT / "recipients", folder / "recipients")
    shutil.copytree(ROOT / "series", folder / "series")
    monkeypatch.chdir(folder)
    return folder


@pytest.fixture
def settings(workspace: Path) -> Settings:
    return load_settings(workspace / "announcer.toml")


@pytest.fixture
def pinned() -> Iterator[None]:
    """Clock and tokens pinned, so that output is the same on every run."""
    tokens = (f"token{number:04d}" for number in itertools.count(1))
    with clock.pinned(PINNED_NOW, tokens):
        yield


@pytest.fixture
def cli(workspace: Path) -> CLI:
    return CLI()
