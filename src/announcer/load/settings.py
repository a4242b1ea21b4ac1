"""`announcer.toml` read into the settings model, every problem located by line and table."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import ValidationError

from announcer.errors import Problem, SettingsError
from announcer.load.files import Loc, display_path, read_text, validation_problems
from announcer.model.settings import Settings


def load_settings(path: Path) -> Settings:
    """The settings in `path`; its folder is the workspace."""
    source = display_path(path)
    if not path.is_file():
        raise SettingsError(
            [
                Problem(
                    source,
                    "not found: run announcer in your workspace, or name the file with --config",
                )
            ]
        )
    text = read_text(path, SettingsError)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+)", str(exc))
        line = int(match.group(1)) if match else None
        raise SettingsError([Problem(source, f"not valid TOML: {exc}", line=line)]) from None
    data["workspace"] = path.resolve().parent
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, source, lambda loc: _toml_line(text, loc), Settings)
        raise SettingsError([_as_table(problem) for problem in problems]) from None


def _as_table(problem: Problem) -> Problem:
    """`sender.email` reads as `[sender].email` in a TOML file."""
    if problem.field and "." in problem.field:
        table, _, rest = problem.field.partition(".")
        return Problem(problem.source, problem.message, problem.line, f"[{table}].{rest}")
    if problem.field:
        return Problem(problem.source, problem.message, problem.line, f"[{problem.field}]")
    return problem


def _toml_line(text: str, loc: Loc) -> int | None:
    """The line of `[table]` or of `key =` inside it (tomllib keeps no positions)."""
    if not loc:
        return None
    table, key = str(loc[0]), (str(loc[1]) if len(loc) > 1 else None)
    in_table, table_line = False, None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            in_table = stripped.strip("[] ") == table
            table_line = number if in_table else table_line
        elif in_table and key and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return table_line
