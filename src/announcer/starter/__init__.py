"""Files written for the organiser from templates here: a new workspace (commented settings, an
example event, a recipients file), and a new event in a series."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

from announcer import clock
from announcer.errors import InputError, Problem
from announcer.load.files import display_path
from announcer.load.series import load_series, series_path
from announcer.slugs import slug_of


def create_workspace(folder: Path, zone: str | None = None) -> list[Path]:
    """A new workspace in `folder`: commented settings, an example event, a recipients file.

    It passes `announcer check` as written; nothing is written into a folder that holds files.
    """
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError([Problem(display_path(folder), "already exists and is not empty: nothing written")])
    zone = zone or _local_zone()
    today = clock.utc_now().astimezone(ZoneInfo(zone)).date()
    day = today + timedelta(days=14)
    starter = files(__name__)
    values = {"timezone": zone, "start": f"{day} 12:00", "end": f"{day} 13:00"}
    event = f"events/{day}-first-seminar.yaml"
    written = []
    for template, target in (
        ("announcer.toml.j2", "announcer.toml"),
        ("event.yaml.j2", event),
        ("recipients.csv", "recipients/list.csv"),
    ):
        text = (starter / template).read_text(encoding="utf-8")
        if template.endswith(".j2"):
            text = jinja2.Template(text, keep_trailing_newline=True).render(values)
        path = folder / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def new_event(
    events_dir: Path, series_id: str, day: date, title: str | None = None, at: str | None = None
) -> tuple[Path, list[str]]:
    """A new event file of a series on `day`: its usual time (or `at`) filled in, the rest as
    `# TODO` placeholders that `check` reports until they are written; never over a file. Also
    says what looks wrong (a day the series does not meet on)."""
    found = series_path(events_dir / "new.yaml", series_id)
    if found is None:
        raise InputError([Problem(display_path(events_dir.parent / "series"), f"no series/{series_id}.yaml")])
    series = load_series(found).series
    time = at or series.time
    if time is None:
        message = "has no usual time: give one with --time 12:00"
        raise InputError([Problem(display_path(found), message)])
    path = events_dir / f"{day}-{slug_of(title) or series_id}.yaml"
    if path.exists():
        raise InputError([Problem(display_path(path), "already exists: nothing written")])
    start = datetime.combine(day, datetime.strptime(time, "%H:%M").time())
    end = start + timedelta(minutes=series.duration_minutes or 60)
    values = {
        "series": series,
        "id": series_id,
        "title": title,
        "day": day,
        "time": time,
        "end": f"{end:%H:%M}",
    }
    text = (files(__name__) / "series-event.yaml.j2").read_text(encoding="utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(jinja2.Template(text, keep_trailing_newline=True).render(values), encoding="utf-8")
    warnings = []
    if series.weekday and f"{day:%A}".lower() != series.weekday:
        warnings.append(f"{day} is a {day:%A}; the {series.name} meets on {series.weekday.capitalize()}s")
    return path, warnings


def _local_zone() -> str:
    """This machine's time zone by its IANA name, or UTC when it has none."""
    link = Path("/etc/localtime")
    name = str(link.resolve()).partition("/zoneinfo/")[2] if link.is_symlink() else ""
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return "UTC"
    return name or "UTC"
