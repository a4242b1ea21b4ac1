"""A draft as an event file: decided values through a YAML emitter (so no text can break the
file), each undecided field as a `# TODO field:` line with its candidates quoted as comments."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import yaml
from pydantic import ValidationError

from announcer.importer.draft import Draft, Undecided
from announcer.model.event import Event, EventDefaults
from announcer.model.text import shown_safely

ORDER = (
    "series",
    "category",
    "title",
    "start",
    "end",
    "timezone",
    "venue",
    "online_url",
    "intro",
    "speakers",
    "host",
    "abstract",
    "publications",
    "url",
)
_CANDIDATE_CHARS = 300  # of a candidate line quoted in a comment: enough to recognise it
_MAX_ROUNDS = 50  # of demoting what the model refuses: each round demotes at least one value


class NothingFound(ValueError):
    """Raised when a source gives no value at all: a file of TODOs alone is no start."""


class _Dumper(yaml.SafeDumper):
    """Several lines as a literal block, the way a person writes an abstract."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


def _list(dumper: yaml.SafeDumper, value: list[Any]) -> yaml.SequenceNode:
    """A list of names on one line, as in `authors: [Mougiakakos D, Schett G]`."""
    names = all(isinstance(item, str) and "\n" not in item and len(item) < 80 for item in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=names)


_Dumper.add_representer(str, _text)
_Dumper.add_representer(list, _list)


def _moment(day: date, at: time) -> str:
    return f"{datetime.combine(day, at):%Y-%m-%d %H:%M}"


def _values(draft: Draft, default_zone: str) -> tuple[dict[str, Any], dict[str, Undecided]]:
    """The draft as the event file's keys: what is decided, and what is left to the organiser."""
    values: dict[str, Any] = {}
    todos: dict[str, Undecided] = {}

    def put(key: str, value: object) -> None:
        if isinstance(value, Undecided):
            todos[key] = value
        elif (value := _stripped(value)) not in (None, "", [], {}):
            values[key] = value

    put("series", draft.series)
    put("category", draft.category)
    put("title", draft.title)
    when = draft.when
    if isinstance(when.day, Undecided) or isinstance(when.start, Undecided) or when.day is None:
        todos["start"] = _start_todo(draft)
    else:
        assert when.start is not None
        values["start"] = _moment(when.day, when.start)
        if isinstance(when.end, time):
            values["end"] = _moment(when.day, when.end)
    if isinstance(when.zone, str) and when.zone != default_zone:
        values["timezone"] = when.zone
    elif isinstance(when.zone, Undecided):
        todos["timezone"] = when.zone
    elif when.zone is None and when.offset_minutes is not None:
        hours, minutes = divmod(abs(when.offset_minutes), 60)
        offset = f"UTC{'-' if when.offset_minutes < 0 else '+'}{hours:02d}:{minutes:02d}"
        todos["timezone"] = Undecided(
            f"the source gives the time in {offset}, not {default_zone}'s clock: name the place it is"
        )
    venue = dict(draft.venue)
    if isinstance(draft.online_url, str):
        venue["online_url"] = draft.online_url
        venue.setdefault("name", "Online")
    put("online_url", draft.online_url if isinstance(draft.online_url, Undecided) else None)
    put("venue", venue)
    put("intro", draft.intro)
    put("speakers", draft.speakers if draft.speakers else Undecided("the announcement names no speaker"))
    put("host", draft.host)
    put("abstract", draft.abstract)
    put("publications", draft.publications)
    put("url", draft.url)
    return values, todos


def _stripped(value: Any) -> Any:
    """Text as the model keeps it, without the white space around it."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {key: _stripped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_stripped(item) for item in value]
    return value


def _start_todo(draft: Draft) -> Undecided:
    when = draft.when
    days = [when.day] if isinstance(when.day, date) else []
    reasons = [item.why for item in (when.day, when.start) if isinstance(item, Undecided)]
    at = when.start if isinstance(when.start, time) else None
    candidates: list[str] = []
    if isinstance(when.day, Undecided):
        candidates = [
            f"{option[:10]} {at:%H:%M}{option[10:]}" if at else option for option in when.day.candidates
        ]
    for day in days:
        candidates.append(f"{day:%Y-%m-%d} {at:%H:%M}" if at else f"{day:%Y-%m-%d} HH:MM  # {day:%A}")
    if when.line:
        candidates.append(f"(the line: {when.line})")
    return Undecided("; ".join(reasons) or "no date", tuple(candidates))


def _demoted(values: dict[str, Any], todos: dict[str, Undecided], defaults: EventDefaults) -> None:
    """Whatever the model refuses becomes a TODO saying why: a wrong value is worse than none."""
    for _ in range(_MAX_ROUNDS):
        try:
            Event.model_validate(values, context={"defaults": defaults})
            return
        except ValidationError as exc:
            changed = False
            for error in exc.errors():
                loc = tuple(error["loc"])
                message = str(error["msg"]).removeprefix("Value error, ")
                if not loc:  # a rule across fields: "end: ... is not after start"
                    key = message.partition(":")[0]
                    loc = (key,) if key in values else ()
                if not loc or loc[0] not in values:
                    continue
                changed |= _demote(values, todos, loc, message)
            if not changed:
                return


def _demote(values: dict[str, Any], todos: dict[str, Undecided], loc: tuple[Any, ...], message: str) -> bool:
    key = str(loc[0])
    container: Any = values
    for step in loc[:-1]:
        try:
            container = container[step]
        except (KeyError, IndexError, TypeError):
            container, loc = values, (key,)
            break
    last = loc[-1]
    try:
        shown = container[last]
    except (KeyError, IndexError, TypeError):
        return False
    path = ".".join(str(step) for step in loc)
    previous = todos.get(key)
    candidates = (*(previous.candidates if previous else ()), f"{path}: {shown}")
    reason = f"{path}: {message}" if not previous else f"{previous.why}; {path}: {message}"
    todos[key] = Undecided(reason, candidates)
    if isinstance(container, list) and isinstance(last, int):
        container.pop(last)
    else:
        del container[last]
    if key in values and values[key] in ([], {}, None):
        del values[key]
    return True


def _comment(text: str) -> str:
    return shown_safely(str(text), _CANDIDATE_CHARS)


def event_document(draft: Draft, *, source: str, default_zone: str, defaults: EventDefaults) -> str:
    """The event file's text for `draft`, imported from `source`."""
    values, todos = _values(draft, default_zone)
    _demoted(values, todos, defaults)
    if not values:
        raise NothingFound("nothing in it reads as an announcement: no title, date, place or speaker")
    lines = [
        f"# Imported from {_comment(source)} by announcer import: read it through, write each TODO,",
        "# then `announcer check` this file (it lists every TODO that is left).",
    ]
    lines += [f"# Note: {_comment(note)}" for note in draft.notes]
    lines += [f"# Warning: {_comment(warning)}" for warning in draft.warnings]
    for key in ORDER:
        if key in values:
            if key in ("start", "end"):
                lines.append(f"{key}: {values[key]}")
            else:
                dumped = yaml.dump(
                    {key: values[key]}, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100
                )
                lines.append(dumped.rstrip("\n"))
        if key in todos:
            todo = todos[key]
            lines.append(f"# TODO {key}: {_comment(todo.why)}")
            lines += [f"#   > {_comment(candidate)}" for candidate in todo.candidates]
    return "\n".join(lines) + "\n"
