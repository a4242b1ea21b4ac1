"""Every example event and the example digest, down to the composed message, against stored files.

A change in output is always a visible diff. After an intended change, regenerate with
`ANNOUNCER_UPDATE_GOLDEN=1 pytest tests/test_golden.py` (those tests then report "skipped"),
review `git diff tests/golden`, and commit.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from announcer.model.recipient import Recipient
from announcer.model.settings import Settings
from announcer.model.window import Window
from announcer.render.content import RenderedContent
from tests.helpers import (
    ROOT,
    compare_golden,
    composer,
    read_message,
    render_digest_of,
    render_event,
    skip_if_rewritten,
)

EXAMPLE_EVENTS = sorted(path.name for path in (ROOT / "events").glob("*.yaml"))
READER = Recipient(email="asa.lindqvist@example.org", name="Åsa Lindqvist", fields={"team": "Oncology"})


def _compare_all(folder: str, content: RenderedContent, settings: Settings) -> None:
    """Subject, text, HTML, every calendar and the whole composed message of one reader."""
    made = composer(content, settings, None)
    html, text = made.personalised(READER)
    data = made.compose(READER).data
    compare_golden(f"{folder}/subject.txt", content.subject.encode() + b"\n")
    compare_golden(f"{folder}/email.txt", text.encode())
    compare_golden(f"{folder}/email.html", html.encode())
    for calendar in content.calendars:
        compare_golden(f"{folder}/{calendar.filename}", calendar.data)
    compare_golden(f"{folder}/message.eml", data)
    parsed = read_message(data)
    parts = [parsed.get_body((kind,)) for kind in ("plain", "html")]
    decoded = [str(part.get_content()).replace("\r\n", "\n").rstrip("\n") for part in parts if part]
    assert decoded == [text.rstrip("\n"), html.rstrip("\n")]


@pytest.mark.usefixtures("pinned")
@pytest.mark.parametrize("name", EXAMPLE_EVENTS)
def test_every_example_event_matches_its_golden_files(settings: Settings, name: str) -> None:
    _compare_all(Path(name).stem, render_event(settings, f"events/{name}"), settings)
    skip_if_rewritten()


@pytest.mark.usefixtures("pinned")
def test_the_example_digest_matches_its_golden_files(settings: Settings) -> None:
    _compare_all("digest-2026-03-02", render_digest_of(settings, Window(date(2026, 3, 2), 7)), settings)
    skip_if_rewritten()


@pytest.mark.usefixtures("pinned")
@pytest.mark.parametrize("language", ["sv", "de"])
def test_the_example_in_swedish_and_german_matches_its_golden_files(
    settings: Settings, language: str
) -> None:
    """The invitation, an online talk's and the digest: every fixed word and date in the language."""
    for name in ("2026-03-06-car-t-cell-therapy", "2026-03-04-engineered-tregs-online"):
        _compare_all(f"{language}/{name}", render_event(settings, f"events/{name}.yaml", language), settings)
    digest = render_digest_of(settings, Window(date(2026, 3, 2), 7), language=language)
    _compare_all(f"{language}/digest-2026-03-02", digest, settings)
    skip_if_rewritten()


def test_the_golden_files_are_the_examples_and_nothing_else() -> None:
    folders = sorted(path.name for path in (ROOT / "tests" / "golden").iterdir())
    assert folders == sorted([*(Path(name).stem for name in EXAMPLE_EVENTS), "digest-2026-03-02", "de", "sv"])
