"""The table of message kinds: journal keys as old journals hold them, iTIP methods, templates."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from icalendar import Calendar

from announcer.history import history
from announcer.kinds import KINDS, Kind, has_event, journal_key, method_of, slug_of
from announcer.lifecycle import cancellation, next_edition
from announcer.load.events import load_named
from announcer.model.settings import Letterhead, Settings
from announcer.model.window import Window
from announcer.render.content import RenderedContent, Renderer
from announcer.render.digest import render_digest
from announcer.render.theme import theme_folder
from tests.helpers import EXAMPLE_EVENT

UID = "talk@example.org"


@pytest.mark.parametrize(
    ("kind", "sequence", "lead", "key"),
    [
        (Kind.INVITATION, 0, "", "invitation:talk@example.org:0"),
        (Kind.UPDATE, 2, "", "update:talk@example.org:2"),
        (Kind.CANCELLATION, 3, "", "cancellation:talk@example.org:3"),
        (Kind.REMINDER, 2, "1d", "reminder-1d:talk@example.org:0"),  # once per lead, whatever moves
        (Kind.DIGEST, 0, "", "digest:talk@example.org:0"),
    ],
)
def test_journal_keys_are_written_as_journals_of_earlier_versions_hold_them(
    kind: Kind, sequence: int, lead: str, key: str
) -> None:
    assert journal_key(kind, UID, sequence, lead=lead) == key


@pytest.mark.parametrize(
    ("kind", "rsvp", "method"),
    [
        (Kind.INVITATION, False, "PUBLISH"),
        (Kind.INVITATION, True, "REQUEST"),
        (Kind.UPDATE, True, "REQUEST"),
        (Kind.CANCELLATION, False, "CANCEL"),
        (Kind.CANCELLATION, True, "CANCEL"),
        (Kind.REMINDER, True, "PUBLISH"),  # never asks for an answer
        (Kind.DIGEST, True, "PUBLISH"),
    ],
)
def test_each_kind_says_its_itip_method(kind: Kind, rsvp: bool, method: str) -> None:
    assert method_of(kind, rsvp=rsvp) == method


def test_those_who_have_the_event_are_those_the_journal_counts() -> None:
    """As `received()` counts them: every journal word but a cancellation's (a reminder carries
    the event's calendar); a word this version does not know counts for no kind."""
    assert [has_event(word) for word in ("invitation", "update", "cancellation", "reminder-1h")] == [
        True,
        True,
        False,
        True,
    ]
    assert not has_event("digest")
    assert not has_event("moved")


@pytest.mark.parametrize("kind", list(Kind))
def test_every_kind_has_its_three_templates_and_a_journal_word_of_its_name(kind: Kind) -> None:
    row = KINDS[kind]
    for suffix in ("subject.j2", "txt.j2", "mjml.j2"):
        assert (theme_folder() / f"{row.template}.{suffix}").is_file(), (kind, suffix)
    assert row.journal.format(lead="1d").partition("-")[0] == kind.value  # what `has_event` reads
    assert row.label


def test_slugs_mark_the_kinds_that_are_not_the_event_itself() -> None:
    assert slug_of(Kind.INVITATION, "talk") == "talk"
    assert slug_of(Kind.UPDATE, "talk") == "talk"
    assert slug_of(Kind.CANCELLATION, "talk") == "talk-cancellation"
    assert slug_of(Kind.REMINDER, "talk", lead="1h") == "talk-reminder-1h"


def _methods(content: RenderedContent) -> list[tuple[str, str]]:
    """Each calendar part's method as the message says it, and as the calendar inside says it."""
    return [
        (calendar.method, str(Calendar.from_ical(calendar.data)["METHOD"])) for calendar in content.calendars
    ]


def test_every_calendar_part_carries_its_kinds_method_and_the_calendar_agrees(settings: Settings) -> None:
    named = load_named(Path(EXAMPLE_EVENT), settings.defaults)
    renderer = Renderer(Letterhead.of(settings))
    with history(settings.workspace) as sequences:
        asked = next_edition(named, settings.sender, sequences, rsvp=True)
        invitation = renderer.render_event(named, asked)
        cancelled = renderer.render_event(named, cancellation(named, settings.sender, sequences))
        reminder = renderer.render_reminder(
            named, asked, "1d", datetime(2026, 3, 5, 12, tzinfo=named.event.zone)
        )
        # Listed at an edition that asks for replies, the digest still only shows.
        digest = render_digest(renderer, Window(named.event.start.date(), 7), [(named, asked)])
    assert _methods(invitation) == [("REQUEST", "REQUEST")]
    assert invitation.calendars[0].attendee
    assert _methods(cancelled) == [("CANCEL", "CANCEL")]
    assert _methods(reminder) == [("PUBLISH", "PUBLISH")]  # asked or not, a reminder only shows
    assert not reminder.calendars[0].attendee
    assert _methods(digest) == [("PUBLISH", "PUBLISH")]
    assert reminder.slug == f"{named.slug}-reminder-1d"
    assert cancelled.slug == f"{named.slug}-cancellation"
