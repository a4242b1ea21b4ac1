"""Event files to models: one file, or every file of a folder, every error located."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from announcer import prose
from announcer.errors import EventError, InputError, Problem
from announcer.load.files import LineOf, Loc, dotted, read_text, read_yaml, validation_problems
from announcer.load.series import (
    SeriesFile,
    known_series,
    layered,
    load_series,
    locator,
    series_called,
    series_names,
)
from announcer.model.event import Event, EventDefaults
from announcer.model.named import NamedEvent
from announcer.model.text import EXCERPT, did_you_mean, excerpt, shown_safely
from announcer.paths import display_path

EVENT_SUFFIXES = (".yaml", ".yml")
SERIES_ALIKE = 0.8  # how alike (difflib's ratio) a series named in words may not be to a series' id or name
PLACEHOLDER = re.compile(r"#\s*TODO\s+([a-z_]+):")  # what `announcer new` and `import` leave to write


def load_event(path: Path, defaults: EventDefaults) -> Event:
    """The event in a YAML file, with its series' values and the settings' defaults filled in."""
    return _load(path, defaults)[0]


def _load(path: Path, defaults: EventDefaults) -> tuple[Event, SeriesFile | None]:
    source = display_path(path)
    data, line_of = read_yaml(path)
    if not isinstance(data, dict):
        raise EventError([Problem(source, "must be a block of `key: value` lines", line=1)])
    unwritten = _placeholders(path)
    if "title" not in data and "start" not in data:
        # Say nothing of its keys: the file may be anything, and its content is not ours to print.
        raise EventError(
            unwritten or [Problem(source, "is not an event file: it has neither `title` nor `start`")]
        )
    series = _series_of(path, data, line_of)
    layer = layered(series, data) if series else data
    locate = locator(series, source, line_of, data) if series else None
    try:
        event = Event.model_validate(
            layer, context={"defaults": series.series.defaults(defaults) if series else defaults}
        )
    except ValidationError as exc:
        raise EventError(validation_problems(exc, source, line_of, Event, locate) + unwritten) from None
    if unwritten:
        raise EventError(unwritten)
    return event, series


def _placeholders(path: Path) -> list[Problem]:
    """The `# TODO field:` lines `announcer new` or `import` wrote and nobody has written yet."""
    return [
        Problem(
            display_path(path),
            "still to write (a placeholder of announcer new or import)",
            line=number,
            field=match[1],
        )
        for number, line in enumerate(read_text(path).splitlines(), 1)
        if (match := PLACEHOLDER.match(line))
    ]


def _series_of(path: Path, data: dict[str, object], line_of: LineOf) -> SeriesFile | None:
    """The series file the event means (see `series_called`); None for a series named in words.

    A name that is no series' id or name but close to one (`onkpt`, `OnkPat Friday Seminr`) is a
    mistake, not a new series: it would go out without the series' place, host and list. So is
    a word written like an id (`journal-club`) where no such file is.
    """
    key = data.get("series")
    if not isinstance(key, str):
        return None
    if found := series_called(path, key):
        return load_series(found)
    known = known_series(path)
    if known is None:
        return None
    names = series_names(path)
    hint = did_you_mean(key, {called: Path(file).stem for called, file in names.items()}, cutoff=SERIES_ALIKE)
    listed = ", ".join(known) or "none yet"
    if re.fullmatch(r"[a-z0-9][a-z0-9-]*", key):
        message = (
            f"no series/{shown_safely(key, EXCERPT)}.yaml{hint or f' (the series there: {listed})'}; "
            "a series named in words needs capitals or spaces"
        )
    elif hint:
        message = (
            f"no series is called {excerpt(key)}{hint}; a series named in words alone needs a name "
            f"unlike those in series/ ({listed})"
        )
    else:
        return None
    raise EventError([Problem(display_path(path), message, line=line_of(("series",)), field="series")])


def raw_html_warnings(path: Path) -> list[Problem]:
    """Where the event's Markdown holds raw HTML, which is shown as typed rather than rendered."""
    data, line_of = read_yaml(path)
    lines = read_text(path).splitlines()
    texts: list[tuple[Loc, object]] = [((field,), data.get(field)) for field in ("intro", "abstract")]
    texts += [
        (("speakers", index, "bio"), speaker.get("bio"))
        for index, speaker in enumerate(data.get("speakers") or [])
        if isinstance(speaker, dict)
    ]
    warnings = []
    for loc, text in texts:
        if not isinstance(text, str):
            continue
        key_line = line_of(loc) or 1
        block = re.search(r":\s*[|>][-+0-9]*\s*(#.*)?$", lines[key_line - 1]) is not None
        for offset, piece in prose.raw_html(text):
            line = key_line + 1 + offset if block else key_line
            message = f"raw HTML is shown as typed, not rendered: {shown_safely(piece, EXCERPT)}"
            warnings.append(Problem(display_path(path), message, line=line, field=dotted(loc)))
    return warnings


def event_slug(path: Path) -> str:
    """The event's name for folders and UIDs: its file name without the extension."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.stem.lower()).strip("-")
    return slug or "event"


def load_named(path: Path, defaults: EventDefaults) -> NamedEvent:
    """The event in `path` with the slug its folders, messages and calendar UID are named by,
    and its series."""
    event, series = _load(path, defaults)
    return NamedEvent(
        event_slug(path), event, series.series if series else None, series.id if series else None
    )


def event_files(folder: Path) -> list[Path]:
    """The event files of a folder, in name order; a link that leads out of the folder is refused.

    Whatever is named like an event file is one, so that what cannot be read (a pipe, a link to
    nothing) is refused by its name rather than dropped without a word.
    """
    paths, outside = _folder_files(folder)
    if outside:
        raise EventError(outside)
    return paths


def _folder_files(folder: Path) -> tuple[list[Path], list[Problem]]:
    """The event files of a folder inside it, and a problem for each that leads out of it."""
    if not folder.is_dir():
        raise EventError([Problem(display_path(folder), "not a folder of event files")])
    inside = folder.resolve()
    paths = sorted(path for path in folder.iterdir() if path.suffix in EVENT_SUFFIXES and not path.is_dir())
    message = "is a link to a file outside the folder: replace it with the event file itself"
    outside = [
        Problem(display_path(path), message) for path in paths if not path.resolve().is_relative_to(inside)
    ]
    return [path for path in paths if path.resolve().is_relative_to(inside)], outside


@dataclass(frozen=True)
class Folder:
    """What a folder of events holds: each event that could be read, with its file, and the
    problems of each file that could not (a draft of `announcer new`, a broken file)."""

    events: list[NamedEvent]
    paths: list[Path]  # the file of each event, in the same order
    skipped: list[Problem]

    @property
    def skipped_files(self) -> list[str]:
        """The files left out, each once, in order."""
        return list(dict.fromkeys(problem.source for problem in self.skipped))


def read_folder(folder: Path, defaults: EventDefaults) -> Folder:
    """Every event of a folder that can be read, in file-name order, and the problems of those
    that cannot: the verbs that work through a folder (`remind`, `digest`, `site`) do the work
    that is due and name what they left out, so one unfinished event never blocks the others."""
    paths, skipped = _folder_files(folder)
    named: list[NamedEvent] = []
    read: list[Path] = []
    for path in paths:
        try:
            named.append(load_named(path, defaults))
        except InputError as exc:
            skipped.extend(exc.problems)
            continue
        read.append(path)
    return Folder(named, read, skipped)


def load_events(folder: Path, defaults: EventDefaults) -> list[NamedEvent]:
    """Every event of a folder, in file-name order, or every problem of its files at once (for
    `check` and the preview, which show what is wrong rather than leave it out)."""
    found = read_folder(folder, defaults)
    if found.skipped:
        raise EventError(found.skipped)
    return found.events
