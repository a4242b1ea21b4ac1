"""The jobs the verbs run, each calling the pipeline's stages once, in order.

files → model (`load`) → rendered content (`render`) → messages (`compose`) → transport (`deliver`).
Each sending verb loads what it sends, works out its edition and kind, and hands the rest to
`pipeline` in a few lines. Nothing is sent unless every input is sound; expensive work happens
once per event or digest.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from announcer import clock, prose
from announcer.audience.ledger import Audience as AudienceFile
from announcer.audience.ledger import Standing, left_out, left_out_words, list_id_of
from announcer.compose.message import Composer
from announcer.deliver.delivery import Summary, stopped_by_journal
from announcer.deliver.ledger import Entry, journal_entries, received, sent_to
from announcer.errors import AnnouncerError, EventError, InputError, JournalError, Problem, RecipientsError
from announcer.history import history
from announcer.inbox.naming import Naming
from announcer.inbox.opening import open_mailbox
from announcer.inbox.run import Handled
from announcer.inbox.run import Summary as InboxSummary
from announcer.inbox.run import read_inbox as handle_inbox
from announcer.inbox.sorter import Context
from announcer.inbox.sources import Mailbox
from announcer.kinds import KINDS, Kind, journal_key, slug_of
from announcer.languages import SOURCE, source_messages
from announcer.lifecycle import (
    Edition,
    Sequences,
    cancellation,
    cancelled,
    current_edition,
    event_uid,
    is_over,
    materials_fingerprint,
    next_edition,
    reminder_due,
    sent_sequence,
)
from announcer.load.events import Folder, event_files, load_events, load_named, raw_html_warnings, read_folder
from announcer.load.recipients import DELIMITER_NAMES, Checked, RecipientList, open_recipients
from announcer.load.replies import read_replies
from announcer.load.secrets import secret_problems, unsubscribe_secret
from announcer.load.series import SERIES_FOLDER, load_series
from announcer.model.event import EventDefaults
from announcer.model.named import NamedEvent
from announcer.model.recipient import Recipient
from announcer.model.reply import Answer
from announcer.model.series import lead_time
from announcer.model.settings import Letterhead, Settings
from announcer.model.window import Window, in_window
from announcer.paths import display_path
from announcer.pipeline import (
    DRY_RUN,
    SILENT,
    Audience,
    Composers,
    Run,
    audiences,
    list_of,
    run,
    told_before,
)
from announcer.pipeline import Hooks as Hooks  # the verbs' own types, for their callers
from announcer.pipeline import SendOptions as SendOptions
from announcer.pipeline import SendReport as SendReport
from announcer.preflight import (
    Inspection,
    Room,
    event_room,
    event_sources,
    inspect_message,
    inspect_palette,
    inspect_wording,
)
from announcer.render.content import RenderedContent, Renderer
from announcer.render.digest import render_digest
from announcer.render.site import Listed, SeriesPages, Site
from announcer.render.site_links import site_key
from announcer.render.theme import template_messages
from announcer.render.wording import counted
from announcer.replies import Tally, tally


def render_invitation(
    renderer: Renderer, named: NamedEvent, sequences: Sequences, language: str | None = None
) -> RenderedContent:
    """The invitation (or update) the next real send of this event would carry (in `language`)."""
    return renderer.render_event(named, next_edition(named, renderer.letterhead.sender, sequences), language)


def render_current(
    renderer: Renderer, named: NamedEvent, sequences: Sequences, language: str | None = None
) -> RenderedContent:
    """What people have now: the cancellation of a cancelled event, else the next send's email."""
    return renderer.render_event(
        named, current_edition(named, renderer.letterhead.sender, sequences), language
    )


def render_window(
    renderer: Renderer,
    window: Window,
    events: list[NamedEvent],
    sequences: Sequences,
    language: str | None = None,
) -> RenderedContent:
    """The digest of the events in `window`, each calendar at its invitation's current SEQUENCE."""
    sender = renderer.letterhead.sender
    listed = [(named, current_edition(named, sender, sequences)) for named in in_window(events, window)]
    return render_digest(renderer, window, listed, language)


def send_invitation(
    event_path: Path,
    to: str | None,
    settings: Settings,
    options: SendOptions = DRY_RUN,
    hooks: Hooks = SILENT,
    *,
    rsvp: bool = False,
    reinstate: bool = False,
    past: bool = False,
) -> SendReport:
    """One invitation per recipient of `to` (or its series' list); nothing is sent unless
    every input is sound.

    A real send (SMTP) is journaled: a re-run skips whoever already has the message, and a
    change of time or place since the last real send makes this one an update (SEQUENCE + 1).
    With `rsvp` (or after a real send with it) each reader is an ATTENDEE asked to answer.
    A cancelled event is refused unless `reinstate`: then its readers are told it is back on.
    An event that is over goes to the list only with `past` (see `_refuse_over`).
    """
    named = load_named(event_path, settings.defaults)
    settings = named.branded(settings)
    secret = unsubscribe_secret(settings)
    [audience] = audiences([list_of(named, to, settings, event_path)])
    _refuse_over(event_path, named, options, hooks, past)
    if nowhere := _nowhere(event_path, named):
        hooks.announce(str(nowhere))
    with run(settings, options, hooks, secret) as sending:
        edition = next_edition(named, settings.sender, sending.sequences, rsvp=rsvp)
        _refuse_unasked(event_path, edition, sending.sequences, reinstate, hooks)
        if edition.rsvp and not rsvp:
            hooks.announce("asking for replies (--rsvp), as an earlier real send of this event did")
        renderer = Renderer(Letterhead.of(settings))

        def render(language: str, told: bool) -> RenderedContent:
            # Those who had the old version are told what changed (or that it is back on); new
            # readers are invited.
            return renderer.render_event(named, edition if told else edition.for_new_readers(), language)

        composers = sending.composers(render, named.event.language, earlier=told_before(sending, edition))
        sending.settle(named, edition)
        return sending.deliver(composers, journal_key(edition.kind, edition.uid, edition.sequence), audience)


def _refuse_over(path: Path, named: NamedEvent, options: SendOptions, hooks: Hooks, past: bool) -> None:
    """Nothing real goes out about an event that is over (through any transport but the dry run,
    a test send too) unless the organiser asks with `past`; a dry run only says so."""
    if not is_over(named.event):
        return
    if past:
        hooks.announce(f"{display_path(path)}: {_over(named)}")
        return
    if not options.reaches_people:
        hooks.announce(str(_past(path, named)))
        return
    message = f"{_over(named)}: nothing was sent; to send it all the same, say so with {PAST_OPTION}"
    raise EventError([Problem(display_path(path), message)])


def _refuse_unasked(
    event_path: Path, edition: Edition, sequences: Sequences, reinstate: bool, hooks: Hooks
) -> None:
    """A cancelled event is not sent again silently: only with the organiser's word (the kind's
    `needs`) that it is back on."""
    stands = cancelled(edition.uid, sequences)
    needs = KINDS[edition.kind].needs
    if stands is not None and not reinstate:
        on = f" on {stands.on:%Y-%m-%d}" if stands.on else ""
        message = f"was cancelled{on}: nothing was sent; if it is back on, say so with {needs}"
        raise EventError([Problem(display_path(event_path), message)])
    if stands is None and reinstate:
        hooks.announce(f"{display_path(event_path)}: not cancelled, so there is nothing to reinstate")


def send_cancellation(
    event_path: Path,
    to: str | None,
    settings: Settings,
    options: SendOptions = DRY_RUN,
    hooks: Hooks = SILENT,
    *,
    past: bool = False,
) -> SendReport:
    """The cancellation of an event: METHOD:CANCEL, its UID, SEQUENCE raised.

    By default to everyone the journal says received (or may have received) the event; of an
    event that is over, only with `past`.
    """
    named = load_named(event_path, settings.defaults)
    settings = named.branded(settings)
    secret = unsubscribe_secret(settings)
    _refuse_over(event_path, named, options, hooks, past)
    with run(settings, options, hooks, secret) as sending:
        edition = cancellation(named, settings.sender, sending.sequences)
        audience = Audience.of(to) if to else Audience.from_journal(sending, edition.uid, event_path)
        renderer = Renderer(Letterhead.of(settings))
        composers = sending.composers(
            lambda language, _told: renderer.render_event(named, edition, language), named.event.language
        )
        sending.settle(named, edition)
        return sending.deliver(composers, journal_key(edition.kind, edition.uid, edition.sequence), audience)


def send_materials(
    event_path: Path,
    to: str | None,
    settings: Settings,
    options: SendOptions = DRY_RUN,
    hooks: Hooks = SILENT,
    *,
    mailbox: str | None = None,
) -> SendReport:
    """What the talk left behind (the event file's `materials:`), once to each reader: to `to`;
    else, when its invitation asked for replies, to those who said yes (their answers read from
    `mailbox`, as `rsvps` counts them); else to its series' list. Journaled like every send, so
    a second run sends nothing again."""
    named = load_named(event_path, settings.defaults)
    settings = named.branded(settings)
    where = display_path(event_path)
    if not named.event.materials:
        message = "materials: none listed yet: add them, like `materials: [{label: Slides, url: https://…}]`"
        raise EventError([Problem(where, message)])
    if not is_over(named.event):
        ends = f"{named.event.ends_at:%Y-%m-%d %H:%M %Z}"
        message = f"the talk has not ended yet (it ends {ends}): its materials go after it"
        if options.reaches_people:
            raise EventError([Problem(where, message + ": nothing was sent")])
        hooks.announce(f"{where}: {message}")
    secret = unsubscribe_secret(settings)
    with history(settings.workspace) as sequences:
        asked = sequences.asks_replies(event_uid(named.slug, settings.sender))
    if to is not None and mailbox is not None:
        raise InputError(
            [Problem("--mailbox", "give either whom to send to (--to) or where the answers are")]
        )
    yes = _said_yes(event_path, mailbox, settings) if mailbox is not None else None
    if yes is None and to is None and asked:
        message = (
            "its invitation asked for replies: name the mailbox they came to with --mailbox (to send "
            "to those who said yes), or whom to send to with --to"
        )
        raise RecipientsError([Problem(where, message)])
    listed = audiences([list_of(named, to, settings, event_path)])[0] if yes is None else None
    with run(settings, options, hooks, secret) as sending:
        edition = current_edition(named, settings.sender, sending.sequences)
        if edition.kind is Kind.CANCELLATION:
            raise EventError([Problem(where, "was cancelled: there was no talk to send the materials of")])
        audience = listed or _yes_audience(sending, edition.uid, yes or frozenset(), where)
        renderer = Renderer(Letterhead.of(settings))
        composers = sending.composers(
            lambda language, _told: renderer.render_materials(named, edition, language), named.event.language
        )
        key = journal_key(Kind.MATERIALS, edition.uid, lead=materials_fingerprint(named.event))
        return sending.deliver(composers, key, audience)


def _said_yes(event_path: Path, mailbox: str, settings: Settings) -> frozenset[str]:
    """The addresses (lowercase) whose latest answer in `mailbox` to the event's invitation is yes."""
    _, found = count_replies(event_path, mailbox, settings)
    return frozenset(address for address, reply in found.answers.items() if reply.answer is Answer.ACCEPTED)


def _yes_audience(sending: Run, uid: str, yes: frozenset[str], where: str) -> Audience:
    """Those the journal says received the event and who said yes, each as their invitation
    greeted them; nobody else, whatever a reply's From claims."""
    readers = [reader for reader in sending.received(uid) if reader.email.lower() in yes]
    if not readers:
        message = "nobody who received it answered yes: nothing was sent; name whom to send to with --to"
        raise RecipientsError([Problem(where, message)])
    return Audience(readers, Checked(len(readers), ()))


def send_digest(
    events_dir: Path,
    window: Window,
    to: str,
    settings: Settings,
    options: SendOptions = DRY_RUN,
    hooks: Hooks = SILENT,
    *,
    allow_empty: bool = False,
) -> SendReport | None:
    """One digest of the events starting in `window`; None (nothing sent) when there are none.

    Each event's calendar carries the UID and SEQUENCE of its own invitation, so adding it from
    the digest and from the invitation gives one calendar entry.
    """
    secret = unsubscribe_secret(settings)
    events = _readable(events_dir, settings, hooks).events
    if not in_window(events, window) and not allow_empty:
        return None
    audience = Audience.of(to)
    with run(settings, options, hooks, secret) as sending:
        renderer = Renderer(Letterhead.of(settings))
        composers = sending.composers(
            lambda language, _told: render_window(renderer, window, events, sending.sequences, language),
            settings.defaults.language,
        )
        return sending.deliver(composers, journal_key(Kind.DIGEST, composers.content.uid), audience)


def send_reminders(
    events_dir: Path,
    within: timedelta,
    to: str | None,
    settings: Settings,
    options: SendOptions = DRY_RUN,
    hooks: Hooks = SILENT,
) -> list[SendReport]:
    """A short reminder of each event that has one due (see `reminder_due`): of the events whose
    series asks for reminders, to the series' list, or of every event, to `to`. Journaled like
    any real send, so each reader gets each kind once; never for a cancelled event. Nothing is
    sent unless every due event has a sound list."""
    secret = unsubscribe_secret(settings)
    now = clock.utc_now()
    events = _readable(events_dir, settings, hooks).events
    asked = [named for named in events if to or (named.series and named.series.reminders)]
    due = [(named, lead) for named in asked if (lead := reminder_due(named, now, within))]
    reports: list[SendReport] = []
    with run(settings, options, hooks, secret) as sending:
        editions = [
            (named, lead, current_edition(named, settings.sender, sending.sequences)) for named, lead in due
        ]
        editions = [item for item in editions if item[2].kind is not Kind.CANCELLATION]
        lists = audiences([list_of(named, to, settings, events_dir) for named, _, _ in editions])
        for (named, lead, edition), audience in zip(editions, lists, strict=True):
            composers = _reminder(sending, named, edition, lead, now)
            key = journal_key(Kind.REMINDER, edition.uid, lead=lead)  # once per lead, whatever moves
            try:
                reports.append(sending.deliver(composers, key, audience))
            except JournalError as error:  # nothing of this event went; its journal cannot be written
                if not reports:
                    raise  # nothing went at all: as any send whose journal cannot be written
                hooks.announce(stopped_by_journal(str(error)))
                stopped = Summary(interrupted=True, journal_error=str(error))
                slug = slug_of(Kind.REMINDER, named.slug, lead=lead)
                reports.append(SendReport(slug, key, audience.checked.count, stopped))
            if reports[-1].summary.journal_error is not None:  # the next cannot be journaled either
                break
    return reports


def _readable(events_dir: Path, settings: Settings, hooks: Hooks) -> Folder:
    """The events of a folder that can be read; each problem of the others told to `hooks.skip`."""
    found = read_folder(events_dir, settings.defaults)
    for problem in found.skipped:
        hooks.skip(problem)
    return found


def _reminder(sending: Run, named: NamedEvent, edition: Edition, lead: str, now: datetime) -> Composers:
    """A reminder's composers, each reader's in their language, worded as of `now`, in the series' brand."""
    settings = named.branded(sending.settings)
    renderer = Renderer(Letterhead.of(settings))
    return sending.composers(
        lambda language, _told: renderer.render_reminder(named, edition, lead, now, language),
        named.event.language,
        settings=settings,
    )


def build_site(events_dir: Path, out: Path, settings: Settings, hooks: Hooks = SILENT) -> list[Path]:
    """The static site of a folder of events (see `render.site`), written into `out`: each file
    replaced whole, so a reader never gets half a page. A file that cannot be read is left out
    (its page stays as it was) and named through `hooks`."""
    found = _readable(events_dir, settings, hooks)
    paths, events = found.paths, found.events
    now = clock.utc_now()
    groups: dict[str, list[Listed]] = {}
    with history(settings.workspace) as sequences:
        for path, named in zip(paths, events, strict=True):
            changed = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            listed = Listed(named, current_edition(named, settings.sender, sequences), changed)
            groups.setdefault(site_key(named), []).append(listed)
    base = settings.site.url if settings.site else None
    written = []
    for key, members in groups.items():
        named = members[0].named
        series = named.series
        pages = SeriesPages(
            key,
            named.event.series or settings.sender.name,
            prose.to_text(series.description, width=10**6).strip() if series and series.description else None,
            (series.language if series else None) or settings.defaults.language,
            sorted(members, key=lambda member: member.named.event.starts_at),
        )
        for file in Site(Renderer(Letterhead.of(named.branded(settings))), now, base).files(pages):
            written.append(_replace_file(out / file.path, file.data))
    return written


def _replace_file(path: Path, data: bytes) -> Path:
    """`path` holding `data`, replaced whole (a new file renamed over the old)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(f".{path.name}.new")
    fresh.write_bytes(data)
    os.replace(fresh, path)
    return path


def render_files(event_path: Path, settings: Settings, output: Path) -> list[Path]:
    """The event's HTML, text and calendar of its next real send, for nobody in particular."""
    named = load_named(event_path, settings.defaults)
    settings = named.branded(settings)
    with history(settings.workspace) as sequences:
        content = render_invitation(Renderer(Letterhead.of(settings)), named, sequences)
    html, text = Composer(content, settings.sender, settings.list_, None).personalised(None)
    output.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, data in (("html", html.encode()), ("txt", text.encode()), ("ics", content.ics)):
        path = output / f"{named.slug}.{suffix}"
        path.write_bytes(data)
        written.append(path)
    return written


@dataclass
class CheckReport:
    """What `check` found: the inputs that are fine, warnings, and problems (any problem: exit 1)."""

    fine: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    problems: list[Problem | str] = field(default_factory=list)


def check_inputs(events: list[Path], lists: list[str], settings: Settings | None) -> CheckReport:
    """Every event (read and rendered) and recipient list, against the settings if they are sound.

    Without usable settings the events are still read, against the built-in defaults.
    """
    report = CheckReport()
    if settings is not None:
        report.problems.extend(secret_problems(settings))
    renderer = Renderer(Letterhead.of(settings)) if settings is not None else None
    defaults = settings.defaults if settings else EventDefaults()
    with ExitStack() as stack:
        sequences: Sequences | None = None
        if settings is not None:
            try:
                sequences = stack.enter_context(history(settings.workspace))
            except AnnouncerError as exc:  # the journal the SEQUENCE comes from
                report.problems.append(str(exc))
        _check_events(events, defaults, renderer, sequences, report)
    if settings is not None:
        _check_series(settings.workspace / SERIES_FOLDER, report)
    left: dict[str, Standing] = {}
    if settings is not None:
        try:
            left = left_out(settings.workspace, list_id_of(settings))
        except AnnouncerError as exc:  # the same journal file: said once
            if str(exc) not in report.problems:
                report.problems.append(str(exc))
    _check_lists(lists, left, report)
    return report


def _check_series(folder: Path, report: CheckReport) -> None:
    """Each series file of the workspace, whether an event names it yet or not."""
    for path in sorted(folder.glob("*.yaml")):
        try:
            load_series(path)
        except InputError as exc:  # said once, though an event naming the series said it too
            report.problems.extend(problem for problem in exc.problems if problem not in report.problems)
            continue
        report.fine.append(display_path(path))


def _check_events(
    events: list[Path],
    defaults: EventDefaults,
    renderer: Renderer | None,
    sequences: Sequences | None,
    report: CheckReport,
) -> None:
    """Each event read and, with sound settings, rendered; warnings and problems into `report`."""
    for path in _event_paths(events, report):
        try:
            named = load_named(path, defaults)
            if renderer is not None and sequences is not None:
                render_invitation(renderer, named, sequences)
        except InputError as exc:
            report.problems.extend(exc.problems)
            continue
        except AnnouncerError as exc:  # a template that does not render
            report.problems.append(str(exc))
            continue
        report.warnings.extend(raw_html_warnings(path))
        if is_over(named.event):
            report.warnings.append(_past(path, named))
        if nowhere := _nowhere(path, named):
            report.warnings.append(nowhere)
        report.fine.append(display_path(path))


def _check_lists(lists: list[str], left: Mapping[str, Standing], report: CheckReport) -> None:
    """Each recipient list read in full, and whom of it sends leave out (see `audience`);
    warnings and problems into `report`."""
    for target in lists:
        try:
            recipients = open_recipients(target)
            checked = recipients.check()
        except InputError as exc:
            report.problems.extend(exc.problems)
            continue
        report.warnings.extend(checked.warnings)
        separated = ""
        if isinstance(recipients, RecipientList) and recipients.delimiter != ",":
            separated = f" ({DELIMITER_NAMES[recipients.delimiter]}-separated)"
        leaving = (
            Counter(left[key].state for r in recipients if (key := r.email.lower()) in left) if left else None
        )
        out = f"; sends leave out {left_out_words(leaving)}" if leaving else ""
        report.fine.append(f"{target}: {counted(checked.count, 'recipient')}{separated}{out}")


def count_replies(event_path: Path, mailbox: str, settings: Settings) -> tuple[NamedEvent, Tally]:
    """The answers to an event's invitation found in a mailbox (a path or an imaps:// URL),
    against what the journal says was sent."""
    named = load_named(event_path, settings.defaults)
    uid = event_uid(named.slug, settings.sender)
    with history(settings.workspace) as sequences:
        sequence = sent_sequence(uid, sequences)
    invited = [reader.email for reader in received(settings.workspace, uid)] or None
    opened = open_mailbox_of(settings, mailbox)
    try:
        return named, tally(read_replies(opened), uid, sequence, invited)
    finally:
        opened.close()


def open_mailbox_of(settings: Settings, mailbox: str) -> Mailbox:
    """The mailbox a verb reads: a path (relative to the current folder, as typed), or an
    imaps:// URL, trusted as `[inbox]` says."""
    inbox = settings.inbox
    ca_file = settings.workspace / inbox.ca_file if inbox and inbox.ca_file else None
    return open_mailbox(mailbox, ca_file=ca_file, timeout=inbox.timeout_seconds if inbox else 60)


def read_inbox(
    settings: Settings, mailbox: str, move_to: str | None, each: Callable[[Handled], None]
) -> InboxSummary:
    """`announcer inbox`: every message of the mailbox not handled before, sorted and handled."""
    opened = open_mailbox_of(settings, mailbox)
    try:
        if move_to is not None and (why := opened.can_move(move_to)):
            raise InputError([Problem("--move-to", why)])
        with AudienceFile(settings.workspace, list_id_of(settings)) as ledger:
            sent: dict[str, set[str]] | None = None

            def sent_to_once() -> dict[str, set[str]]:
                nonlocal sent
                sent = sent_to(settings.workspace) if sent is None else sent
                return sent

            listed = settings.list_
            naming = Naming(
                bounce_address=listed.bounce_address if listed else None,
                unsubscribe_url=settings.unsubscribe_url,
                address_of=ledger.address_of,
                sent_to=sent_to_once,
            )
            context = Context(
                naming,
                listed.unsubscribe_mailto if listed else None,
                settings.inbox.authserv_id if settings.inbox else None,
            )
            return handle_inbox(opened, ledger, context, move_to=move_to, each=each)
    finally:
        opened.close()


def event_history(event_path: Path, settings: Settings) -> list[Entry]:
    """Every journal line of one event, over all its real sends (the event file must be sound)."""
    named = load_named(event_path, settings.defaults)
    return journal_entries(settings.workspace, event_uid(named.slug, settings.sender))


def _event_paths(given: list[Path], report: CheckReport) -> list[Path]:
    """The event files named, a folder standing for the event files in it."""
    paths: list[Path] = []
    for path in given:
        if not path.is_dir():
            paths.append(path)
            continue
        try:
            paths.extend(event_files(path))
        except InputError as exc:
            report.problems.extend(exc.problems)
    return paths


def _nowhere(path: Path, named: NamedEvent) -> Problem | None:
    """An event with neither a place nor an online link: its readers would not know where to go
    (a series' venue counts; a misspelt series is refused before this)."""
    if named.event.venue is not None:
        return None
    return Problem(
        display_path(path), "says neither where it takes place nor how to join online: give it a venue"
    )


PAST_OPTION = "--past"  # the organiser's word that an event that is over goes out all the same


def _over(named: NamedEvent) -> str:
    ended = named.event.ends_at
    return f"the event is over (it ended {ended:%Y-%m-%d %H:%M} {ended.tzname()})"


def _past(path: Path, named: NamedEvent) -> Problem:
    """What `check` and a dry run say of an event that is over: a real send is refused without
    `PAST_OPTION` (see `_refuse_over`)."""
    return Problem(display_path(path), f"{_over(named)}; a real send needs {PAST_OPTION}")


SAMPLE_READER = Recipient("reader@example.org", "A. Reader")


def preflight(
    events: list[Path],
    reader: Recipient,
    settings: Settings,
    *,
    window: Window | None = None,
    lists: Iterable[str] = (),
    links: bool = False,
    spam: bool = True,
) -> list[Inspection]:
    """Each kind of message the events can become (the next send, the RSVP invitation, the
    cancellation; a digest of `window` for folders of events), composed for `reader` and
    inspected as mail clients and filters will see it; the next send again in each other
    language its readers (`lists`) or the settings ask for; the colours and each language's
    wording once. Inputs must be sound."""
    secret = unsubscribe_secret(settings) or "pre-flight"
    renderer = Renderer(Letterhead.of(settings))
    inspections = [Inspection("the colours ([brand] accent)", inspect_palette(settings))]
    accents = {settings.brand.accent}  # each palette inspected once
    asked: set[str] | None = set() if links else None  # each web address asked once a run

    def inspect(
        subject: str,
        content: RenderedContent,
        where: str,
        room: list[Room],
        sources: dict[str, str],
        *,
        first: bool,
        made_with: Settings = settings,
    ) -> None:
        """One message; SpamAssassin (seconds a message) scores each event's first kind only."""
        data = Composer(content, made_with.sender, made_with.list_, secret).compose(reader).data
        found = inspect_message(data, made_with, where, room, sources, asked=asked, spam=spam and first)
        inspections.append(Inspection(subject, found))

    languages = {settings.defaults.language} | _languages_of(lists)
    with history(settings.workspace) as sequences:
        for path in _event_paths(events, CheckReport()):
            named = load_named(path, settings.defaults)
            languages.add(named.event.language)
            where = display_path(path)
            own_settings = named.branded(settings)
            if own_settings.brand.accent not in accents:
                accents.add(own_settings.brand.accent)
                colours = f"the colours of series/{named.series_id}.yaml (brand accent)"
                inspections.append(Inspection(colours, inspect_palette(own_settings)))
            own = Renderer(Letterhead.of(own_settings)) if own_settings is not settings else renderer
            room, sources = event_room(named, where), event_sources(named, where, own_settings)
            following = next_edition(named, settings.sender, sequences)
            needs = ", ".join(word for word in (KINDS[following.kind].needs, _past_needs(named)) if word)
            kinds = [(KINDS[following.kind].label, following)]
            if not following.rsvp:
                kinds.append(("with --rsvp", next_edition(named, settings.sender, sequences, rsvp=True)))
            kinds.append((KINDS[Kind.CANCELLATION].label, cancellation(named, settings.sender, sequences)))
            for number, (label, edition) in enumerate(kinds):
                subject = f"{where}, {label}: {edition.kind} (SEQUENCE {edition.sequence})"
                if edition is following and needs:
                    subject += f", needs {needs}"
                content = own.render_event(named, edition)
                inspect(subject, content, where, room, sources, first=number == 0, made_with=own_settings)
            for lead in named.series.reminders if named.series else []:
                moment = named.event.starts_at - lead_time(lead)
                content = own.render_reminder(named, following, lead, moment)
                inspect(
                    f"{where}, {KINDS[Kind.REMINDER].label}: {lead} before",
                    content,
                    where,
                    room,
                    sources,
                    first=False,
                    made_with=own_settings,
                )
            if named.event.materials:  # after the talk
                content = own.render_materials(named, following)
                label = KINDS[Kind.MATERIALS].label
                inspect(
                    f"{where}, {label}", content, where, room, sources, first=False, made_with=own_settings
                )
            for language in sorted(languages - {named.event.language}):
                content = own.render_event(named, following, language)
                subject = f"{where}, {KINDS[following.kind].label} in {language}"
                inspect(subject, content, where, room, sources, first=False, made_with=own_settings)
        if window is not None:
            for folder in (path for path in events if path.is_dir()):
                listed = load_events(folder, settings.defaults)
                if in_window(listed, window):
                    content = render_window(renderer, window, listed, sequences)
                    where = display_path(folder)
                    subject = f"{where}: {KINDS[Kind.DIGEST].label} of {window.first}"
                    inspect(subject, content, where, [], {}, first=True)
    messages = source_messages() | template_messages(settings.workspace)
    for language in sorted(languages - {SOURCE}):
        inspections.append(Inspection(f"the wording in {language}", inspect_wording(language, messages)))
    return inspections


def _past_needs(named: NamedEvent) -> str | None:
    """The option the next real send of an event that is over needs (said by `check`)."""
    return PAST_OPTION if is_over(named.event) else None


def _languages_of(lists: Iterable[str]) -> set[str]:
    """The languages the readers of `lists` ask for in their `language` column."""
    return {language for to in lists for recipient in open_recipients(to) if (language := recipient.language)}
