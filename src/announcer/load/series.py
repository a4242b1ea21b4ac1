"""Series files (`series/<id>.yaml`) to models, and an event's values layered over its series'.

An event that says `series: <id>` takes every value of the series it does not set itself, key by
key and nested keys too: `venue: {room: B2}` keeps the series' building. `null` clears an
inherited value; a venue with a name of its own (or written as just its name) is another place
and replaces the whole venue; lists (links) replace the series' list.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from announcer.errors import EventError, Problem
from announcer.load.files import LineOf, Loc, read_yaml, validation_problems
from announcer.model.series import INHERITED, Series
from announcer.paths import display_path

SERIES_FOLDER = "series"
_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_LEVELS_UP = 3  # events/2026/spring/talk.yaml still finds the workspace's series/


@dataclass(frozen=True)
class SeriesFile:
    """A series as read from its file: the model, its raw values and where each one is written."""

    id: str
    path: Path
    series: Series
    data: dict[str, Any]
    line_of: LineOf


def series_path(event_path: Path, key: str) -> Path | None:
    """The file of series `key` in the `series/` folder beside (or above) the event's folder."""
    if not _ID.fullmatch(key):
        return None
    for folder in list(event_path.resolve().parents)[1 : 1 + _LEVELS_UP]:
        candidate = folder / SERIES_FOLDER / f"{key}.yaml"
        if candidate.exists():  # a pipe or a folder of that name is refused when read, by its name
            return candidate
    return None


def known_series(event_path: Path) -> list[str] | None:
    """The ids of the series beside the event's folder (None where there is no `series/`)."""
    folder = _series_folder(event_path)
    return sorted(path.stem for path in folder.glob("*.yaml")) if folder else None


def _series_folder(event_path: Path) -> Path | None:
    for folder in list(event_path.resolve().parents)[1 : 1 + _LEVELS_UP]:
        if (folder / SERIES_FOLDER).is_dir():
            return folder / SERIES_FOLDER
    return None


def series_names(event_path: Path) -> dict[str, str]:
    """What an event may call each series beside its folder, case and spacing aside: its id and
    its name (`onkpat`, `onkpat friday seminar`), each to its file. A series file that cannot be
    read is left out here (`check` names its problems)."""
    folder = _series_folder(event_path)
    names: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")) if folder else []:
        try:
            series = load_series(path)
        except EventError:
            continue
        names.setdefault(_called(series.series.name), str(path))
        names[path.stem.casefold()] = str(path)
    return names


def series_called(event_path: Path, key: str) -> Path | None:
    """The series file an event means by `series: key`: the id itself (`onkpat`), or a series'
    id or name whatever the case and spacing (`OnkPat`, `OnkPat Friday Seminar`), so that every
    event of one series is one series everywhere; None for a series named in words alone."""
    if found := series_path(event_path, key):
        return found
    named = series_names(event_path).get(_called(key))
    return Path(named) if named else None


def _called(name: str) -> str:
    """A series' id or name as compared: case and spacing aside."""
    return " ".join(name.split()).casefold()


def load_series(path: Path) -> SeriesFile:
    """A series file, validated on its own: its errors name it. Read once while it is unchanged
    (a folder of a series' events names it in every file)."""
    if not path.resolve().is_relative_to(path.parent.resolve()):
        message = "is a link to a file outside the folder: replace it with the series file itself"
        raise EventError([Problem(display_path(path), message)])
    try:
        status = path.stat()
    except OSError as exc:  # a link to nothing
        raise EventError([Problem(display_path(path), f"cannot read: {exc.strerror or exc}")]) from None
    return _load_series(path.resolve(), status.st_mtime_ns, status.st_size)


@lru_cache(maxsize=64)
def _load_series(path: Path, _mtime: int, _size: int) -> SeriesFile:
    source = display_path(path)
    data, line_of = read_yaml(path)
    if not isinstance(data, dict):
        raise EventError([Problem(source, "must be a block of `key: value` lines", line=1)])
    try:
        series = Series.model_validate(data)
    except ValidationError as exc:
        raise EventError(validation_problems(exc, source, line_of, Series)) from None
    return SeriesFile(path.stem, path, series, data, line_of)


def layered(series: SeriesFile, event: dict[str, Any]) -> dict[str, Any]:
    """The event's values over the series' (nested keys merged, `null` clearing one)."""
    merged = {key: series.data[key] for key in INHERITED if key in series.data}
    for key, value in event.items():
        refines = key in merged and _refines(key, merged[key], value)
        merged[key] = _merge(merged[key], value) if refines else value
    merged["series"] = series.series.name
    return {key: value for key, value in merged.items() if value is not None or key not in INHERITED}


def _refines(key: str, inherited: Any, own: Any) -> bool:
    """Whether the event's value refines the series' (merged) or stands for another (replaces it):
    lists replace, and a venue with a name of its own is another place."""
    if key == "links":
        return False
    if key == "venue" and isinstance(own, dict) and isinstance(inherited, dict):
        return own.get("name") in (None, inherited.get("name"))
    return True


def _merge(inherited: Any, own: Any) -> Any:
    """A block of the series' with the event's keys over it (a venue, a host)."""
    if isinstance(inherited, dict) and isinstance(own, dict):
        return {key: value for key, value in {**inherited, **own}.items() if value is not None}
    return own


def locator(
    series: SeriesFile, event_source: str, event_line_of: LineOf, event: dict[str, Any]
) -> Callable[[Loc], tuple[str, int | None]]:
    """Where a value of the layered event is written: the event file, unless the series gave it."""

    def locate(loc: Loc) -> tuple[str, int | None]:
        if loc and loc[0] in INHERITED and not _written(event, loc):
            return display_path(series.path), series.line_of(loc)
        return event_source, event_line_of(loc)

    return locate


def _written(data: Any, loc: Loc) -> bool:
    """Whether the event file itself holds the value at `loc`."""
    for part in loc:
        listed = isinstance(data, list) and isinstance(part, int) and part < len(data)
        if not (listed or (isinstance(data, dict) and part in data)):
            return False
        data = data[part]
    return True
