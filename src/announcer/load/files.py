"""Reading input files: text as UTF-8, YAML with the line of every key, errors worded and located."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from announcer.errors import EventError, InputError, Problem

MAX_FILE_BYTES = 2**20  # an input file of more than a MiB is not one a person wrote
MAX_VALUES = 20_000  # values in one YAML file, aliases expanded: the seed event has about 150
MAX_DEPTH = 12  # levels of nesting: an event has four

# Pydantic's words for a value of the wrong shape, as a person who writes YAML would put it.
PLAIN_WORDS = {
    "model_type": "needs `key: value` lines here ({fields}, ...), not a single value",
    "dict_type": "needs `key: value` lines here, not a single value",
    "list_type": "needs a list: one `- item` a line, or [first, second]",
    "string_type": "needs text here",
    "int_type": "needs a whole number",
    "int_parsing": "needs a whole number",
    "bool_type": "needs yes or no (true or false)",
}

Loc = tuple[str | int, ...]
LineOf = Callable[[Loc], int | None]


def display_path(path: Path) -> str:
    """The path as the user would type it: relative to the current folder when inside it."""
    if not path.is_absolute():
        return str(path)
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_text(path: Path, error: type[InputError] = EventError, *, limit: int | None = MAX_FILE_BYTES) -> str:
    """A file's text as UTF-8, or an error naming the line with the first bad byte."""
    source = display_path(path)
    try:
        with path.open("rb") as stream:
            raw = stream.read() if limit is None else stream.read(limit + 1)
    except OSError as exc:
        raise error([Problem(source, f"cannot read: {exc.strerror or exc}")]) from None
    if limit is not None and len(raw) > limit:
        message = f"is larger than {MAX_FILE_BYTES // 2**20} MiB: not a file announcer reads"
        raise error([Problem(source, message)])
    if (nul := raw.find(b"\x00")) >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise error([Problem(source, "holds a NUL byte: it is not a text file", line=line)])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        raise error([Problem(source, message, line=line)]) from None


# libyaml's parser where PyYAML has it (as fast as the files are small), the same safe constructor.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_yaml(path: Path) -> tuple[Any, LineOf]:
    """The YAML document in `path` and a function giving the line of any key path in it."""
    source = display_path(path)
    text = read_text(path)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise EventError([Problem(source, "the file is empty")])
        lines: dict[Loc, int] = {}
        data = _build(node, (), lines, loader, source)
    except RecursionError:
        raise EventError([Problem(source, "nested too deeply to be an event")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        if exc.problem and "maximum nesting depth" in exc.problem:  # libyaml's own bound
            raise EventError([Problem(source, "nested too deeply to be an event", line=line)]) from None
        message = f"not valid YAML: {exc.problem or exc}"
        if exc.problem and "mapping values are not allowed" in exc.problem:  # said alike by both parsers
            message = (
                "not valid YAML: mapping values are not allowed here "
                '(a value that holds ": " needs quotes: title: "CAR T: From A to B")'
            )
        raise EventError([Problem(source, message, line=line)]) from None
    except yaml.YAMLError as exc:
        raise EventError([Problem(source, f"not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return data, _nearest_line(lines)


def _build(node: yaml.Node, loc: Loc, lines: dict[Loc, int], loader: yaml.SafeLoader, source: str) -> Any:
    """The value of `node`, keys checked, the line of every key path kept in `lines`.

    Aliases are followed, so a small file can stand for a huge value (an "alias bomb"):
    the values built, and how deep they nest, are bounded far above what an event needs.
    """
    lines[loc] = node.start_mark.line + 1
    if len(lines) > MAX_VALUES or len(loc) > MAX_DEPTH:
        too = (
            f"more than {MAX_VALUES:,} values"
            if len(lines) > MAX_VALUES
            else f"deeper than {MAX_DEPTH} levels"
        )
        raise EventError([Problem(source, f"holds {too} (aliases included): not an event", line=lines[loc])])
    if isinstance(node, yaml.MappingNode):
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                raise EventError(
                    [
                        Problem(
                            source,
                            f"key {key!r} is not text",
                            line=line,
                            field=dotted(loc) or None,
                        )
                    ]
                )
            if key in mapping:
                field = dotted((*loc, key))
                raise EventError([Problem(source, "appears twice in the same block", line=line, field=field)])
            mapping[key] = _build(value_node, (*loc, key), lines, loader, source)
            lines[(*loc, key)] = line
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*loc, index), lines, loader, source) for index, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def _nearest_line(lines: dict[Loc, int]) -> LineOf:
    def line_of(loc: Loc) -> int | None:
        while loc not in lines and loc:
            loc = loc[:-1]
        return lines.get(loc)

    return line_of


def dotted(loc: Iterable[str | int]) -> str:
    """("speakers", 0, "name") as `speakers[0].name`."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def validation_problems(
    error: ValidationError,
    source: str,
    line_of: LineOf,
    model: type[BaseModel],
    locate: Callable[[Loc], tuple[str, int | None]] | None = None,
) -> list[Problem]:
    """Pydantic's errors as located problems, worded for the person who wrote the file
    (`locate` says which file and line holds a value, where several files make one model)."""
    problems = []
    for item in error.errors(include_url=False):
        loc = tuple(part for part in item["loc"] if isinstance(part, str | int))
        message = str(item["msg"])
        message = re.sub(r"^(Value|Assertion) error, ", "", message)
        if item["type"] == "extra_forbidden":
            message = "unknown key" + _suggestion(loc, model)
        elif item["type"] == "missing":
            message = "required, but missing"
        elif item["type"] == "too_long":
            context = item.get("ctx", {})
            message = f"has {context.get('actual_length')} items: at most {context.get('max_length')} fit"
        elif item["type"] in PLAIN_WORDS:
            message = PLAIN_WORDS[item["type"]].format(fields=", ".join(_fields_at(model, loc)[:3]) or "key")
        else:
            message = message[:1].lower() + message[1:]
        if loc == () and ": " in message and message.split(": ", 1)[0].isidentifier():
            field, message = message.split(": ", 1)  # a model-level check naming its field
            loc = (field,)
        where, line = locate(loc) if locate else (source, line_of(loc))
        problems.append(Problem(where, message, line=line, field=dotted(loc) or None))
    return problems


def _suggestion(loc: Loc, model: type[BaseModel]) -> str:
    """` (did you mean 'title'?)` when an unknown key looks like a known one."""
    fields = _fields_at(model, loc[:-1])
    if not loc or not isinstance(loc[-1], str) or not fields:
        return ""
    close = difflib.get_close_matches(loc[-1], fields, n=1)
    return f" (did you mean {close[0]!r}?)" if close else f" (known keys: {', '.join(fields)})"


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The field names of the (nested) model at `loc`, if there is one."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = (
            current.model_fields.get(part)
            if isinstance(current, type) and issubclass(current, BaseModel)
            else None
        )
        if field is None:
            return []
        current = _model_in(field.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    """The model class inside `list[Speaker]`, `Venue | None` and the like."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
