"""`announcer.toml` read into the settings model, every problem located by line and table."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import ValidationError

from announcer.errors import Problem, SettingsError
from announcer.journal_file import use_database
from announcer.load.files import (
    MAX_DEPTH,
    MAX_DIGITS,
    LineOf,
    Loc,
    nearest_line,
    read_text,
    validation_problems,
)
from announcer.model.settings import Settings
from announcer.model.text import EXCERPT, shown_safely
from announcer.paths import display_path


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
        raise SettingsError([_toml_problem(exc, text, source)]) from None
    data["workspace"] = path.resolve().parent
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = validation_problems(exc, source, _toml_lines(text), Settings)
        raise SettingsError([_as_table(problem) for problem in problems]) from None
    use_database(settings.workspace, settings.state.database)  # every store of it reaches the same state
    return settings


_ASSIGNED = re.compile(r"\s*(?P<key>[A-Za-z0-9_.-]+|\"[^\"]*\")\s*=\s*(?P<value>.*)")
_YES_OR_NO = {"yes", "no", "on", "off", "y", "n", "true", "false"}


def _toml_problem(error: tomllib.TOMLDecodeError, text: str, source: str) -> Problem:
    """tomllib's error at its line, with the help a person needs for the usual mistakes: text
    without quotes, a date, a colour (whose # starts a comment), a missing `=`, as YAML's errors
    have it. tomllib's message is kept: it is the parser's own account of what it read."""
    said = str(error)
    match = re.search(r"\(at line (\d+)", said)
    line = int(match.group(1)) if match else len(text.splitlines()) or 1  # "at end of document"
    written = text.splitlines()[line - 1] if line <= len(text.splitlines()) else ""
    message = f"not valid TOML: {said}"
    assigned = _ASSIGNED.match(written)
    key, value = (assigned["key"], assigned["value"].strip()) if assigned else ("", "")
    if said.startswith("Expected '=' after a key"):
        colon = " (not `key: value`, as YAML writes it)" if ":" in written else ""
        message += f": a setting is written `key = value`{colon}"
    elif said.startswith("Unterminated string") or said.startswith("Illegal character '\\n'"):
        message += ": the closing quote is missing"
    elif assigned and said.startswith(("Invalid value", "Expected newline or end of document")):
        comment = value.find(" #")
        value = (value[:comment] if comment > 0 else value).strip()
        if value == "" or value.startswith("#"):
            message += f': {key} has no value (a # starts a comment: write a colour in quotes, "#1f4e79")'
        elif value.lower() in _YES_OR_NO:
            message += ": yes or no is written true or false, without quotes"
        elif value.startswith(('"', "'")):
            message += ": keep the whole value inside the quotes"
        elif re.match(r"[0-9]{1,4}[-:/.][0-9]", value):
            message += f': a date or time is text here: quote it, {key} = "{shown_safely(value, EXCERPT)}"'
        else:
            message += f': text needs quotes: {key} = "{shown_safely(value, EXCERPT)}"'
    start = sum(len(written) for written in text.splitlines(keepends=True)[: line - 1])
    return _at(text, start, source, message, key_above=False)


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


def _at(text: str, offset: int, source: str, message: str, *, key_above: bool = True) -> Problem:
    """`message` at the line of `offset`, naming the key written there (or above it, for a list,
    unless `key_above` is false: a line that is no `key = value` then names its table alone)."""
    line = text.count("\n", 0, offset) + 1
    table, key = "", ""
    for written in text.splitlines()[:line]:
        if header := re.match(r"\s*\[\[?\s*([A-Za-z0-9_.-]+)\s*\]", written):
            table, key = header[1], ""
        elif assigned := re.match(r"\s*([A-Za-z0-9_.-]+)\s*=", written):
            key = assigned[1]
        elif not key_above:
            key = ""
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


def _toml_lines(text: str) -> LineOf:
    """The line of each table and key written in `text`, as a key path (tomllib keeps no
    positions): `[defaults]  # a comment`, `[sender.x]`, `defaults.timezone = ...` all found,
    and nothing inside a multi-line string taken for a key."""
    inside_strings: set[int] = set()
    line, counted_to = 1, 0  # the line at `counted_to`, counted on as the pieces come (linear)
    for piece in _PIECES.finditer(text):
        if piece[0].startswith(('"""', "'''")):
            line += text.count("\n", counted_to, piece.start())
            counted_to = piece.start()
            inside_strings.update(range(line + 1, line + piece[0].count("\n") + 1))
    lines: dict[Loc, int] = {}
    table: Loc = ()
    for number, written in enumerate(text.splitlines(), start=1):
        if number in inside_strings:
            continue
        if header := _HEADER.match(written):
            table = _key_path(header["name"])
            lines.setdefault(table, number)
        elif assigned := _ASSIGNED.match(written):
            path = (*table, *_key_path(assigned["key"]))
            for end in range(len(table) + 1, len(path) + 1):
                lines.setdefault(path[:end], number)
    return nearest_line(lines)


_HEADER = re.compile(r"\s*\[\[?(?P<name>[^\]\n#]*)\]\]?\s*(?:#.*)?$")


def _key_path(written: str) -> Loc:
    """`a.b`, `"a b".c` as the key path ("a", "b")."""
    return tuple(part.strip().strip("\"'") for part in written.split("."))
