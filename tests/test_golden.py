"""The example event's HTML, text and calendar, compared with stored expected files.

A change in output is always a visible diff. After an intended change, regenerate with
`ANNOUNCER_UPDATE_GOLDEN=1 pytest tests/test_golden.py` and review the diff before committing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from announcer.loading import load_event
from announcer.recipients import Recipient
from announcer.rendering import Renderer
from announcer.settings import Settings
from tests.conftest import EXAMPLE_EVENT

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("ANNOUNCER_UPDATE_GOLDEN") == "1"


def _compare(name: str, actual: bytes) -> None:
    expected_path = GOLDEN / name
    if UPDATE:
        expected_path.write_bytes(actual)
    assert expected_path.exists(), f"{expected_path} is missing: run with ANNOUNCER_UPDATE_GOLDEN=1"
    expected = expected_path.read_bytes()
    if actual != expected:
        actual_path = expected_path.with_name(f"{expected_path.stem}.actual{expected_path.suffix}")
        actual_path.write_bytes(actual)
        pytest.fail(f"{name} differs from the golden file; see `diff {expected_path} {actual_path}`")


@pytest.mark.usefixtures("pinned")
def test_example_invitation_matches_golden_files(settings: Settings) -> None:
    event = load_event(Path(EXAMPLE_EVENT), settings.defaults)
    content = Renderer(settings).render_event(event, "2026-03-06-car-t-cell-therapy")
    reader = Recipient(email="asa.lindqvist@example.org", name="Åsa Lindqvist")
    html, text = content.personalised(reader, "https://lists.example.org/onkpat-seminars/unsubscribe")

    _compare("invitation.subject.txt", content.subject.encode() + b"\n")
    _compare("invitation.html", html.encode())
    _compare("invitation.txt", text.encode())
    _compare("invitation.ics", content.ics)
