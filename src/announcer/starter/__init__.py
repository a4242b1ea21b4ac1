"""Files written for the organiser from templates here: a new workspace (commented settings, an
example event, an example series, a recipients file), and a new event in a series."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

from announcer import clock
from announcer.errors import InputError, Problem
from announcer.load.series import SERIES_FOLDER, known_series, load_series, series_path
from announcer.model.event import UNIVERSAL, zone_named
from announcer.model.text import did_you_mean
from announcer.paths import display_path
from announcer.slugs import slug_of

EXAMPLE_SERIES = "seminar"  # series/seminar.yaml: `announcer new seminar` works in a new workspace
SERIES_HELP = 'README.md, "A series, week after week"'


@dataclass(frozen=True)
class Workspace:
    """A workspace just written: its files (settings, event, recipients, series) and what the
    organiser should be told of choices made for them (the CLI prints it)."""

    written: list[Path]
    notes: list[str]

    @property
    def event(self) -> Path:
        """The example event's file."""
        return self.written[1]


def start_workspace(folder: Path, zone: str | None = None) -> Workspace:
    """A new workspace in `folder`: commented settings, an example event and series, a recipients
    file, in `zone` (else this machine's), and a note saying which zone and how to change it.

    It passes `announcer check` as written; nothing is written into a folder that holds files.
    """
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise InputError([Problem(display_path(folder), "already exists and is not empty: nothing written")])
    if zone is not None:
        try:
            zone_named(zone)
        except ValueError as exc:
            raise InputError([Problem("--timezone", str(exc))]) from None
        note = f"time zone: {zone}, as asked"
    else:
        zone, machine = _local_zone()
        if zone == machine or machine in UNIVERSAL:
            note = f"time zone: {zone}, this machine's"
        else:
            which = f"this machine's, {machine}," if machine else "this machine"
            note = f"time zone: UTC ({which} names no place)"
    note += (
        ". To change it: `timezone` in announcer.toml's [defaults] and in the example event"
        " (or init again with --timezone Europe/Stockholm)"
    )
    today = clock.utc_now().astimezone(ZoneInfo(zone)).date()
    day = today + timedelta(days=14)
    starter = files(__name__)
    values = {
        "timezone": zone,
        "start": f"{day} 12:00",
        "end": f"{day} 13:00",
        "day": day + timedelta(days=7),  # a week after the example event: free for `new`
        "weekday": f"{day:%A}".lower(),
    }
    event = f"events/{day}-first-seminar.yaml"
    written = []
    for template, target in (
        ("announcer.toml.j2", "announcer.toml"),
        ("event.yaml.j2", event),
        ("recipients.csv", "recipients/list.csv"),
        ("series.yaml.j2", f"{SERIES_FOLDER}/{EXAMPLE_SERIES}.yaml"),
    ):
        text = (starter / template).read_text(encoding="utf-8")
        if template.endswith(".j2"):
            text = jinja2.Template(text, keep_trailing_newline=True).render(values)
        path = folder / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return Workspace(written, [note])


def new_event(
    events_dir: Path, series_id: str, day: date, title: str | None = None, at: str | None = None
) -> tuple[Path, list[str]]:
    """A new event file of a series on `day`: its usual time (or `at`) filled in, the rest as
    `# TODO` placeholders that `check` reports until they are written; never over a file. Also
    says what looks wrong (a day the series does not meet on)."""
    found = series_path(events_dir / "new.yaml", series_id)
    if found is None:
        raise InputError([_no_series(events_dir, series_id)])
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


def _no_series(events_dir: Path, series_id: str) -> Problem:
    """ "No such series", with the ones there are, or how to write one."""
    folder = events_dir.parent / SERIES_FOLDER
    message = f"no {SERIES_FOLDER}/{series_id}.yaml"
    known = known_series(events_dir / "new.yaml") or []
    if hint := did_you_mean(series_id, known):
        return Problem(display_path(folder), message + hint)
    if known:
        return Problem(display_path(folder), f"{message} (the series: {', '.join(known)})")
    return Problem(
        display_path(folder),
        f"{message}: write it, a few lines such as `name: Our Seminar Series`, `weekday: friday`,"
        f' `time: "12:00"`, `timezone: Europe/Stockholm`, `venue: Lecture Hall 1`'
        f" (see {SERIES_HELP}; announcer init writes an example, {SERIES_FOLDER}/{EXAMPLE_SERIES}.yaml)",
    )


def _local_zone() -> tuple[str, str]:
    """(the zone to use, this machine's zone by its name): the machine's if it names a place or
    is UTC, else UTC (an abbreviation or an offset is refused in an event: see `zone_named`)."""
    link = Path("/etc/localtime")
    name = str(link.resolve()).partition("/zoneinfo/")[2] if link.is_symlink() else ""
    try:
        zone_named(name)
    except ValueError:
        return "UTC", name
    return ("UTC" if name in UNIVERSAL else name), name
