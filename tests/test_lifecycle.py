"""What makes a send an update: the schedule's fingerprint moves with the time and the place only."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from announcer.lifecycle import schedule_fingerprint
from announcer.load.events import load_named
from announcer.model.event import Event
from announcer.model.settings import Settings
from tests.helpers import EXAMPLE_EVENT


def _moved(event: Event, change: str) -> Event:
    assert event.venue is not None
    if change == "start":
        return event.model_copy(update={"start": event.start + timedelta(minutes=15)})
    if change == "end":
        return event.model_copy(update={"end": (event.end or event.start) + timedelta(minutes=30)})
    if change == "room":
        return event.model_copy(update={"venue": event.venue.model_copy(update={"name": "Room B2"})})
    return event.model_copy(update={"abstract": (event.abstract or "") + " A typo mended."})


@pytest.mark.parametrize(
    ("change", "is_update"), [("start", True), ("end", True), ("room", True), ("abstract", False)]
)
def test_moving_the_time_or_the_place_changes_the_fingerprint_and_nothing_else_does(
    settings: Settings, change: str, is_update: bool
) -> None:
    event = load_named(Path(EXAMPLE_EVENT), settings.defaults).event
    moved = _moved(event, change)
    assert moved != event
    assert (schedule_fingerprint(moved) != schedule_fingerprint(event)) is is_update
