"""The command line: thin verbs over the modules; the only place errors become exit codes."""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import logging
import sys
import threading
import webbrowser
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from announcer import __version__, clock
from announcer.audience.csvfile import export as export_audience
from announcer.audience.csvfile import import_csv as import_audience
from announcer.audience.ledger import (
    Audience,
    AudienceLedger,
    How,
    Standing,
    left_out,
    left_out_words,
    list_id_of,
)
from announcer.deliver.delivery import Resend, per_minute
from announcer.deliver.ledger import Entry, Outcome
from announcer.deliver.transports import TRANSPORTS, TransportName
from announcer.errors import AnnouncerError, DeliveryError, InputError, Problem
from announcer.help_text import NamedArguments
from announcer.hosts import is_loopback
from announcer.importer import import_announcement
from announcer.inbox.run import Handled
from announcer.inbox.sorter import Kind
from announcer.jobs import (
    PAST_OPTION,
    SAMPLE_READER,
    CheckReport,
    Hooks,
    SendOptions,
    SendReport,
    build_site,
    check_inputs,
    count_replies,
    event_history,
    preflight,
    read_inbox,
    render_files,
    send_cancellation,
    send_digest,
    send_invitation,
    send_materials,
    send_reminders,
)
from announcer.load.recipients import open_recipients
from announcer.load.settings import load_settings
from announcer.model.event import FIRST_YEAR, LAST_YEAR, EventDefaults, zone_named
from announcer.model.named import NamedEvent
from announcer.model.reply import Answer
from announcer.model.series import clock_time, lead_time, lead_value
from announcer.model.settings import Settings
from announcer.model.text import check_address, excerpt, shown_safely
from announcer.model.window import Window
from announcer.paths import display_path
from announcer.preflight import Inspection, Level
from announcer.render.wording import Schedule, counted, date_range
from announcer.replies import Tally
from announcer.spreadsheet import write_rows
from announcer.starter import new_event, start_workspace
from announcer.state_move import export_state, import_state

EXIT_BAD_INPUT = 1
EXIT_DELIVERY_FAILED = 3
EXIT_LEFT_OUT = 4  # the work was done, but something was left out that needs a look

app = typer.Typer(
    cls=NamedArguments,
    help="Turn event announcements into emails people are glad to receive.",
    epilog=(
        "Exit status: 0 done; 1 bad input (nothing was sent); 2 wrong usage; 3 some deliveries "
        "failed or are newly in doubt; 4 done, but something needs a look, named on stderr (remind, "
        "digest, site: an event file that could not be read, left out; inbox: messages left alone)."
    ),
    rich_markup_mode=None,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config", help="The settings file; its folder is the workspace.", dir_okay=False, metavar="FILE"
    ),
]
EventArgument = Annotated[Path, typer.Argument(help="An event file (YAML).", dir_okay=False, metavar="EVENT")]
EventsDirArgument = Annotated[
    Path | None,
    typer.Argument(
        help="The folder of event files (default: the workspace's events/).",
        file_okay=False,
        metavar="EVENTS_DIR",
        show_default=False,
    ),
]


def _warn(problem: Problem | str) -> None:
    typer.echo(f"warning: {problem}", err=True)


class _Warnings(logging.Handler):
    """What announcer logs as it works (a workspace template reading a deprecated name), said
    on stderr as the verbs say their own warnings."""

    def emit(self, record: logging.LogRecord) -> None:
        _warn(record.getMessage())


logging.getLogger("announcer").addHandler(_Warnings(logging.WARNING))


class _LeftOut:
    """The event files a verb working through a folder left out (a draft, a broken file): each
    problem named on stderr as it is found, and exit status 4 once the work that was due is done,
    so that cron tells someone to look."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def __call__(self, problem: Problem) -> None:
        typer.echo(f"skipped: {problem}", err=True)
        self.problems.append(problem)

    def exit(self) -> None:
        """Exit 4 if a file was left out (after the verb has said everything else)."""
        if not self.problems:
            return
        files = list(dict.fromkeys(problem.source for problem in self.problems))
        _warn(
            f"left out {counted(len(files), 'event file')} that cannot be read ({', '.join(files)}); "
            "the rest was done: finish or fix them (announcer check names each problem)"
        )
        raise typer.Exit(EXIT_LEFT_OUT)


@contextmanager
def _exit_codes() -> Iterator[None]:
    """Turn announcer's errors into messages on stderr and the contract's exit codes."""
    try:
        yield
    except InputError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except AnnouncerError as exc:  # templates, the journal, delivery
        typer.echo(f"error: {exc}", err=True)
        code = EXIT_DELIVERY_FAILED if isinstance(exc, DeliveryError) else EXIT_BAD_INPUT
        raise typer.Exit(code) from None
    except OSError as exc:  # the file system said no: a folder that cannot be made, a read-only disk
        where = display_path(Path(exc.filename)) if isinstance(exc.filename, str) else "a file"
        typer.echo(f"error: {shown_safely(where, 300)}: {exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except KeyboardInterrupt:  # the second Ctrl-C: stopped at once
        _warn(
            "stopped at once: the message in hand may be in doubt (`announcer status` says); "
            "run the same command again to send the rest"
        )
        raise typer.Exit(EXIT_DELIVERY_FAILED) from None


@app.command(short_help="Validate the inputs, then inspect every kind of message.")
def check(
    events: Annotated[
        list[Path],
        typer.Argument(
            help="Event files, or folders of them, to check.", metavar="EVENT", show_default=False
        ),
    ],
    to: Annotated[
        list[str] | None,
        typer.Option("--to", help="Recipient lists (CSV) or addresses to check.", metavar="LIST"),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="Also inspect the digest of the week from DATE (YYYY-MM-DD).", metavar="DATE"
        ),
    ] = None,
    links: Annotated[
        bool, typer.Option("--links", help="Also check that every web address in the messages answers.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the report as JSON, for scripts and CI.")
    ] = False,
    today: TodayOption = None,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Validate events, recipients and settings, then inspect each kind of message before anyone
    gets it: size against Gmail's clip, images, links, calendar, headers, colours, spam score."""
    settings: Settings | None = None
    settings_problems: list[Problem] = []
    try:
        settings = load_settings(config)
    except InputError as exc:
        settings_problems.extend(exc.problems)
    with _as_if(today, settings) if settings else contextlib.nullcontext():
        _check(events, to, from_, links, as_json, settings, settings_problems)


def _check(
    events: list[Path],
    to: list[str] | None,
    from_: str | None,
    links: bool,
    as_json: bool,
    settings: Settings | None,
    settings_problems: list[Problem],
) -> None:
    """`check` once the settings are read (or found wanting)."""
    report = check_inputs(events, to or [], settings)
    problems = [*settings_problems, *report.problems]
    inspections: list[Inspection] = []
    if settings is not None and not problems and report.fine:
        window = Window(first, 7) if (first := _day(from_)) else None
        with _exit_codes():
            reader = next(iter(open_recipients(to[0])), SAMPLE_READER) if to else SAMPLE_READER
            inspections = preflight(events, reader, settings, window=window, lists=to or [], links=links)
    if as_json:
        typer.echo(json.dumps(_check_json(report, problems, inspections), ensure_ascii=False, indent=2))
    else:
        _print_check(report, problems, inspections)
    if problems or any(inspection.errors for inspection in inspections):
        raise typer.Exit(EXIT_BAD_INPUT)


def _print_check(report: CheckReport, problems: list[Problem | str], inspections: list[Inspection]) -> None:
    for warning in report.warnings:
        _warn(warning)
    for fine in report.fine:
        typer.echo(f"ok: {fine}")
    for problem in problems:
        typer.echo(f"error: {problem}", err=True)
    for inspection in inspections:
        typer.echo(f"\npre-flight: {inspection.subject}")
        for finding in inspection.findings:
            typer.echo(f"  {finding.level.value:<8} {finding}")
    if inspections:
        errors = sum(inspection.errors for inspection in inspections)
        warnings = sum(f.level is Level.WARNING for inspection in inspections for f in inspection.findings)
        inputs = (
            f" (and {counted(len(report.warnings), 'warning')} on the inputs, above)"
            if report.warnings
            else ""
        )
        typer.echo(f"\npre-flight: {counted(errors, 'error')}, {counted(warnings, 'warning')}{inputs}")


def _check_json(
    report: CheckReport, problems: list[Problem | str], inspections: list[Inspection]
) -> dict[str, object]:
    return {
        "ok": not problems and not any(inspection.errors for inspection in inspections),
        "inputs": {
            "fine": report.fine,
            "warnings": [str(warning) for warning in report.warnings],
            "errors": [str(problem) for problem in problems],
        },
        "messages": [
            {
                "message": inspection.subject,
                "findings": [
                    {"level": f.level.value, "check": f.check, "message": f.message, "change": f.fix}
                    for f in inspection.findings
                ],
            }
            for inspection in inspections
        ],
    }


@app.command(short_help="Write a new event file of a series.")
def new(
    series: Annotated[
        str, typer.Argument(help="The series' id: its file is series/<id>.yaml.", metavar="SERIES")
    ],
    day: Annotated[str, typer.Option("--date", help="The day of the talk, YYYY-MM-DD.", metavar="DAY")],
    title: Annotated[str | None, typer.Option(help="The talk's title.", metavar="TITLE")] = None,
    at: Annotated[
        str | None,
        typer.Option("--time", help="Its start, HH:MM (default: the series' usual time).", metavar="TIME"),
    ] = None,
    events_dir: Annotated[
        Path, typer.Option("--events", help="The folder of event files.", file_okay=False, metavar="DIR")
    ] = Path("events"),
) -> None:
    """Write a new event file of a series: its usual slot filled in, the rest for you to write."""
    if at is not None:
        try:
            at = clock_time(at)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--time") from None
    when = _day(day, "--date")
    assert when is not None
    with _exit_codes():
        path, warnings = new_event(events_dir, series, when, title, at)
    for warning in warnings:
        _warn(warning)
    shown = display_path(path)
    typer.echo(f"wrote {shown}: write the speakers and the abstract, then announcer check {shown}")


@app.command("import", short_help="Turn an announcement someone sent into an event file.")
def import_(
    source: Annotated[
        str,
        typer.Argument(
            help="The announcement: a text, .eml, .ics or .html file, - for what you paste,"
            " or a web address (with --fetch).",
            metavar="SOURCE",
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="The event file to write (default: events/<date>-<slug>.yaml).",
            dir_okay=False,
            metavar="FILE",
        ),
    ] = None,
    series: Annotated[
        str | None, typer.Option(help="The series' id: series/<id>.yaml.", metavar="ID")
    ] = None,
    year: Annotated[
        int | None,
        typer.Option(
            help="The year of a date written without one (default: its next occurrence).",
            min=FIRST_YEAR,
            max=LAST_YEAR,
            metavar="YYYY",
        ),
    ] = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            help="The time zone the times are in, unless the text names one (default: the workspace's).",
            metavar="TZ",
        ),
    ] = None,
    fetch: Annotated[bool, typer.Option("--fetch", help="Fetch SOURCE when it is a web address.")] = False,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Turn an announcement (text, email, calendar or web page) into an event file: what it says
    filled in, a # TODO with the candidate lines for each field it does not settle."""
    if timezone is not None:
        try:
            zone_named(timezone)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--timezone") from None
    with _exit_codes():
        settings = load_settings(config) if config.exists() else None
        imported = import_announcement(
            source,
            workspace=settings.workspace if settings else Path("."),
            defaults=settings.defaults if settings else EventDefaults(),
            output=output,
            series_id=series,
            year=year,
            timezone=timezone,
            fetch=fetch,
            stdin=sys.stdin.buffer,
        )
    for warning in imported.warnings:
        _warn(shown_safely(warning, 300))
    shown = display_path(imported.path)
    todo = (
        f"write {', '.join(imported.todos)} (the # TODO lines), then "
        if imported.todos
        else "read it through, then "
    )
    typer.echo(f"wrote {shown}: {todo}announcer check {shown}")


@app.command(short_help="Start a workspace of your own.")
def init(
    folder: Annotated[Path, typer.Argument(help="The new workspace's folder.", metavar="DIR")] = Path("."),
    timezone: Annotated[
        str | None, typer.Option(help="Its events' time zone (default: this machine's).", metavar="ZONE")
    ] = None,
) -> None:
    """Start a workspace of your own: commented settings, an example event, a recipients file."""
    with _exit_codes():
        workspace = start_workspace(folder, timezone)
        typer.echo(f"wrote {', '.join(display_path(path) for path in workspace.written)}")
        for note in workspace.notes:
            typer.echo(note)
        event = workspace.event.relative_to(folder)
        typer.echo(
            "next: "
            + (f"cd {display_path(folder)} && " if folder != Path(".") else "")
            + f"announcer check {event} --to recipients/list.csv, then announcer preview {event}"
        )


@app.command(short_help="Write an event's HTML, text and calendar as files.")
def render(
    event: EventArgument,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for the files.", file_okay=False, metavar="DIR")
    ] = Path("."),
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Write the event's HTML, plain text and calendar as <slug>.html, .txt and .ics."""
    with _exit_codes():
        written = render_files(event, load_settings(config), output)
        names = ", ".join(path.name for path in written[:-1]) + f" and {written[-1].name}"
        typer.echo(f"wrote {names} to {display_path(output)}")


def _rate(value: str | None) -> float | None:
    """`--rate 120/min` (or `2/s`, `5000/h`) as messages per minute."""
    if value is None:
        return None
    try:
        rate = per_minute(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--rate") from None
    return rate


ToOption = Annotated[str, typer.Option("--to", help="Recipients CSV, or a single address.", metavar="LIST")]
MAILBOX_HELP = (
    "Where the replies are: a Maildir folder, an mbox file, a folder of .eml files, or "
    "imaps://user@host/FOLDER (the password from ANNOUNCER_IMAP_PASSWORD)."
)
SeriesToOption = Annotated[
    str | None,
    typer.Option(
        "--to", help="Recipients CSV, or a single address (default: the series' list).", metavar="LIST"
    ),
]
TransportOption = Annotated[TransportName, typer.Option(help="How to deliver.")]
OutboxOption = Annotated[
    Path | None,
    typer.Option(
        help="Where a dry run writes (default: the workspace's outbox/).", file_okay=False, metavar="DIR"
    ),
]
ResendOption = Annotated[
    bool, typer.Option("--resend", help="Send again to everyone, even those who have it.")
]
ResendInDoubtOption = Annotated[
    bool, typer.Option("--resend-in-doubt", help="Send again to those an interrupted run left in doubt.")
]
RateOption = Annotated[
    str | None, typer.Option(help="At most this many messages, e.g. 120/min.", metavar="RATE")
]
TestToOption = Annotated[
    str | None,
    typer.Option("--test-to", help="Send only recipient #1's message, to this address.", metavar="ADDRESS"),
]
PastOption = Annotated[
    bool,
    typer.Option(PAST_OPTION, help="The event is over: send it for real all the same (refused without it)."),
]
TodayOption = Annotated[
    str | None,
    typer.Option(
        "--today",
        help="Act as if it were 09:00 on DATE (YYYY-MM-DD) in the settings' zone; dry runs only.",
        metavar="DATE",
    ),
]


def _options(
    transport: TransportName,
    outbox: Path | None,
    resend: bool,
    resend_in_doubt: bool,
    rate: str | None,
    test_to: str | None,
) -> SendOptions:
    return SendOptions(
        transport=transport,
        outbox=outbox or SendOptions().outbox,
        resend=Resend.EVERYONE if resend else Resend.IN_DOUBT if resend_in_doubt else Resend.NOBODY,
        per_minute=_rate(rate),
        test_to=test_to,
    )


def _of_workspace(given: Path | None, folder: str, settings: Settings) -> Path:
    """The folder given, as typed; else the workspace's own: with `--config elsewhere/announcer.toml`
    the events are read from, and the outbox and site written into, elsewhere/."""
    return given if given is not None else settings.workspace / folder


def _sending_from(settings: Settings, options: SendOptions, outbox: Path | None) -> SendOptions:
    """The options with their outbox: the one given, else the workspace's."""
    return replace(options, outbox=_of_workspace(outbox, "outbox", settings))


@app.command(short_help="Send an invitation to each recipient (a dry run by default).")
def send(
    event: EventArgument,
    to: SeriesToOption = None,
    transport: TransportOption = TransportName.DRY_RUN,
    outbox: OutboxOption = None,
    resend: ResendOption = False,
    resend_in_doubt: ResendInDoubtOption = False,
    rate: RateOption = None,
    test_to: TestToOption = None,
    rsvp: Annotated[
        bool,
        typer.Option(
            "--rsvp",
            help="Invite each reader as an attendee who answers Yes, Maybe or No (count them with rsvps).",
        ),
    ] = False,
    reinstate: Annotated[
        bool,
        typer.Option(
            "--reinstate",
            help="The event was cancelled and is back on: tell everyone so (refused without it).",
        ),
    ] = False,
    past: PastOption = False,
    today: TodayOption = None,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Send one invitation per recipient (by default a dry run into OUTBOX/<slug>/). A cancelled
    event is sent again only with --reinstate, an event that is over only with --past."""
    options = _options(transport, outbox, resend, resend_in_doubt, rate, test_to)
    with _exit_codes():
        settings = load_settings(config)
        options = _sending_from(settings, options, outbox)
        with _as_if(today, settings, options), _progress() as (start, advance):
            hooks = Hooks(_warn, start, advance)
            report = send_invitation(
                event, to, settings, options, hooks, rsvp=rsvp, reinstate=reinstate, past=past
            )
        _print_summary(report, options)


@app.command(short_help="Cancel an event: tell everyone who has it.")
def cancel(
    event: EventArgument,
    to: Annotated[
        str | None,
        typer.Option(
            "--to", help="Whom to tell (default: everyone the journal says has it).", metavar="LIST"
        ),
    ] = None,
    transport: TransportOption = TransportName.DRY_RUN,
    outbox: OutboxOption = None,
    resend: ResendOption = False,
    resend_in_doubt: ResendInDoubtOption = False,
    rate: RateOption = None,
    test_to: TestToOption = None,
    past: PastOption = False,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Cancel an event: a short message and a calendar (METHOD:CANCEL) that removes it (of an
    event that is over, only with --past)."""
    options = _options(transport, outbox, resend, resend_in_doubt, rate, test_to)
    with _exit_codes():
        settings = load_settings(config)
        options = _sending_from(settings, options, outbox)
        with _progress() as (start, advance):
            report = send_cancellation(event, to, settings, options, Hooks(_warn, start, advance), past=past)
        _print_summary(report, options)


@app.command(short_help="After the talk: send its slides, recording, papers.")
def materials(
    event: EventArgument,
    to: SeriesToOption = None,
    mailbox: Annotated[
        str | None,
        typer.Option(
            "--mailbox",
            help=f"Send to those who said yes. {MAILBOX_HELP}",
            metavar="PATH|URL",
            show_default=False,
        ),
    ] = None,
    transport: TransportOption = TransportName.DRY_RUN,
    outbox: OutboxOption = None,
    resend: ResendOption = False,
    resend_in_doubt: ResendInDoubtOption = False,
    rate: RateOption = None,
    test_to: TestToOption = None,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Send what the talk left behind (the event file's `materials:`), once to each reader: to
    those who said yes when the invitation asked (their answers in --mailbox), else to the list."""
    options = _options(transport, outbox, resend, resend_in_doubt, rate, test_to)
    with _exit_codes():
        settings = load_settings(config)
        options = _sending_from(settings, options, outbox)
        with _progress() as (start, advance):
            hooks = Hooks(_warn, start, advance)
            report = send_materials(event, to, settings, options, hooks, mailbox=mailbox)
        _print_summary(report, options)


@app.command(short_help="Send the reminders that are due (made for cron).")
def remind(
    events_dir: EventsDirArgument = None,
    within: Annotated[
        str,
        typer.Option(
            help="Remind of events starting within this time (26h, 90min, 2d); series say when.",
            metavar="TIME",
        ),
    ] = "26h",
    to: SeriesToOption = None,
    transport: TransportOption = TransportName.DRY_RUN,
    outbox: OutboxOption = None,
    rate: RateOption = None,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Send the reminders that are due, once per event and kind: of each talk whose series asks
    for them, to its list (or, with --to, of every event starting within --within). Made to run
    every few minutes from cron or a systemd timer: quiet when nothing is due.
    An event file that cannot be read (a draft, a broken file) is named and left out: exit 4."""
    options = _options(transport, outbox, False, False, rate, None)
    try:
        window = lead_time(lead_value(within))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--within") from None
    with _exit_codes():
        settings = load_settings(config)
        options = _sending_from(settings, options, outbox)
        events = _of_workspace(events_dir, "events", settings)
        left_out = _LeftOut()
        with _progress() as (start, advance):
            hooks = Hooks(_warn, start, advance, left_out)
            reports = send_reminders(events, window, to, settings, options, hooks)
        told = [report for report in reports if report.summary.delivered or not report.summary.complete]
        for report in told:  # every event's summary first (a run that finds all done is quiet)
            _print_summary(report, options, stop=False, named=True)
        if not all(report.summary.complete for report in told):
            raise typer.Exit(EXIT_DELIVERY_FAILED)
        left_out.exit()


@app.command(short_help="Write a static site, with calendar and Atom feeds.")
def site(
    events_dir: EventsDirArgument = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="The folder the site is written into (default: the workspace's site/).",
            file_okay=False,
            metavar="DIR",
        ),
    ] = None,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Write a static site: a page per event; a page, a calendar and an Atom feed per series.
    An event file that cannot be read (a draft, a broken file) is named and left out: exit 4."""
    with _exit_codes():
        settings = load_settings(config)
        events = _of_workspace(events_dir, "events", settings)
        into = _of_workspace(out, "site", settings)
        left_out = _LeftOut()
        written = build_site(events, into, settings, Hooks(skip=left_out))
    pages = sum(path.suffix == ".html" for path in written)
    feeds = sum(path.parent == into for path in written)
    typer.echo(f"wrote {counted(pages, 'page')} and {counted(feeds, 'feed')} to {display_path(into)}")
    left_out.exit()


@app.command(short_help="Send one digest of the coming days' events.")
def digest(
    to: ToOption,
    events_dir: EventsDirArgument = None,
    from_: Annotated[
        str | None,
        typer.Option(
            "--from", help="First day, YYYY-MM-DD (default: today, in the settings' zone).", metavar="DATE"
        ),
    ] = None,
    days: Annotated[
        int, typer.Option(help="How many days the digest covers.", min=1, max=366, metavar="N")
    ] = 7,
    allow_empty: Annotated[
        bool, typer.Option("--allow-empty", help="Send even when no event is due.")
    ] = False,
    transport: TransportOption = TransportName.DRY_RUN,
    outbox: OutboxOption = None,
    resend: ResendOption = False,
    resend_in_doubt: ResendInDoubtOption = False,
    rate: RateOption = None,
    test_to: TestToOption = None,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Send one digest of the events starting in the coming days (by default the next 7).
    An event file that cannot be read (a draft, a broken file) is named and left out: exit 4."""
    options = _options(transport, outbox, resend, resend_in_doubt, rate, test_to)
    first = _day(from_)
    with _exit_codes():
        settings = load_settings(config)
        options = _sending_from(settings, options, outbox)
        events = _of_workspace(events_dir, "events", settings)
        window = Window(first or settings.today(), days)
        left_out = _LeftOut()
        with _progress() as (start, advance):
            report = send_digest(
                events,
                window,
                to,
                settings,
                options,
                Hooks(_warn, start, advance, left_out),
                allow_empty=allow_empty,
            )
        if report is None:
            span = date_range(window.first, window.last)
            folder = display_path(events)
            typer.echo(f"no event in {folder}/ starts {span}: nothing sent (--allow-empty sends one anyway)")
        else:
            _print_summary(report, options)
        left_out.exit()


def _day(value: str | None, option: str = "--from") -> date | None:
    """A day the user typed; in the years an event may have (a window from year 9999 runs past
    the last date Python has)."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{excerpt(value)}: give a day like 2026-03-02", param_hint=option) from None
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        message = f"{excerpt(value)}: give a day in the years {FIRST_YEAR} to {LAST_YEAR}"
        raise typer.BadParameter(message, param_hint=option)
    return day


@contextmanager
def _as_if(today: str | None, settings: Settings, options: SendOptions | None = None) -> Iterator[None]:
    """The clock at 09:00 on `--today` in the settings' zone, for the run; a message that reaches
    people says when it really went, so only a dry run may pretend."""
    day = _day(today, "--today")
    if day is None:
        yield
        return
    if options is not None and TRANSPORTS[options.transport].reaches_people:
        message = "is for dry runs: a message sent for real says when it went"
        raise typer.BadParameter(message, param_hint="--today")
    with clock.as_if(datetime.combine(day, time(9), ZoneInfo(settings.defaults.timezone))):
        yield


@contextmanager
def _progress() -> Iterator[tuple[Callable[[int], None], Callable[[], None]]]:
    """A progress bar on a terminal; nothing in a pipe or a log."""
    if not sys.stderr.isatty():
        yield (lambda total: None), (lambda: None)
        return
    bar = Progress(
        TextColumn("sending"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = bar.add_task("send", total=None)
    with bar:
        yield (lambda total: bar.update(task, total=total)), (lambda: bar.advance(task))


def _print_summary(
    report: SendReport, options: SendOptions, *, stop: bool = True, named: bool = False
) -> None:
    """What happened, naming every recipient who did not get the message; exit 3 if any (unless
    told not to `stop`: the caller has more to say first). `named`: the line says which message
    it was (a run of several, such as remind's)."""
    for warning in report.warnings:
        _warn(warning)
    summary = report.summary
    if not TRANSPORTS[options.transport].reaches_people:
        done = (
            f"wrote {counted(summary.delivered, 'message')} to {display_path(options.outbox / report.slug)}"
        )
        if summary.delivered != report.recipients:
            done += f" (of {report.recipients})"
        done += "; a dry run: nothing was sent"
    else:
        done = f"sent {summary.delivered} of {report.recipients} by {options.transport.value.upper()}"
        done = f"{report.slug}: {done}" if named else done
    if options.test_to:
        done += f"; a test: recipient #1's message, for {options.test_to}, not journaled"
    parts = [done]
    if summary.skipped:
        parts.append(f"{summary.skipped} had it already")
    if summary.elsewhere:
        parts.append(f"{summary.elsewhere} taken by another run sharing the journal (announcer status)")
    if summary.in_doubt_before:
        parts.append(
            f"{summary.in_doubt_before} in doubt, reported by an earlier run "
            "(announcer status; --resend-in-doubt sends again)"
        )
    if report.left_out:
        parts.append(f"left out {left_out_words(report.left_out)} (announcer audience list)")
    typer.echo("; ".join(parts))
    for standing in report.left_out_named:
        typer.echo(f"left out: {standing.described()}")
    if (unnamed := sum(report.left_out.values()) - len(report.left_out_named)) > 0:
        typer.echo(f"left out: {unnamed} more (announcer audience list)")
    for address, reply in summary.failed:
        typer.echo(f"failed: {address}: {reply}", err=True)
    for address, reply in summary.in_doubt:
        typer.echo(f"in doubt: {address}: {reply}", err=True)
    if summary.in_doubt:
        _warn("a message in doubt may have arrived; check, then --resend-in-doubt to send it again")
        report.mark_told()  # told now: the next runs count it quietly
    if summary.gave_up:
        _warn(f"the server keeps failing ({summary.gave_up}): stopped; nothing was sent twice")
    if summary.interrupted:
        _warn("stopped before the end: run the same command again to send the rest")
    if stop and not summary.complete:
        raise typer.Exit(EXIT_DELIVERY_FAILED)


@app.command(short_help="Show what the journal says was sent to whom.")
def status(
    event: EventArgument,
    who: Annotated[
        bool, typer.Option("--who", help="Name every reader of each send: delivered, failed or in doubt.")
    ] = False,
    as_csv: Annotated[
        bool, typer.Option("--csv", help="Print one line per reader of each send, as CSV.")
    ] = False,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Print the journal for an event: delivered, failed and in doubt, send by send, and whom
    the list's sends leave out; with --who, every reader of each send."""
    with _exit_codes():
        settings = load_settings(config)
        entries = event_history(event, settings)
        if as_csv:
            write_rows(sys.stdout, STATUS_COLUMNS, map(_status_row, entries))
            return
        if left := left_out(settings.workspace, list_id_of(settings)):
            states = collections.Counter(standing.state for standing in left.values())
            typer.echo(f"the list: sends leave out {left_out_words(states)} (announcer audience list)")
        if not entries:
            typer.echo(
                f"{display_path(event)}: no message of it in the journal: dry runs and test sends are not "
                "journaled, and a real send that stopped before its first message (a wrong password, a "
                "server that could not be reached) sent nothing"
            )
            return
        for _key, rows in itertools.groupby(entries, key=lambda entry: entry.key):
            listed = list(rows)
            counts = collections.Counter(entry.outcome for entry in listed)
            typer.echo(
                f"{listed[0].kind} (SEQUENCE {listed[0].sequence}): {counts[Outcome.DELIVERED]} delivered, "
                f"{counts[Outcome.FAILED]} failed, {counts[Outcome.IN_FLIGHT]} in doubt"
            )
            senders = collections.Counter(entry.sender for entry in listed if entry.sender)
            if len(senders) > 1:  # a send shared by several machines: each one's part
                for sender, count in sorted(senders.items()):
                    typer.echo(f"  sent from {shown_safely(sender, 200)}: {count}")
            for entry in listed:
                if entry.outcome is not Outcome.DELIVERED:
                    said = f"{_reader_of(entry)}, {_at(entry.at)}: {shown_safely(entry.reply, 300)}"
                    typer.echo(f"  {_OUTCOME_WORDS[entry.outcome]}: {said}")
                elif who:
                    typer.echo(f"  delivered: {_reader_of(entry)}, {_at(entry.at)}")


_OUTCOME_WORDS = {Outcome.DELIVERED: "delivered", Outcome.FAILED: "failed", Outcome.IN_FLIGHT: "in doubt"}
STATUS_COLUMNS = ("kind", "sequence", "email", "name", "outcome", "at", "reply", "sent_from")


def _reader_of(entry: Entry) -> str:
    """A reader as the journal knows them: the address, and the name the list gave, if any."""
    return f"{entry.recipient} ({shown_safely(entry.name, 200)})" if entry.name else entry.recipient


def _at(moment: str) -> str:
    """A journal time (UTC, ISO 8601) to the minute, as a person reads it."""
    try:
        return f"{datetime.fromisoformat(moment).astimezone(UTC):%Y-%m-%d %H:%M} UTC"
    except ValueError:  # a line of a journal the machine's clock wrote oddly: as it is
        return shown_safely(moment, 40)


def _status_row(entry: Entry) -> tuple[object, ...]:
    return (
        entry.kind,
        entry.sequence,
        entry.recipient,
        entry.name,
        _OUTCOME_WORDS[entry.outcome],
        entry.at,
        entry.reply,
        entry.sender,
    )


@app.command(short_help="Count the answers to an --rsvp invitation.")
def rsvps(
    event: EventArgument,
    mailbox: Annotated[
        str,
        typer.Option(
            "--mailbox",
            help=MAILBOX_HELP,
            metavar="PATH|URL",
        ),
    ],
    as_csv: Annotated[bool, typer.Option("--csv", help="Print one line per answer, as CSV.")] = False,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Count the answers to an --rsvp invitation: yes, maybe and no, for the room and the lunch."""
    with _exit_codes():
        named, found = count_replies(event, mailbox, load_settings(config))
        if as_csv:
            _print_replies_csv(found)
        else:
            _print_replies(named, found)


def _print_replies(named: NamedEvent, found: Tally) -> None:
    schedule = Schedule.of(named.event)
    typer.echo(f"{named.event.title}: {schedule.date}, {schedule.times} {schedule.zone}")
    order = {answer: number for number, answer in enumerate(Answer)}
    for reply in sorted(found.answers.values(), key=lambda reply: (order[reply.answer], reply.attendee)):
        who = f"{reply.name} <{reply.attendee}>" if reply.name else reply.attendee
        said = f'  "{reply.comment}"' if reply.comment else ""
        typer.echo(f"  {reply.answer.words:<6} {who}{said}")
    counts = ", ".join(f"{found.count(answer)} {answer.words}" for answer in Answer if found.count(answer))
    typer.echo(f"{counted(len(found.answers), 'answer')}{': ' + counts if counts else ''}.")
    typer.echo(f"For the room: {found.room} (yes and maybe). For the lunch order: {found.lunch} (yes).")
    if (waiting := found.unanswered) is not None and found.invited is not None:
        typer.echo(f"No answer yet from {len(waiting)} of the {len(found.invited)} who received it.")
    notes = [
        *(
            f"{reply.attendee} answered an earlier version (SEQUENCE {reply.sequence}, "
            f"now {found.sequence}): the time or place has changed since"
            for reply in found.outdated
        ),
        *(f"{reply.attendee} is not among those who received the event" for reply in found.uninvited),
        *(f"{reply.source}: {reply.doubt}: not counted" for reply in found.forged),
        *([f"{counted(found.replaced, 'earlier answer')} replaced by a later one"] if found.replaced else []),
        *(
            [f"{counted(sum(found.other_events.values()), 'reply', 'replies')} for other events"]
            if found.other_events
            else []
        ),
        *(str(problem) for problem in found.problems),
    ]
    for note in notes:
        typer.echo(f"note: {note}")


def _print_replies_csv(found: Tally) -> None:
    header = ("email", "name", "answer", "answered_at", "sequence", "comment")
    rows = (
        (
            reply.attendee,
            reply.name,
            reply.answer.words,
            reply.stamp.isoformat(),
            reply.sequence,
            reply.comment,
        )
        for reply in sorted(found.answers.values(), key=lambda reply: reply.attendee)
    )
    write_rows(sys.stdout, header, rows)


@app.command(short_help="Read bounces, complaints, unsubscriptions and answers (for cron).")
def inbox(
    mailbox: Annotated[
        str | None,
        typer.Option(
            "--mailbox",
            help="A Maildir folder, an mbox file, a folder of .eml files, or an imaps:// URL.",
            metavar="PATH|URL",
        ),
    ] = None,
    imap: Annotated[
        str | None,
        typer.Option(
            "--imap",
            help="imaps://user@host[:port]/FOLDER (the password from ANNOUNCER_IMAP_PASSWORD).",
            metavar="URL",
        ),
    ] = None,
    move_to: Annotated[
        str | None,
        typer.Option(
            "--move-to",
            help="Move what was handled into this folder (of the Maildir, or of the IMAP account).",
            metavar="FOLDER",
        ),
    ] = None,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Read a mailbox once per message: bounces (DSNs) and complaints (ARF) count against the
    reader, unsubscriptions mailed to [list] unsubscribe_mailto are applied, automatic replies
    and RSVP answers are listed, anything else is left alone and listed. Nothing is deleted.

    Exit status 4: done, but something needs a look (listed with "look:")."""
    if (mailbox is None) == (imap is None):
        typer.echo("error: give --mailbox PATH or --imap URL (one of them)", err=True)
        raise typer.Exit(2)
    if imap is not None and not imap.lower().startswith("imaps://"):
        typer.echo("error: --imap takes imaps://user@host[:port]/FOLDER", err=True)
        raise typer.Exit(2)
    with _exit_codes():
        settings = load_settings(config)

        def say(handled: Handled) -> None:
            label = "look" if handled.verdict.look else handled.verdict.kind.value
            typer.echo(f"{label}: {handled.source}: {handled.verdict.kind.value}: {handled.verdict.detail}")

        summary = read_inbox(settings, mailbox or imap or "", move_to, say)
    found = ", ".join(
        counted(summary.counts[kind], kind.value, _PLURALS.get(kind)) for kind in Kind if summary.counts[kind]
    )
    total = counted(sum(summary.counts.values()), "new message")
    before = f"; {summary.before} handled before" if summary.before else ""
    moved = f"; moved {summary.moved} to {move_to}" if summary.moved else ""
    typer.echo(f"inbox: {total}{': ' + found if found else ''}{before}{moved}")
    if looks := summary.needs_look:
        _warn(f"{counted(looks, 'message needs', 'messages need')} a look (the lines marked look: above)")
        raise typer.Exit(EXIT_LEFT_OUT)


_PLURALS = {Kind.AUTO_REPLY: "automatic replies", Kind.OTHER: "other", Kind.UNREADABLE: "unreadable"}


@app.command(short_help="Show the emails in a browser while you edit.")
def preview(
    target: Annotated[
        Path,
        typer.Argument(
            help="An event file, or a folder of them (with their digest).", metavar="EVENT|EVENTS_DIR"
        ),
    ] = Path("events"),
    port: Annotated[
        int, typer.Option(help="The port to listen on (0: any free one).", min=0, max=65535, metavar="PORT")
    ] = 8800,
    host: Annotated[
        str | None,
        typer.Option(
            help="Listen elsewhere than 127.0.0.1 (others can then read the preview).", metavar="HOST"
        ),
    ] = None,
    to: Annotated[
        str | None,
        typer.Option(
            "--to",
            help="Show what recipient #1 of this list gets (default: the first CSV in recipients/).",
            metavar="LIST",
        ),
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="The digest's first day, YYYY-MM-DD.", metavar="DATE")
    ] = None,
    days: Annotated[
        int, typer.Option(help="How many days the digest covers.", min=1, max=366, metavar="N")
    ] = 7,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the preview in the default browser.")
    ] = False,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Show the emails in a browser, at phone and desktop width, light and dark; reload on save.

    Opens http://127.0.0.1:8800/ (see --port): each email exactly as recipient #1 of the list gets
    it, with its plain text, calendar and headers. Listens on this machine only. Ctrl-C stops it.
    """
    from announcer.preview.server import Preview, PreviewServer, Target  # only this verb needs it
    from announcer.serve.server import stopped_by_signals

    if not target.exists():
        typer.echo(
            f"error: {display_path(target)}: not found (give an event file or a folder of them)", err=True
        )
        raise typer.Exit(EXIT_BAD_INPUT)

    bind = host or "127.0.0.1"
    if host is not None and not is_loopback(host):
        _warn(f"listening on {host}: anyone who can reach this machine can read the preview")
    watcher = Preview(Target(target, config, to, _day(from_), days))
    try:
        server = PreviewServer(watcher, bind, port, any_host=host is not None and not is_loopback(host))
    except OSError as exc:
        typer.echo(f"error: cannot listen on {bind}:{port}: {exc.strerror} (choose another --port)", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    try:
        with stopped_by_signals(server.stop_soon):
            typer.echo(f"preview on {server.url}  (Ctrl-C stops)")
            if watcher.snapshot.error:
                _warn(watcher.snapshot.error)
            threading.Thread(target=watcher.watch, name="watch", daemon=True).start()
            if open_browser:
                webbrowser.open(server.url)
            server.serve_forever()
        typer.echo("stopped")
    finally:
        watcher.stop()
        server.server_close()


@app.command(short_help="Answer the unsubscribe URL, and serve the site.")
def serve(
    host: Annotated[
        str,
        typer.Option(
            help="The address to listen on (behind nginx or Caddy: this machine's).", metavar="HOST"
        ),
    ] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(help="The port to listen on (0: any free one).", min=0, max=65535, metavar="PORT")
    ] = 8000,
    site_dir: Annotated[
        Path | None,
        typer.Option(
            "--site",
            help="The folder `announcer site` writes (default: the workspace's site/).",
            file_okay=False,
            metavar="DIR",
        ),
    ] = None,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Answer [list] unsubscribe_url: a GET shows a page with one button and changes nothing; a
    POST (the button, or a mail client's one-click) unsubscribes at once, and the page offers to
    undo. Serves the site's pages and feeds too. Needs ANNOUNCER_UNSUBSCRIBE_SECRET. Ctrl-C stops it.
    """
    from announcer.serve.app import Service  # only this verb needs the web stack
    from announcer.serve.limits import DEFAULT_LIMITS
    from announcer.serve.server import listen, server, stopped_by_signals, url_of

    with _exit_codes():
        settings = load_settings(config)
        service = Service(settings, _of_workspace(site_dir, "site", settings), DEFAULT_LIMITS)
    with service:
        try:
            sock = listen(host, port)
        except OSError as exc:
            typer.echo(
                f"error: cannot listen on {host}:{port}: {exc.strerror} (choose another --port)", err=True
            )
            raise typer.Exit(EXIT_BAD_INPUT) from None
        uvicorn_server = server(service.app, DEFAULT_LIMITS)
        with sock, stopped_by_signals(lambda: setattr(uvicorn_server, "should_exit", True)):
            typer.echo(f"knows the tokens of {counted(service.learned, 'reader')} the journal names")
            typer.echo(f"serving on {url_of(sock)}  (Ctrl-C stops)")
            uvicorn_server.run(sockets=[sock])
    typer.echo("stopped")


def _verbs(name: str, short_help: str, help_text: str) -> typer.Typer:
    """A verb with verbs of its own (`announcer audience list`), shown as the others are."""
    verbs = typer.Typer(cls=NamedArguments, help=help_text, rich_markup_mode=None, no_args_is_help=True)
    app.add_typer(verbs, name=name, short_help=short_help)
    return verbs


audience_app = _verbs(
    "audience",
    "Who left the list, bounces or complained.",
    "Who left the list, who bounces, who complained: look, and act by hand.",
)
AddressesArgument = Annotated[list[str], typer.Argument(help="Email addresses.", metavar="ADDRESS")]
ReasonOption = Annotated[
    str, typer.Option("--reason", help="Why, in your words (kept in the log).", metavar="TEXT")
]


@audience_app.command("list", short_help="List whom sends leave out, and why.")
def audience_list(
    every: Annotated[bool, typer.Option("--all", help="Every address known, with bounce scores.")] = False,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """List the addresses that sends leave out: since when, how and why."""
    with _exit_codes():
        settings = load_settings(config)
        with Audience(settings.workspace, list_id_of(settings)) as ledger:
            standings = [s for s in ledger.standings() if every or s.left_out]
        for standing in standings:
            typer.echo(standing.described())
        counts = collections.Counter(standing.state for standing in standings if standing.left_out)
        typer.echo(f"sends leave out {left_out_words(counts)}" if counts else "sends leave out nobody")


@audience_app.command("remove", short_help="Leave addresses out of every send.")
def audience_remove(
    addresses: AddressesArgument, reason: ReasonOption = "", config: ConfigOption = Path("announcer.toml")
) -> None:
    """Leave these addresses out of every send from now on (`restore` undoes it)."""
    _change_audience(addresses, config, lambda ledger, address: ledger.remove(address, reason))


@audience_app.command("restore", short_help="Send to addresses again.")
def audience_restore(
    addresses: AddressesArgument, reason: ReasonOption = "", config: ConfigOption = Path("announcer.toml")
) -> None:
    """Send to these addresses again, whatever left them out (an unsubscription too: only on
    the reader's own word)."""
    _change_audience(addresses, config, lambda ledger, address: ledger.restore(address, How.BY_HAND, reason))


def _change_audience(
    addresses: list[str], config: Path, change: Callable[[AudienceLedger, str], Standing]
) -> None:
    with _exit_codes():
        checked = []
        for address in addresses:
            try:
                checked.append(check_address(address))
            except ValueError as exc:
                raise InputError([Problem(excerpt(address), str(exc))]) from None
        settings = load_settings(config)
        with Audience(settings.workspace, list_id_of(settings)) as ledger:
            for address in checked:
                standing = change(ledger, address)
                typer.echo(f"{standing.address}: {standing.state.value}")


@audience_app.command("log", short_help="Show the changes as they came.")
def audience_log(
    address: Annotated[
        str | None, typer.Argument(help="One address (default: all).", metavar="ADDRESS")
    ] = None,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Show every change of the list's audience as it came, oldest first: unsubscriptions,
    bounces, complaints, and what was done by hand."""
    with _exit_codes():
        settings = load_settings(config)
        with Audience(settings.workspace, list_id_of(settings)) as ledger:
            lines = ledger.log(address)
        for line in lines:
            detail = f": {line.detail}" if line.detail else ""
            typer.echo(f"{line.at}  {line.address}  {line.state.value} ({line.how}){detail}")


@audience_app.command("export", short_help="Write the audience as CSV.")
def audience_export(
    every: Annotated[
        bool, typer.Option("--all", help="Every address known, not only those left out.")
    ] = False,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Write the addresses sends leave out (with --all, every address known) as CSV on stdout."""
    with _exit_codes():
        settings = load_settings(config)
        with Audience(settings.workspace, list_id_of(settings)) as ledger:
            export_audience((s for s in ledger.standings() if every or s.left_out), sys.stdout)


@audience_app.command("import", short_help="Read whom to leave out from a CSV.")
def audience_import(
    file: Annotated[
        Path, typer.Argument(help="A CSV with `email` and `state` columns.", dir_okay=False, metavar="FILE")
    ],
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Read standings from a CSV (as `export` writes it; `state` defaults to unsubscribed): every
    row is checked first, so a bad file changes nothing."""
    with _exit_codes():
        settings = load_settings(config)
        with Audience(settings.workspace, list_id_of(settings)) as ledger:
            done = import_audience(file, ledger)
        changed = ", ".join(f"{count} {state.value}" for state, count in done.changed.items())
        typer.echo(f"read {counted(done.rows, 'row')}: {changed or 'nothing'}")


state_app = _verbs(
    "state",
    "Move the state between SQLite and PostgreSQL.",
    "The workspace's state (journal, calendar history, audience) in one file: to move it.",
)
StateFileArgument = Annotated[Path, typer.Argument(help="The state file.", dir_okay=False, metavar="FILE")]


@state_app.command("export", short_help="Write the whole state to a file.")
def state_export(file: StateFileArgument, config: ConfigOption = Path("announcer.toml")) -> None:
    """Write the workspace's whole state (as of one instant) to FILE, replaced once complete."""
    with _exit_codes():
        settings = load_settings(config)
        counts = export_state(settings.workspace, file)
        typer.echo(f"wrote {_rows_said(counts)} to {display_path(file)}")


@state_app.command("import", short_help="Read a state file into a new state.")
def state_import(file: StateFileArgument, config: ConfigOption = Path("announcer.toml")) -> None:
    """Read FILE (as `state export` wrote it) into the workspace's state, which must be new: an
    empty database, or no .announcer/journal.sqlite yet. All of it, or nothing."""
    with _exit_codes():
        settings = load_settings(config)
        counts = import_state(settings.workspace, file)
        typer.echo(f"read {_rows_said(counts)} from {display_path(file)}")


def _rows_said(counts: collections.Counter[str]) -> str:
    return ", ".join(f"{count} {table}" for table, count in counts.items() if count) or "an empty state"


def _version(asked: bool) -> None:
    if asked:
        typer.echo(f"announcer {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", help="Print the version and stop.", callback=_version, is_eager=True)
    ] = False,
) -> None:
    """Turn event announcements into emails people are glad to receive."""


def main() -> None:
    """Entry point of the `announcer` console script."""
    app(prog_name="announcer")


if __name__ == "__main__":
    main()
