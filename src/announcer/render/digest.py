"""A digest to content: the events of a window grouped by day, kept under Gmail's clipping size."""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import groupby
from zoneinfo import ZoneInfo

from announcer import prose
from announcer.kinds import Kind, method_of
from announcer.lifecycle import Edition, digest_uid
from announcer.model.event import Event
from announcer.model.named import NamedEvent
from announcer.model.window import Window
from announcer.render.calendar import merged_calendar
from announcer.render.calendar_links import CalendarLink
from announcer.render.clients import GMAIL_CLIP
from announcer.render.content import CalendarFile, RenderedContent, Renderer
from announcer.render.filters import trim
from announcer.render.wording import Schedule, date_range, day_label, reader_time

HTML_BUDGET = GMAIL_CLIP - 12_000  # room for what servers and forwards add
TEASER_LIMIT = 180  # two or three lines of the abstract
_UNWRAPPED = 10**6  # a width no paragraph reaches


@dataclass(frozen=True)
class DigestEntry:
    """One event as a digest shows it."""

    slug: str
    event: Event
    schedule: Schedule
    reader_time: str | None  # the start on the reader's clock, when their zone differs
    teaser: str  # nothing for a cancelled talk: there is nothing to come to
    read_more: str | None  # the event's page, or an anchor to its abstract further down
    calendar_links: list[CalendarLink]
    complete: bool  # the teaser is the whole abstract: nothing more to read
    cancelled: bool
    calendar_filename: str
    ics: bytes
    whole: bool = False  # the abstract is shown in full in place of its teaser (a one-talk digest)


@dataclass(frozen=True)
class DigestDay:
    label: str
    entries: list[DigestEntry]


def render_digest(
    renderer: Renderer, window: Window, listed: list[tuple[NamedEvent, Edition]], language: str | None = None
) -> RenderedContent:
    """One digest of the listed events, in `language` (the workspace's unless given): each with its
    own calendar file (its invitation's UID).

    Abstracts of events without a page of their own are appended for "Read the abstract",
    unless that would take the HTML past the budget: then the teasers stand alone.
    """
    language = language or renderer.letterhead.default_language
    entries = [_entry(renderer, named, edition, language) for named, edition in listed]
    # The abstracts' words alone are the least they add to the HTML: past the budget, no need to try.
    appended = sum(
        len(prose.to_text(entry.event.abstract or "", width=_UNWRAPPED).encode())
        for entry in entries
        if entry.read_more == f"#{entry.slug}"
    )
    if appended <= HTML_BUDGET:
        digest = _digest(renderer, window, _whole_if_alone(entries), language)
        if len(digest.html.encode()) <= HTML_BUDGET:
            return digest
    return _digest(
        renderer, window, [replace(entry, read_more=entry.event.url) for entry in entries], language
    )


def _whole_if_alone(entries: list[DigestEntry]) -> list[DigestEntry]:
    """A talk the digest holds alone shows its abstract whole where its teaser would stand: a
    teaser and then the same abstract from its start would say its opening twice."""
    if len(entries) != 1 or not entries[0].read_more or not entries[0].read_more.startswith("#"):
        return entries
    return [replace(entries[0], teaser="", read_more=None, complete=True, whole=True)]


def _digest(renderer: Renderer, window: Window, entries: list[DigestEntry], language: str) -> RenderedContent:
    days = [
        DigestDay(day_label(day, language), list(group))
        for day, group in groupby(entries, key=lambda entry: entry.event.start.date())
    ]
    on = [entry for entry in entries if not entry.cancelled]
    calendars = _calendars(window, on)
    first, last = (
        (entries[0].event.start.date(), entries[-1].event.start.date())
        if entries
        else (window.first, window.last)
    )
    context = renderer.context(
        language,
        window=window,
        days=days,
        entries=entries,
        on=on,
        date_range=date_range(first, last, language),
        window_range=date_range(window.first, window.last, language),
    )
    slug = f"digest-{window.first:%Y-%m-%d}"
    uid = digest_uid(window, renderer.letterhead.sender)
    return renderer.content(Kind.DIGEST, context, slug, uid, calendars)


def _calendars(window: Window, on: list[DigestEntry]) -> tuple[CalendarFile, ...]:
    """The talks on as one calendar part, which Thunderbird adds whole with one click (of
    several calendar parts it offers one alone: tests/thunderbird_look.py), and each as a file
    of its own, to open one talk alone (Outlook, Apple Mail). A cancelled talk has none.
    Thunderbird looks up the part's first UID only: a reader who has a later talk already gets
    them all and an error for that one; a reader who has the first, an Update that adds them."""
    method = method_of(Kind.DIGEST)
    if len(on) == 1:
        return (CalendarFile(on[0].calendar_filename, on[0].ics, method),)
    files = tuple(CalendarFile(entry.calendar_filename, entry.ics, method, acted_on=False) for entry in on)
    if not on:
        return files
    together = merged_calendar([entry.ics for entry in on], method)
    return (CalendarFile(f"all-talks-{window.first:%Y-%m-%d}.ics", together, method), *files)


def _entry(renderer: Renderer, named: NamedEvent, edition: Edition, language: str) -> DigestEntry:
    event = named.event
    # A digest never asks for replies; a cancelled event's calendar is not attached.
    method = method_of(Kind.DIGEST)
    calendar = renderer.event_calendar(event, edition, language, method)
    cancelled = edition.kind is Kind.CANCELLATION
    # A cancelled talk keeps its facts, not what invited people to it.
    source = "" if cancelled else event.abstract or event.intro or ""
    whole = prose.to_text(source, width=_UNWRAPPED).strip()
    teaser = trim(whole.split("\n\n")[0].strip(), TEASER_LIMIT)
    complete = teaser == whole
    return DigestEntry(
        slug=named.slug,
        event=event,
        schedule=Schedule.of(event, language),
        reader_time=reader_time(event, ZoneInfo(renderer.letterhead.default_zone), language),
        teaser=teaser,
        read_more=None
        if cancelled
        else event.url or (f"#{named.slug}" if event.abstract and not complete else None),
        calendar_links=calendar.links,
        complete=complete,
        cancelled=cancelled,
        calendar_filename=f"{named.slug}.ics",
        ics=calendar.ics,
    )
