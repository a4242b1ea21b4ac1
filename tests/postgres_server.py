"""A real PostgreSQL for the state tests: CI's (ANNOUNCER_TEST_POSTGRES, from `.ci/run`), else
a cluster of the session's own started with tests/postgres/start where Debian's binaries are;
else the tests skip, or fail where ANNOUNCER_REQUIRE_POSTGRES=1 (CI)."""

from __future__ import annotations

import glob
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

HERE = Path(__file__).parent / "postgres"


def unavailable(reason: str) -> None:
    if os.environ.get("ANNOUNCER_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"PostgreSQL is required here: {reason}")
    pytest.skip(reason)


def server() -> Iterator[str]:
    """The URL of a database whose role may create databases: one a test may take."""
    given = os.environ.get("ANNOUNCER_TEST_POSTGRES")
    if given:
        yield given
        return
    with own_cluster() as url:
        yield url


@contextmanager
def own_cluster() -> Iterator[str]:
    """A cluster of the caller's own (tests/postgres/start), stopped when the block ends."""
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        unavailable("Debian's postgresql is not installed (apt-get install postgresql)")
    started = subprocess.run([HERE / "start"], capture_output=True, text=True, timeout=180, check=False)
    if started.returncode != 0:
        unavailable(f"tests/postgres/start failed: {started.stderr.strip()[-500:]}")
    url = started.stdout.strip()
    try:
        yield url
    finally:
        subprocess.run([HERE / "stop", url], capture_output=True, timeout=120, check=False)


def fresh_database(url: str) -> str:
    """A new, empty database on the server of `url`, for one test: its URL."""
    name = f"announcer_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return url.rsplit("/", 1)[0] + "/" + name
