"""A new workspace: commented settings, an example event and a recipients file, from templates here."""

from __future__ import annotations

from datetime import timedelta
from importlib.resources import files
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import jinja2

from announcer import clock
from announcer.errors import InputError, Problem
from announcer.load.files import display_path


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


def _local_zone() -> str:
    """This machine's time zone by its IANA name, or UTC when it has none."""
    link = Path("/etc/localtime")
    name = str(link.resolve()).partition("/zoneinfo/")[2] if link.is_symlink() else ""
    try:
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        return "UTC"
    return name or "UTC"
