"""`announcer import`: an announcement someone sent (text, email, calendar, web page) to an
event file, everything it says filled in and a `# TODO` for each field it does not settle."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from announcer.clock import utc_now
from announcer.errors import AnnouncementError, InputError, Problem
from announcer.importer.calendar_file import CalendarUnreadable, read_calendar
from announcer.importer.draft import Draft, Undecided
from announcer.importer.mail import MailUnreadable, read_mail
from announcer.importer.reading import Context, read_announcement
from announcer.importer.sources import Source, read_source
from announcer.importer.webpage import read_page
from announcer.importer.writer import NothingFound, event_document
from announcer.load.events import PLACEHOLDER
from announcer.load.files import decoded_text
from announcer.load.series import known_series, load_series, series_path
from announcer.model.event import EventDefaults
from announcer.model.series import Series
from announcer.paths import display_path
from announcer.slugs import slug_of

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_REPLY_PREFIX = re.compile(r"^(?:(?:re|fwd?|vs|wg|aw|tr|sv|invitation|inbjudan|einladung)\s*:\s*)+", re.I)


@dataclass
class Imported:
    """What an import wrote: the file, the fields left to write, and what looked wrong."""

    path: Path
    todos: list[str]
    warnings: list[str] = field(default_factory=list)


def import_announcement(
    given: str,
    *,
    workspace: Path,
    defaults: EventDefaults,
    output: Path | None = None,
    series_id: str | None = None,
    year: int | None = None,
    timezone: str | None = None,
    fetch: bool = False,
    stdin: BinaryIO,
) -> Imported:
    """Read the announcement `given` names and write its event file (never over another)."""
    events_dir = workspace / "events"
    series = _series(events_dir, series_id) if series_id else None
    if series is not None:
        defaults = series.defaults(defaults)
    zone = timezone or defaults.timezone
    context = Context(
        today=utc_now().astimezone(ZoneInfo(zone)).date(),
        year=year,
        default_zone=zone,
        series_names=_series_names(events_dir),
        weekday=_WEEKDAYS.index(series.weekday) if series is not None and series.weekday else None,
    )
    source = read_source(given, fetch=fetch, stdin=stdin)
    draft = _draft(source, context)
    if series_id:
        draft.series = series_id
    elif isinstance(draft.series, str) and (known := context.series_names.get(draft.series.casefold())):
        draft.series = known
    if draft.url is None and source.url:
        draft.url = source.url
    if timezone and draft.when.zone is None:
        draft.when.zone = timezone
    try:
        document = event_document(
            draft, source=source.name, default_zone=defaults.timezone, defaults=defaults
        )
    except NothingFound as exc:
        raise AnnouncementError([Problem(source.name, str(exc))]) from None
    path = output or events_dir / _file_name(draft)
    _write_new(path, document)
    todos = [match[1] for line in document.splitlines() if (match := PLACEHOLDER.match(line))]
    return Imported(path, todos, draft.warnings)


def _draft(source: Source, context: Context) -> Draft:
    """The draft a source gives: its structured data first (calendar, schema.org), its text after."""
    try:
        if source.kind == "eml":
            return _from_mail(source, context)
        text = decoded_text(source.data, source.name, AnnouncementError)
        if source.kind == "ics":
            draft, description = read_calendar(source.data, context.default_zone)
            draft.fill(read_announcement(description, context))
            return draft
        if source.kind == "html":
            draft, text = read_page(text, context.default_zone)
            draft.fill(read_announcement(text, context))
            return draft
        return read_announcement(text, context)
    except (MailUnreadable, CalendarUnreadable) as exc:
        raise AnnouncementError([Problem(source.name, str(exc))]) from None


def _from_mail(source: Source, context: Context) -> Draft:
    parts = read_mail(source.data)
    draft = Draft()
    if parts.calendar is not None:
        try:
            draft, description = read_calendar(parts.calendar, context.default_zone)
        except CalendarUnreadable as exc:
            draft.warnings.append(f"{source.name}: {exc}; the text is read instead")
            description = ""
        if not parts.text and not parts.html:
            parts.text = description
    if parts.text is not None:
        draft.fill(read_announcement(parts.text, context))
    elif parts.html is not None:
        structured, text = read_page(parts.html, context.default_zone)
        draft.fill(structured)
        draft.fill(read_announcement(text, context))
    subject = _REPLY_PREFIX.sub("", parts.subject).strip()
    if isinstance(draft.title, Undecided) and subject:
        draft.title = Undecided(
            f"{draft.title.why}; the mail's subject may be it", (subject, *draft.title.candidates)
        )
    return draft


def _series(events_dir: Path, series_id: str) -> Series:
    found = series_path(events_dir / "import.yaml", series_id)
    if found is None:
        known = known_series(events_dir / "import.yaml") or []
        listed = f" (the series: {', '.join(known)})" if known else ""
        raise InputError(
            [Problem(display_path(events_dir.parent / "series"), f"no series/{series_id}.yaml{listed}")]
        )
    return load_series(found).series


def _series_names(events_dir: Path) -> dict[str, str]:
    """The workspace's series by name (lower case) → id; a broken series file is left out."""
    names = {}
    for series_id in known_series(events_dir / "import.yaml") or []:
        found = series_path(events_dir / "import.yaml", series_id)
        try:
            if found is not None:
                names[load_series(found).series.name.casefold()] = series_id
        except InputError:
            continue
    return names


def _file_name(draft: Draft) -> str:
    day = draft.when.day if not isinstance(draft.when.day, Undecided) and draft.when.day else None
    title = draft.title if isinstance(draft.title, str) else None
    return f"{day or 'undated'}-{slug_of(title) or 'imported-event'}.yaml"


def _write_new(path: Path, text: str) -> None:
    """Write `path` whole or not at all, and never over a file that is there: a temporary file
    beside it, linked into place (which fails if the name is taken)."""
    if path.exists() or path.is_symlink():
        raise AnnouncementError(
            [Problem(display_path(path), "already exists: nothing written (give another name with -o)")]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".import-", suffix=".yaml")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.link(temporary, path)
    except FileExistsError:
        raise AnnouncementError(
            [Problem(display_path(path), "already exists: nothing written (give another name with -o)")]
        ) from None
    finally:
        os.unlink(temporary)
