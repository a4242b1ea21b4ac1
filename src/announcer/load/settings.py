"""`announcer.toml` read into the settings model, every problem located by line and table."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import ValidationError

from announcer.errors import Problem, SettingsError
from announcer.load.files import MAX_DEPTH, MAX_DIGITS, Loc, display_path, read_text, validation_problems
from announcer.model.settings import Settings


def load_settings(path: Path) -> Settings:
    """The settings in `path`; its folder is the workspace."""
    source = display_path(path)
    if not path.exists():
        raise SettingsError(
            [
                Problem(
                    source,
                    "not found: run announcer in your workspace, or name the file with --config",
                )
            ]
        )
    text = read_text(path, SettingsError)
    if problem := _shape_problem(text, source):
        raise SettingsError([problem])
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+)", str(exc))
        line = int(match.group(1)) if match else len(text.splitlines()) or 1  # "at end of document"
        raise SettingsError([Problem(source, f"not valid TOML: {exc}", line=line)]) from None
    data["workspace"] = path.resolve().parent
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, source, lambda loc: _toml_line(text, loc), Settings)
        raise SettingsError([_as_table(problem) for problem in problems]) from None


# The pieces tomllib reads TOML text in: a comment, a string of each kind (a multi-line one may end
# in up to five quotes), a bracket, or a bare word (a key, a number, a date).
_PIECES = re.compile(
    r'''
      \#[^\n]*
    | """(?:\\[\s\S]|[^\\])*?"{3,5}
    | \'\'\'[\s\S]*?\'{3,5}
    | "(?:\\.|[^"\\\n])*"?
    | '[^'\n]*'?
    | [\[\]{}]
    | [^\s\[\]{}"'\#,=]+
    ''',
    re.VERBOSE,
)


def _shape_problem(text: str, source: str) -> Problem | None:
    """What tomllib would fail on with a traceback that says nowhere, found before it reads the
    text: it parses nested arrays and inline tables by recursion (thousands deep is a
    RecursionError), and reads a number with int() (past 4,300 digits a ValueError)."""
    depth = 0
    for piece in _PIECES.finditer(text):
        word = piece[0]
        if word in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                message = f"nests [ ] and {{ }} deeper than {MAX_DEPTH} levels: not a settings file"
                return _at(text, piece.start(), source, message)
        elif word in ("]", "}"):
            depth = max(depth - 1, 0)
        elif word[0] not in "#\"'" and (digits := sum(c in "0123456789" for c in word)) > MAX_DIGITS:
            message = f"is a number of {digits:,} digits: at most {MAX_DIGITS} are read"
            return _at(text, piece.start(), source, message)
    return None


def _at(text: str, offset: int, source: str, message: str) -> Problem:
    """`message` at the line of `offset`, naming the key written there (or above it, for a list)."""
    line = text.count("\n", 0, offset) + 1
    table, key = "", ""
    for written in text.splitlines()[:line]:
        if header := re.match(r"\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]", written):
            table, key = header[1], ""
        elif assigned := re.match(r"\s*([A-Za-z0-9_.-]+)\s*=", written):
            key = assigned[1]
    field = ".".join(part for part in (table, key) if part)
    return _as_table(Problem(source, message, line=line, field=field or None))


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
