"""Reading input files: text as UTF-8, YAML with the line of every key, errors worded and located."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO, ClassVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from announcer.errors import EventError, InputError, Problem
from announcer.model.text import EXCERPT, did_you_mean, excerpt, shown_safely
from announcer.paths import display_path

MAX_FILE_BYTES = 2**20  # an input file of more than a MiB is not one a person wrote
MAX_VALUES = 20_000  # values in one YAML file, keys and aliases expanded: the seed event has 245
MAX_DEPTH = 12  # levels of nesting, in YAML and TOML: an event has four, the settings two
MAX_DIGITS = 100  # digits of a number, in YAML and TOML: a year has four (Python reads 4,300 at most)

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


def open_file(path: Path, error: type[InputError] = EventError) -> BinaryIO:
    """`path` opened for reading, if it is a regular file: reading a pipe waits for a writer
    forever, and a device or a folder is no input. Checked before it is opened (opening some
    devices does something), and again on what was opened (the name may have changed between)."""
    source = display_path(path)
    try:
        _regular(os.stat(path).st_mode, source, error)
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a pipe opens at once
    except OSError as exc:
        raise error([Problem(source, f"cannot read: {exc.strerror or exc}")]) from None
    try:
        _regular(os.fstat(descriptor).st_mode, source, error)
    except InputError:
        os.close(descriptor)
        raise
    return os.fdopen(descriptor, "rb")


def _regular(mode: int, source: str, error: type[InputError]) -> None:
    if stat.S_ISREG(mode):
        return
    kind = (
        "a folder"
        if stat.S_ISDIR(mode)
        else "a pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "a device"
    )
    raise error([Problem(source, f"is {kind}, not a file: announcer reads only files")])


def read_text(path: Path, error: type[InputError] = EventError, *, limit: int | None = MAX_FILE_BYTES) -> str:
    """A file's text as UTF-8, or an error naming the line with the first bad byte."""
    source = display_path(path)
    try:
        with open_file(path, error) as stream:
            raw = stream.read() if limit is None else stream.read(limit + 1)
    except OSError as exc:
        raise error([Problem(source, f"cannot read: {exc.strerror or exc}")]) from None
    if limit is not None and len(raw) > limit:
        message = f"is larger than {MAX_FILE_BYTES // 2**20} MiB: not a file announcer reads"
        raise error([Problem(source, message)])
    return decoded_text(raw, source, error)


def decoded_text(raw: bytes, source: str, error: type[InputError] = EventError) -> str:
    """Bytes read from `source` as UTF-8 text, or an error naming the line with the first bad byte."""
    if (nul := raw.find(b"\x00")) >= 0:
        line = raw.count(b"\n", 0, nul) + 1
        raise error([Problem(source, "holds a NUL byte: it is not a text file", line=line)])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        raise error([Problem(source, message, line=line)]) from None


# A line indented (or listed, `-\t`) with a tab: YAML forbids tabs there, and each parser says so
# in its own words ("found character '\t' that cannot start any token", "violates indentation").
_TAB_INDENT = re.compile(r"[ -]*\t")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # as YAML counts lines
_YAML = "tag:yaml.org,2002:"
_PLAIN_KINDS = ("null", "bool", "int", "float", "merge")  # what a plain value may be read as; else text
_STR, _MERGE, _MAP, _SEQ = (_YAML + name for name in ("str", "merge", "map", "seq"))
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc,valid-type]
    """libyaml's parser where PyYAML has it (as fast as the files are small), resolving plain
    values by the core schema only. Its constructor is never used: `_Builder` makes the values.

    Timestamps are not resolved: a date stays the text written, and the model reads it and says
    where a day that does not exist is written (YAML's own constructor raises without a place).
    """

    yaml_implicit_resolvers: ClassVar[dict[str | None, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, pattern) for tag, pattern in resolvers if tag.removeprefix(_YAML) in _PLAIN_KINDS]
        for first, resolvers in _Base.yaml_implicit_resolvers.items()
    }


def read_yaml(path: Path) -> tuple[Any, LineOf]:
    """The YAML document in `path` and a function giving the line of any key path in it."""
    source = display_path(path)
    text = read_text(path)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise EventError([Problem(source, "the file is empty")])
        builder = _Builder(source)
        data = builder.build(node, ())
    except RecursionError:  # the pure-Python composer, where libyaml is missing
        raise EventError([Problem(source, "nested too deeply to be an event")]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"not valid YAML: {exc.problem or exc}"
        if exc.context_mark is not None and "quoted scalar" in (exc.context or ""):
            mark = exc.context_mark  # found missing at the file's end: say where the quote opened
            message = "a quote that opens here is never closed: add the closing quote"
        line = mark.line + 1 if mark else None
        if exc.problem and "maximum nesting depth" in exc.problem:  # libyaml's own bound
            raise EventError([Problem(source, "nested too deeply to be an event", line=line)]) from None
        written = _LINE_BREAK.split(text)[line - 1] if line else ""
        if _TAB_INDENT.match(written):
            message = "a tab: YAML indents with spaces, replace the tab with spaces"
        elif exc.problem and "mapping values are not allowed" in exc.problem:  # said alike by both parsers
            message = (
                "not valid YAML: mapping values are not allowed here "
                '(a value that holds ": " needs quotes: title: "CAR T: From A to B")'
            )
        raise EventError([Problem(source, message, line=line)]) from None
    except yaml.reader.ReaderError as exc:  # located by its character: libyaml counts bytes, not lines
        character = chr(exc.character) if isinstance(exc.character, int) else None
        found = text.find(character) if character else -1
        line = text.count("\n", 0, found) + 1 if found >= 0 else None
        what = f" (U+{ord(character):04X})" if character else ""
        message = f"holds a character YAML does not allow{what}: delete it"
        raise EventError([Problem(source, message, line=line)]) from None
    except yaml.YAMLError as exc:
        raise EventError([Problem(source, f"not valid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    return data, nearest_line(builder.lines)


class _Builder:
    """The values of a YAML file's nodes, keys checked, the line of every key path kept.

    Aliases and merge keys (`<<: *base`) are followed, so a small file can stand for a huge
    value (an "alias bomb"): every value built counts, keys too, and so does how deep they nest,
    bounded far above what an event needs. Only the core schema's values are made (text, numbers,
    yes/no, null, lists and blocks), each by a function that refuses with the place what it cannot read.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[Loc, int] = {}
        self.count = 0
        self.merging = 0  # blocks merged into blocks merged into ...: levels too, as a merge may name itself

    def refusal(self, node: yaml.Node, loc: Loc, message: str) -> EventError:
        """The error for `node`, at `loc`, with its line."""
        return EventError(
            [Problem(self.source, message, line=node.start_mark.line + 1, field=dotted(loc) or None)]
        )

    def build(self, node: yaml.Node, loc: Loc) -> Any:
        """The value of `node`, which stands at `loc`."""
        self.count += 1
        line = node.start_mark.line + 1
        if self.count > MAX_VALUES:
            message = f"holds more than {MAX_VALUES:,} values (keys and aliases included): not an event"
            raise EventError([Problem(self.source, message, line=line)])
        if len(loc) + self.merging > MAX_DEPTH:
            message = f"nests deeper than {MAX_DEPTH} levels (aliases and merges included): not an event"
            raise EventError([Problem(self.source, message, line=line)])
        self.lines.setdefault(loc, line)
        if isinstance(node, yaml.MappingNode) and node.tag == _MAP:
            return self._mapping(node, loc)
        if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ:
            return [self.build(item, (*loc, index)) for index, item in enumerate(node.value)]
        if isinstance(node, yaml.ScalarNode) and (make := _SCALARS.get(node.tag)):
            try:
                return make(node.value)
            except ValueError as exc:
                raise self.refusal(node, loc, str(exc)) from None
        tag = f"!!{node.tag.removeprefix(_YAML)}" if node.tag.startswith(_YAML) else node.tag
        message = f"the tag {shown_safely(tag, EXCERPT)} is not read here: write the value without it"
        raise self.refusal(node, loc, message)

    def _mapping(self, node: yaml.MappingNode, loc: Loc) -> dict[str, Any]:
        mapping: dict[str, Any] = {}
        merged: list[dict[str, Any]] = []
        own_lines: dict[Loc, int] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE:
                self.count += 1  # the `<<` itself; each block merged counts as it is built
                merged += self._merged(value_node, loc)
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.refusal(key_node, loc, "a key is a word, not a list or a block")
            key = self.build(key_node, loc)  # counted: a key may be an alias too
            if not isinstance(key, str):
                raise self.refusal(key_node, loc, f"key {excerpt(key_node.value)} is not text")
            if key in mapping:
                raise self.refusal(key_node, (*loc, key), "appears twice in the same block")
            mapping[key] = self.build(value_node, (*loc, key))
            own_lines[(*loc, key)] = key_node.start_mark.line + 1
        for block in merged:  # the block's own keys win, then the first block merged
            for key, value in block.items():
                mapping.setdefault(key, value)
        self.lines.update(own_lines)  # a key written here is found here, not in a block merged
        return mapping

    def _merged(self, node: yaml.Node, loc: Loc) -> list[dict[str, Any]]:
        """The blocks `<<: *base` or `<<: [*one, *two]` names, each built (and counted) again."""
        blocks = node.value if isinstance(node, yaml.SequenceNode) and node.tag == _SEQ else [node]
        built = []
        for block in blocks:
            if not (isinstance(block, yaml.MappingNode) and block.tag == _MAP):
                message = "<< merges a block of `key: value` lines (or a list of them), not a single value"
                raise self.refusal(block, loc, message)
            self.merging += 1
            built.append(self.build(block, loc))
            self.merging -= 1
        return built


def _whole_number(text: str) -> int:
    """A YAML 1.1 integer (1_000, 0x1f, 0b101, 017 in octal, 1:30 in base 60), refused when it is
    none, or has more digits than a person writes (Python reads at most 4,300, then raises)."""
    match = _INTEGER.fullmatch(text.replace("_", ""))
    if match is None:
        raise ValueError(f"{excerpt(text)} is not a whole number")
    base, written = next((base, match[name]) for name, base in _BASES.items() if match[name])
    if (digits := len(written) - written.count(":")) > MAX_DIGITS:
        raise ValueError(f"is a number of {digits:,} digits: at most {MAX_DIGITS} are read")
    value = 0
    for part in written.split(":"):
        value = value * base + int(part, base if base != 60 else 10)
    return -value if match["sign"] == "-" else value


def _number(text: str) -> float:
    """A YAML 1.1 float (1.5, 1e3, .inf, .nan, 1:30.5 in base 60)."""
    written = text.replace("_", "").strip().lower()
    sign = -1.0 if written.startswith("-") else 1.0
    written = written[1:] if written[:1] in ("-", "+") else written
    if written in (".inf", ".nan"):
        return sign * float(written[1:])
    value = 0.0
    try:
        for part in written.split(":"):
            value = value * 60 + float(part)
    except ValueError:
        raise ValueError(f"{excerpt(text)} is not a number") from None
    return sign * value


def _yes_or_no(text: str) -> bool:
    try:
        return _BOOLEANS[text.strip().lower()]
    except KeyError:
        raise ValueError(f"{excerpt(text)} is not yes or no (true or false)") from None


_INTEGER = re.compile(
    r"(?P<sign>[-+]?)(0b(?P<binary>[01]+)|0x(?P<hex>[0-9a-fA-F]+)|(?P<octal>0[0-7]+)"
    r"|(?P<decimal>0|[1-9][0-9]*)|(?P<sexagesimal>[1-9][0-9]*(?::[0-5]?[0-9])+))"
)
_BASES = {"binary": 2, "hex": 16, "octal": 8, "decimal": 10, "sexagesimal": 60}
_BOOLEANS = {"yes": True, "true": True, "on": True, "no": False, "false": False, "off": False}
# Each of the core schema's tags, and the function that makes its value from the text written.
_SCALARS: dict[str, Callable[[str], Any]] = {
    _STR: str,
    _YAML + "null": lambda text: None,
    _YAML + "bool": _yes_or_no,
    _YAML + "int": _whole_number,
    _YAML + "float": _number,
}


def nearest_line(lines: dict[Loc, int]) -> LineOf:
    """The line of a key path: its own, else its block's (a value inside a value names no key)."""

    def line_of(loc: Loc) -> int | None:
        while loc not in lines and loc:
            loc = loc[:-1]
        return lines.get(loc)

    return line_of


def dotted(loc: Iterable[str | int]) -> str:
    """("speakers", 0, "name") as `speakers[0].name`; a key as an error may show it (one short line)."""
    text = ""
    for part in loc:
        key = part if isinstance(part, int) else shown_safely(part, EXCERPT)
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
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
        elif item["type"] in _OUT_OF_RANGE and (words := _range(model, loc)):
            message = words
        else:
            message = message[:1].lower() + message[1:]
        if loc == () and ": " in message and message.split(": ", 1)[0].isidentifier():
            field, message = message.split(": ", 1)  # a model-level check naming its field
            loc = (field,)
        where, line = locate(loc) if locate else (source, line_of(loc))
        problems.append(Problem(where, message, line=line, field=dotted(loc) or None))
    return problems


# Pydantic's errors for a number past a field's bounds (or past any: 1e308, inf, nan).
_OUT_OF_RANGE = {
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "finite_number",
    "int_parsing_size",
}


def _range(model: type[BaseModel], loc: Loc) -> str | None:
    """ "needs a whole number from 0 to 10080": the range a numeric field's bounds allow."""
    field = _field_at(model, loc)
    if field is None:
        return None
    bounds = {
        name: getattr(rule, name)
        for rule in field.metadata
        for name in ("ge", "gt", "le", "lt")
        if hasattr(rule, name)
    }
    kind = (
        "whole number" if int in (field.annotation, *getattr(field.annotation, "__args__", ())) else "number"
    )
    if "ge" in bounds and "le" in bounds:
        return f"needs a {kind} from {bounds['ge']} to {bounds['le']}"
    words = {"ge": "at least {}", "gt": "more than {}", "le": "at most {}", "lt": "less than {}"}
    said = " and ".join(words[name].format(bound) for name, bound in bounds.items())
    return f"needs a {kind} of {said}" if said else None


def _suggestion(loc: Loc, model: type[BaseModel]) -> str:
    """` (did you mean 'title'?)` when an unknown key looks like a known one."""
    fields = _fields_at(model, loc[:-1])
    if not loc or not isinstance(loc[-1], str) or not fields:
        return ""
    return did_you_mean(loc[-1], fields) or f" (known keys: {', '.join(fields)})"


def _fields_at(model: type[BaseModel], loc: Loc) -> list[str]:
    """The keys of the (nested) model at `loc`, as a file writes them, if there is one."""
    field = _field_at(model, loc)
    current = model if not loc else _model_in(field.annotation) if field else None
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [info.alias or name for name, info in current.model_fields.items() if not info.exclude]
    return []


def _field_at(model: type[BaseModel], loc: Loc) -> FieldInfo | None:
    """The field of the (nested) model that `loc` names, found by the key a file writes."""
    current: Any = model
    field = None
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = next(
            (info for name, info in current.model_fields.items() if part in (name, info.alias)), None
        )
        if field is None:
            return None
        current = _model_in(field.annotation)
    return field


def _model_in(annotation: Any) -> Any:
    """The model class inside `list[Speaker]`, `Venue | None` and the like."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
