"""The jobs the verbs run, each calling the pipeline's stages once, in order.

files → model (`load`) → rendered content (`render`) → messages (`compose`) → transport (`deliver`).
Nothing is sent unless every input is sound; expensive work happens once per event or digest.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from announcer import clock, prose
from announcer.compose.message import Composer, Outgoing
from announcer.deliver.delivery import Deliverer, Pace, Resend, Summary
from announcer.deliver.journal import Entry, Journal, delivery_key, history, journal_entries, received
from announcer.deliver.signing import Signer, dkim_signer
from announcer.deliver.transports import TransportName
from announcer.deliver.transports.base import Transport
from announcer.deliver.transports.dryrun import DryRunTransport
from announcer.deliver.transports.smtp import SMTPServer, SMTPTransport
from announcer.errors import AnnouncerError, InputError, Problem, RecipientsError, SettingsError
from announcer.languages import SOURCE, source_messages
from announcer.lifecycle import (
    Edition,
    Sequences,
    cancellation,
    current_edition,
    event_uid,
    is_over,
    next_edition,
    reminder_due,
    sent_sequence,
    snapshot_of,
)
from announcer.load.events import event_files, load_events, load_named, raw_html_warnings
from announcer.load.files import display_path
from announcer.load.recipients import DELIMITER_NAMES, Checked, RecipientList, open_recipients
from announcer.load.replies import read_replies
from announcer.load.secrets import (
    SMTP_PASSWORD_VARIABLE,
    dkim_key,
    secret_problems,
    smtp_password,
    unsubscribe_secret,
)
from announcer.load.series import SERIES_FOLDER, load_series
from announcer.model.event import EventDefaults, NamedEvent
from announcer.model.recipient import Recipient
from announcer.model.series import lead_time
from announcer.model.settings import Settings
from announcer.model.text import check_address
from announcer.model.window import Window, in_window
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


@dataclass(frozen=True)
class SendOptions:
    """How to send: through which transport, how fast, and whom to send to again."""

    transport: TransportName = TransportName.DRY_RUN
    outbox: Path = Path("outbox")
    resend: Resend = Resend.NOBODY
    per_minute: float | None = None
    test_to: str | None = None

    @property
    def journaled(self) -> bool:
        """Only a real send to the list is journaled: not a dry run, not a test send."""
        return self.transport is TransportName.SMTP and self.test_to is None


@dataclass(frozen=True)
class SendReport:
    """What a send did."""

    slug: str
    key: str
    recipients: int
    summary: Summary
    warnings: tuple[Problem, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Hooks:
    """How a send talks to its user: notices, and the progress of the run."""

    announce: Callable[[str], None] = lambda text: None
    start: Callable[[int], None] = lambda total: None
    advance: Callable[[], None] = lambda: None


def render_invitation(
    renderer: Renderer, named: NamedEvent, sequences: Sequences, language: str | None = None
) -> RenderedContent:
    """The invitation (or update) the next real send of this event would carry (in `language`)."""
    return renderer.render_event(named, next_edition(named, renderer.settings, sequences), language)


def render_current(
    renderer: Renderer, named: NamedEvent, sequences: Sequences, language: str | None = None
) -> RenderedContent:
    """What people have now: the cancellation of a cancelled event, else the next send's email."""
    return renderer.render_event(named, current_edition(named, renderer.settings, sequences), language)


def render_window(
    renderer: Renderer,
    window: Window,
    events: list[NamedEvent],
    sequences: Sequences,
    language: str | None = None,
) -> RenderedContent:
    """The digest of the events in `window`, each calendar at its invitation's current SEQUENCE."""
    listed = [
        (named, current_edition(named, renderer.settings, sequences)) for named in in_window(events, window)
    ]
    return render_digest(renderer, window, listed, language)


def send_invitation(
    event_path: Path,
    to: str | None,
    settings: Settings,
    options: SendOptions = SendOptions(),
    hooks: Hooks = Hooks(),
    *,
    rsvp: bool = False,
) -> SendReport:
    """One invitation per recipient of `to` (or its series' list); nothing is sent unless
    every input is sound.

    A real send (SMTP) is journaled: a re-run skips whoever already has the message, and a
    change of time or place since the last real send makes this one an update (SEQUENCE + 1).
    With `rsvp` (or after a real send with it) each reader is an ATTENDEE asked to answer.
    """
    named = load_named(event_path, settings.defaults)
    settings = _branded(named, settings)
    secret = unsubscribe_secret(settings)
    [audience] = _audiences([_list_of(named, to, settings, event_path)])
    if is_over(named.event):
        hooks.announce(str(_past(event_path, named)))
    with _sequences(settings, options) as (sequences, journal):
        edition = next_edition(named, settings, sequences, rsvp=rsvp)
        if edition.rsvp and not rsvp:
            hooks.announce("asking for replies (--rsvp), as an earlier real send of this event did")
        renderer = Renderer(settings)

        def make(language: str, told: bool) -> Composer:
            shown = edition if told else replace(edition, previous={})
            return Composer(renderer.render_event(named, shown, language), settings, secret)

        # Those who had the old version are told what changed; new readers are invited.
        earlier = frozenset(received(settings.workspace, edition.uid)) if edition.previous else frozenset()
        composer = _ByReader(settings, make, named.event.language, earlier)
        if journal is not None:
            _settle(journal, named, edition)
        key = delivery_key(edition.kind, edition.uid, edition.sequence)
        return _deliver(composer, key, audience, options, journal, hooks)


def _settle(journal: Journal, named: NamedEvent, edition: Edition) -> None:
    """Record the edition a real send carries, and what it tells of the event."""
    journal.settle_sequence(
        edition.uid,
        edition.sequence,
        edition.fingerprint,
        snapshot_of(named.event),
        edition.previous,
        rsvp=edition.rsvp,
    )


class _ByReader:
    """Each reader's message in their own language (their `language` column, else `language`) and,
    for an update, the update to those who had an earlier version and an invitation to the others.
    Each kind is rendered the first time a reader needs it, and once."""

    def __init__(
        self,
        settings: Settings,
        make: Callable[[str, bool], Composer],
        language: str,
        earlier: frozenset[str] = frozenset(),
    ) -> None:
        self.settings = settings
        self._make = make
        self._language = language
        self._earlier = earlier  # the addresses (lowercase) the journal says had the event
        self._made: dict[tuple[str, bool], Composer] = {}
        self._making = threading.Lock()  # several connections compose at once

    def composer(self, language: str, told: bool) -> Composer:
        """The composer of the messages in `language`, for readers told of the event before or not."""
        made = self._made.get((language, told))
        if made is not None:  # every reader but the first of each kind: no lock to take
            return made
        with self._making:
            if (language, told) not in self._made:
                self._made[language, told] = self._make(language, told)
            return self._made[language, told]

    @property
    def content(self) -> RenderedContent:
        """The content most readers get: in the event's language (an update, if it is one)."""
        return self.composer(self._language, bool(self._earlier)).content

    def compose(self, recipient: Recipient, *, deliver_to: str | None = None) -> Outgoing:
        language = recipient.fields.get("language") or self._language
        told = recipient.email.lower() in self._earlier
        return self.composer(language, told).compose(recipient, deliver_to=deliver_to)


def send_cancellation(
    event_path: Path,
    to: str | None,
    settings: Settings,
    options: SendOptions = SendOptions(),
    hooks: Hooks = Hooks(),
) -> SendReport:
    """The cancellation of an event: METHOD:CANCEL, its UID, SEQUENCE raised.

    By default to everyone the journal says received (or may have received) the event.
    """
    named = load_named(event_path, settings.defaults)
    settings = _branded(named, settings)
    secret = unsubscribe_secret(settings)
    with _sequences(settings, options) as (sequences, journal):
        edition = cancellation(named, settings, sequences)
        audience = _Audience.of(to) if to else _Audience.from_journal(settings, edition.uid, event_path)
        renderer = Renderer(settings)
        composer = _ByReader(
            settings,
            lambda language, told: Composer(
                renderer.render_event(named, edition, language), settings, secret
            ),
            named.event.language,
        )
        if journal is not None:
            _settle(journal, named, edition)
        key = delivery_key(edition.kind, edition.uid, edition.sequence)
        return _deliver(composer, key, audience, options, journal, hooks)


def send_digest(
    events_dir: Path,
    window: Window,
    to: str,
    settings: Settings,
    options: SendOptions = SendOptions(),
    hooks: Hooks = Hooks(),
    *,
    allow_empty: bool = False,
) -> SendReport | None:
    """One digest of the events starting in `window`; None (nothing sent) when there are none.

    Each event's calendar carries the UID and SEQUENCE of its own invitation, so adding it from
    the digest and from the invitation gives one calendar entry.
    """
    secret = unsubscribe_secret(settings)
    events = load_events(events_dir, settings.defaults)
    if not in_window(events, window) and not allow_empty:
        return None
    audience = _Audience.of(to)
    with _sequences(settings, options) as (sequences, journal):
        renderer = Renderer(settings)
        composer = _ByReader(
            settings,
            lambda language, told: Composer(
                render_window(renderer, window, events, sequences, language), settings, secret
            ),
            settings.defaults.language,
        )
        key = delivery_key("digest", composer.content.uid, 0)
        return _deliver(composer, key, audience, options, journal, hooks)


def send_reminders(
    events_dir: Path,
    within: timedelta,
    to: str | None,
    settings: Settings,
    options: SendOptions = SendOptions(),
    hooks: Hooks = Hooks(),
) -> list[SendReport]:
    """A short reminder of each event that has one due (see `reminder_due`): of the events whose
    series asks for reminders, to the series' list, or of every event, to `to`. Journaled like
    any real send, so each reader gets each kind once; never for a cancelled event. Nothing is
    sent unless every due event has a sound list."""
    secret = unsubscribe_secret(settings)
    now = clock.utc_now()
    events = load_events(events_dir, settings.defaults)
    asked = [named for named in events if to or (named.series and named.series.reminders)]
    due = [(named, lead) for named in asked if (lead := reminder_due(named, now, within))]
    reports = []
    with _sequences(settings, options) as (sequences, journal):
        editions = [(named, lead, current_edition(named, settings, sequences)) for named, lead in due]
        editions = [item for item in editions if item[2].kind != "cancellation"]
        audiences = _audiences([_list_of(named, to, settings, events_dir) for named, _, _ in editions])
        for (named, lead, edition), audience in zip(editions, audiences, strict=True):
            renderer = Renderer(_branded(named, settings))
            composer = _ByReader(
                renderer.settings,
                _reminder(renderer, named, edition, lead, now, secret),
                named.event.language,
            )
            key = delivery_key(f"reminder-{lead}", edition.uid, 0)  # once per kind, whatever moves
            reports.append(_deliver(composer, key, audience, options, journal, hooks))
            if reports[-1].summary.journal_error is not None:  # the next cannot be journaled either
                break
    return reports


def _reminder(
    renderer: Renderer, named: NamedEvent, edition: Edition, lead: str, now: datetime, secret: str | None
) -> Callable[[str, bool], Composer]:
    """How a reminder's composer is made in a language, worded as of `now`."""
    return lambda language, _told: Composer(
        renderer.render_reminder(named, edition, lead, now, language), renderer.settings, secret
    )


def _branded(named: NamedEvent, settings: Settings) -> Settings:
    """The settings an event's emails are made with: its series' brand over the workspace's."""
    return named.series.branded(settings) if named.series else settings


def _list_of(named: NamedEvent, to: str | None, settings: Settings, where: Path) -> str | Problem:
    """Whom an event's messages go to: `to` if given, else its series' list."""
    if to:
        return to
    if named.series and named.series.to:
        written = named.series.to
        return written if "@" in written else str(settings.workspace / written)
    message = f"{named.slug}: no one to send it to: give its series a `to:` list, or name one with --to"
    return Problem(display_path(where), message)


def _audiences(lists: list[str | Problem]) -> list[_Audience]:
    """Each list read in full, or every problem at once: a bad list sends nothing at all."""
    problems = [item for item in lists if isinstance(item, Problem)]
    if problems:
        raise RecipientsError(problems)
    return [_Audience.of(item) for item in lists if isinstance(item, str)]


def build_site(events_dir: Path, out: Path, settings: Settings) -> list[Path]:
    """The static site of a folder of events (see `render.site`), written into `out`: each file
    replaced whole, so a reader never gets half a page."""
    paths = event_files(events_dir)
    events = load_events(events_dir, settings.defaults)
    now = clock.utc_now()
    groups: dict[str, list[Listed]] = {}
    with history(settings.workspace) as sequences:
        for path, named in zip(paths, events, strict=True):
            changed = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            listed = Listed(named, current_edition(named, settings, sequences), changed)
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
        for file in Site(Renderer(_branded(named, settings)), now, base).files(pages):
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
    settings = _branded(named, settings)
    with history(settings.workspace) as sequences:
        content = render_invitation(Renderer(settings), named, sequences)
    html, text = Composer(content, settings, None).personalised(None)
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
    renderer = Renderer(settings) if settings is not None else None
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
    _check_lists(lists, report)
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
        report.fine.append(display_path(path))


def _check_lists(lists: list[str], report: CheckReport) -> None:
    """Each recipient list read in full; warnings and problems into `report`."""
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
        report.fine.append(f"{target}: {counted(checked.count, 'recipient')}{separated}")


def count_replies(event_path: Path, mailbox: Path, settings: Settings) -> tuple[NamedEvent, Tally]:
    """The answers to an event's invitation found in a mailbox, against what the journal says was sent."""
    named = load_named(event_path, settings.defaults)
    uid = event_uid(named.slug, settings)
    with history(settings.workspace) as sequences:
        sequence = sent_sequence(uid, sequences)
    invited = received(settings.workspace, uid) or None
    return named, tally(read_replies(mailbox), uid, sequence, invited)


def event_history(event_path: Path, settings: Settings) -> list[Entry]:
    """Every journal line of one event, over all its real sends (the event file must be sound)."""
    named = load_named(event_path, settings.defaults)
    return journal_entries(settings.workspace, event_uid(named.slug, settings))


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


def _past(path: Path, named: NamedEvent) -> Problem:
    ended = named.event.ends_at
    return Problem(
        display_path(path), f"the event is over (it ended {ended:%Y-%m-%d %H:%M} {ended.tzname()})"
    )


@dataclass(frozen=True)
class _Audience:
    """The recipients of `--to`: read in full once, so that a bad list sends nothing, then streamed."""

    recipients: Iterable[Recipient]
    checked: Checked

    @classmethod
    def of(cls, to: str) -> _Audience:
        recipients = open_recipients(to)
        return cls(recipients, recipients.check())

    @classmethod
    def from_journal(cls, settings: Settings, uid: str, event_path: Path) -> _Audience:
        """Everyone who has (or may have) the event, as the journal says."""
        addresses = received(settings.workspace, uid)
        if not addresses:
            message = "nobody has received it yet (dry runs are not journaled): name whom to tell with --to"
            raise RecipientsError([Problem(display_path(event_path), message)])
        return cls([Recipient(address) for address in addresses], Checked(len(addresses), ()))


@contextmanager
def _sequences(settings: Settings, options: SendOptions) -> Iterator[tuple[Sequences, Journal | None]]:
    """Where SEQUENCEs are read, and the journal to record in: the journal, locked, for a real
    send; for dry and test runs the journal read as it is, and nothing recorded."""
    if options.journaled:
        with Journal(settings.workspace) as journal:
            yield journal, journal
    else:
        with history(settings.workspace) as sequences:
            yield sequences, None


def _deliver(
    composer: _ByReader,
    key: str,
    audience: _Audience,
    options: SendOptions,
    journal: Journal | None,
    hooks: Hooks,
) -> SendReport:
    """Stream one message per recipient (only the first, for a test send) into the transport."""
    settings, content = composer.settings, composer.content
    test_to = _test_address(options.test_to)
    transport = _transport(settings, options, f"{content.slug}-test" if test_to else content.slug)
    smtp = settings.smtp
    pace = (
        Pace(smtp.retries, smtp.retry_delay_seconds, options.per_minute, smtp.give_up_after)
        if smtp
        else Pace(per_minute=options.per_minute)
    )
    total = 1 if test_to else audience.checked.count
    deliverer = Deliverer(
        transport,
        lambda recipient: composer.compose(recipient, deliver_to=test_to),
        journal=journal,
        key=key,
        pace=pace,
        resend=options.resend,
        processes=_processes(total, options, settings),
    )
    hooks.start(total)
    summary = deliverer.deliver_all(
        itertools.islice(audience.recipients, total), announce=hooks.announce, advance=hooks.advance
    )
    return SendReport(content.slug, key, total, summary, audience.checked.warnings)


FORK_FROM = 500  # recipients from which a dry run uses every core (the benchmark shows it pays)


def _processes(total: int, options: SendOptions, settings: Settings) -> int:
    """How many processes send: for a dry run one per core for a long list; over SMTP one per
    connection (threads instead when a pace is kept: it is shared); else one."""
    if options.per_minute or total < 2:
        return 1
    if options.transport is TransportName.DRY_RUN:
        return min(os.cpu_count() or 1, 8) if total >= FORK_FROM else 1
    return min(settings.smtp.connections, total) if settings.smtp else 1


def _transport(settings: Settings, options: SendOptions, folder: str) -> Transport:
    """The transport the options name, with its secrets read from the environment."""
    if options.transport is TransportName.DRY_RUN:
        return DryRunTransport(options.outbox, folder)
    smtp = settings.smtp
    if smtp is None:
        raise SettingsError([Problem("announcer.toml", "add an [smtp] table to send with --transport smtp")])
    server = SMTPServer(
        host=smtp.host,
        port=smtp.port,
        security=smtp.security,
        username=smtp.username,
        password=smtp_password(settings),
        password_variable=SMTP_PASSWORD_VARIABLE,
        ca_file=settings.workspace / smtp.ca_file if smtp.ca_file else None,
        timeout_seconds=smtp.timeout_seconds,
        deadline_seconds=smtp.deadline_seconds,
    )
    return SMTPTransport(
        server, envelope_sender=settings.sender.email, signer=_signer(settings), connections=smtp.connections
    )


def _signer(settings: Settings) -> Signer | None:
    """DKIM signing as `[dkim]` sets it up, or None."""
    key = dkim_key(settings)
    if settings.dkim is None or key is None:
        return None
    try:
        return dkim_signer(settings.dkim.domain, settings.dkim.selector, key)
    except ValueError as exc:
        raise SettingsError([Problem("announcer.toml", str(exc), field="[dkim]")]) from None


def _test_address(address: str | None) -> str | None:
    """`--test-to`, checked like any recipient."""
    if address is None:
        return None
    try:
        return check_address(address)
    except ValueError as exc:
        raise RecipientsError([Problem("--test-to", str(exc))]) from None


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
    renderer = Renderer(settings)
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
        data = Composer(content, made_with, secret).compose(reader).data
        found = inspect_message(data, made_with, where, room, sources, asked=asked, spam=spam and first)
        inspections.append(Inspection(subject, found))

    languages = {settings.defaults.language} | _languages_of(lists)
    with history(settings.workspace) as sequences:
        for path in _event_paths(events, CheckReport()):
            named = load_named(path, settings.defaults)
            languages.add(named.event.language)
            where = display_path(path)
            branded = _branded(named, settings)
            if branded.brand.accent not in accents:
                accents.add(branded.brand.accent)
                colours = f"the colours of series/{named.series_id}.yaml (brand accent)"
                inspections.append(Inspection(colours, inspect_palette(branded)))
            own = Renderer(branded) if branded is not settings else renderer
            room, sources = event_room(named, where), event_sources(named, where, branded)
            kinds = [("the next send", next_edition(named, settings, sequences))]
            if not kinds[0][1].rsvp:
                kinds.append(("with --rsvp", next_edition(named, settings, sequences, rsvp=True)))
            kinds.append(("announcer cancel", cancellation(named, settings, sequences)))
            for number, (label, edition) in enumerate(kinds):
                subject = f"{where}, {label}: {edition.kind} (SEQUENCE {edition.sequence})"
                content = own.render_event(named, edition)
                inspect(subject, content, where, room, sources, first=number == 0, made_with=branded)
            for lead in named.series.reminders if named.series else []:
                moment = named.event.starts_at - lead_time(lead)
                content = own.render_reminder(named, kinds[0][1], lead, moment)
                inspect(
                    f"{where}, announcer remind: {lead} before",
                    content,
                    where,
                    room,
                    sources,
                    first=False,
                    made_with=branded,
                )
            for language in sorted(languages - {named.event.language}):
                content = own.render_event(named, kinds[0][1], language)
                subject = f"{where}, the next send in {language}"
                inspect(subject, content, where, room, sources, first=False, made_with=branded)
        if window is not None:
            for folder in (path for path in events if path.is_dir()):
                listed = load_events(folder, settings.defaults)
                if in_window(listed, window):
                    content = render_window(renderer, window, listed, sequences)
                    where = display_path(folder)
                    inspect(f"{where}: the digest of {window.first}", content, where, [], {}, first=True)
    messages = source_messages() | template_messages(settings.workspace)
    for language in sorted(languages - {SOURCE}):
        inspections.append(Inspection(f"the wording in {language}", inspect_wording(language, messages)))
    return inspections


def _languages_of(lists: Iterable[str]) -> set[str]:
    """The languages the readers of `lists` ask for in their `language` column."""
    return {
        language
        for to in lists
        for recipient in open_recipients(to)
        if (language := recipient.fields.get("language"))
    }
