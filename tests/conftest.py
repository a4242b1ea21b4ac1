"""Shared fixtures: a copy of the example workspace, a pinned clock, the CLI."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from announcer import clock
from announcer.journal_file import use_database
from announcer.load.settings import load_settings
from announcer.model.settings import Settings
from tests.helpers import CLI, PINNED_NOW, copy_example
from tests.postgres_server import fresh_database, server


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the example workspace as the current folder (the packaged theme renders it)."""
    folder = copy_example(tmp_path / "workspace")
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


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL (see tests/postgres_server.py), or a skip."""
    yield from server()


@pytest.fixture
def postgres(postgres_server: str) -> str:
    """The URL of a new, empty database of its own."""
    return fresh_database(postgres_server)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, workspace: Path) -> str | None:
    """The workspace's state in its SQLite file, or in a PostgreSQL database of its own
    (`[state] database` in its announcer.toml): the state tests run against both."""
    if request.param == "sqlite":
        use_database(workspace, None)
        return None
    url = fresh_database(request.getfixturevalue("postgres_server"))
    with (workspace / "announcer.toml").open("a", encoding="utf-8") as settings:
        settings.write(f'\n[state]\ndatabase = "{url}"\n')
    use_database(workspace, url)  # as reading the settings does
    return url
