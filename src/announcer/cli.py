"""The command line: thin verbs over the modules; the only place errors become exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from announcer.errors import AnnouncerError, DeliveryError, InputError, Problem, TemplateError
from announcer.loading import display_path, event_slug, load_event, raw_html_warnings
from announcer.model import EventDefaults
from announcer.recipients import open_recipients
from announcer.rendering import Renderer
from announcer.sending import send_invitation
from announcer.settings import Settings, load_settings, secret_problems
from announcer.transports.dryrun import DryRunTransport

EXIT_BAD_INPUT = 1
EXIT_DELIVERY_FAILED = 3

app = typer.Typer(
    help="Turn event announcements into emails people are glad to receive.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


class TransportName(StrEnum):
    dry_run = "dry-run"


ConfigOption = Annotated[
    Path,
    typer.Option(
        "--config", help="The settings file; its folder is the workspace.", dir_okay=False
    ),
]
EventArgument = Annotated[Path, typer.Argument(help="An event file (YAML).", dir_okay=False)]


def _warn(problem: Problem | str) -> None:
    typer.echo(f"warning: {problem}", err=True)


@contextmanager
def _exit_codes() -> Iterator[None]:
    """Turn announcer's errors into messages on stderr and the contract's exit codes."""
    try:
        yield
    except InputError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except TemplateError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except DeliveryError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_DELIVERY_FAILED) from None
    except AnnouncerError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from None


@app.command()
def check(
    events: Annotated[list[Path], typer.Argument(help="Event files to check.", dir_okay=False)],
    to: Annotated[
        list[str] | None, typer.Option("--to", help="Recipient lists (CSV) or addresses to check.")
    ] = None,
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Validate events, recipients and settings; print every problem with its location."""
    problems: list[Problem | str] = []
    settings: Settings | None = None
    try:
        settings = load_settings(config)
        problems.extend(secret_problems(settings))
    except InputError as exc:
        problems.extend(exc.problems)
    for path in events:
        problems.extend(_event_problems(path, settings))
    for target in to or []:
        try:
            checked = open_recipients(target).check()
            for warning in checked.warnings:
                _warn(warning)
            typer.echo(f"ok: {target}: {checked.count} recipients")
        except InputError as exc:
            problems.extend(exc.problems)
    for problem in problems:
        typer.echo(f"error: {problem}", err=True)
    if problems:
        raise typer.Exit(EXIT_BAD_INPUT)


def _event_problems(path: Path, settings: Settings | None) -> list[Problem | str]:
    """What is wrong with one event, and whether it renders; warnings printed on the way.

    Without usable settings the event is still read, against the built-in defaults.
    """
    try:
        event = load_event(path, settings.defaults if settings else EventDefaults())
        if settings is not None:
            Renderer(settings).render_event(event, event_slug(path))
    except InputError as exc:
        return list(exc.problems)
    except TemplateError as exc:
        return [str(exc)]
    for problem in raw_html_warnings(path):
        _warn(problem)
    typer.echo(f"ok: {display_path(path)}")
    return []


@app.command()
def render(
    event: EventArgument,
    output: Annotated[
        Path, typer.Option("-o", "--output", help="Folder for the files.", file_okay=False)
    ] = Path("."),
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Write the event's HTML, plain text and calendar as <slug>.html, .txt and .ics."""
    with _exit_codes():
        settings = load_settings(config)
        slug = event_slug(event)
        content = Renderer(settings).render_event(load_event(event, settings.defaults), slug)
        unsubscribe_url = settings.list_.unsubscribe_url or "" if settings.list_ else ""
        html, text = content.personalised(None, unsubscribe_url)
        output.mkdir(parents=True, exist_ok=True)
        (output / f"{slug}.html").write_text(html, encoding="utf-8")
        (output / f"{slug}.txt").write_text(text, encoding="utf-8")
        (output / f"{slug}.ics").write_bytes(content.ics)
        typer.echo(f"wrote {slug}.html, {slug}.txt and {slug}.ics to {display_path(output)}")


@app.command()
def send(
    event: EventArgument,
    to: Annotated[str, typer.Option("--to", help="Recipients CSV, or a single address.")],
    transport: Annotated[
        TransportName, typer.Option(help="How to deliver.")
    ] = TransportName.dry_run,
    outbox: Annotated[Path, typer.Option(help="Where a dry run writes.", file_okay=False)] = Path(
        "outbox"
    ),
    config: ConfigOption = Path("announcer.toml"),
) -> None:
    """Send one invitation per recipient (by default a dry run into OUTBOX/<slug>/)."""
    with _exit_codes():
        settings = load_settings(config)
        report = send_invitation(event, to, settings, lambda slug: DryRunTransport(outbox, slug))
        for warning in report.warnings:
            _warn(warning)
        noun = "message" if report.sent == 1 else "messages"
        typer.echo(f"wrote {report.sent} {noun} to {display_path(outbox / report.slug)}")


def main() -> None:
    """Entry point of the `announcer` console script."""
    app(prog_name="announcer")


if __name__ == "__main__":
    main()
