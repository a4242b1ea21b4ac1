"""A path as the organiser sees it in a message: as they would type it."""

from __future__ import annotations

from pathlib import Path


def display_path(path: Path) -> str:
    """The path as the user would type it: relative to the current folder when inside it."""
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
