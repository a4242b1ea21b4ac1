"""Hostile files: any YAML scalar, tag, alias or nesting in any field of an event, a series or the
settings, numbers and dates past every edge, a pipe where a file should be. Each file loads, or is
refused with its name and line (and field, where it has one): never a traceback, never a hang.

Hypothesis writes the files; where the outcome is known (a date that exists, a number in range, a
tag announcer does not read) it is checked too, so that refusing everything fails as surely as
a traceback. More examples run in CI (`CI=true`).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
from calendar import monthrange
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as count_as
from hypothesis import strategies as st

from announcer.errors import InputError, Problem
from announcer.load.events import load_named
from announcer.load.files import MAX_DEPTH, MAX_DIGITS, open_file, read_yaml
from announcer.load.series import load_series
from announcer.load.settings import load_settings
from announcer.model.event import EventDefaults
from tests.helpers import CLI, EXAMPLE_EVENT, ROOT, write

EXAMPLES = 2000 if os.environ.get("CI") else 150
CLI_EXAMPLES = 200 if os.environ.get("CI") else 12
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

LOADS, REFUSED, EITHER = "loads", "refused", "either"


@dataclass(frozen=True)
class Value:
    """A value as written in a file, and what must come of it where it is written (if known)."""

    text: str
    expect: str = EITHER


# ---------------------------------------------------------------------------------------------
# YAML values: every scalar type and tag, dates and numbers past every edge, aliases, nesting


def _digits(count: int) -> str:
    return "1" + "0" * (count - 1)


@st.composite
def _whole_numbers(draw: st.DrawFn, low: int, high: int) -> Value:
    """A whole number written in one of YAML 1.1's ways, and whether a field from `low` to `high`
    takes it: it must have at most MAX_DIGITS digits and be in range."""
    if draw(st.booleans()):
        count = draw(st.integers(1, 6000))
        text = _digits(count)
        fits = count <= MAX_DIGITS and low <= int(text) <= high
        return Value(text, LOADS if fits else REFUSED)
    number = draw(st.one_of(st.integers(low - 3, high + 3), st.integers(-(10**60), 10**60)))
    form = draw(st.sampled_from(["decimal", "underscores", "hex", "binary", "octal", "base60", "tagged"]))
    sign = "-" if number < 0 else ""
    size = abs(number)
    text = {
        "decimal": str(number),
        "underscores": f"{number:_}",
        "hex": f"{sign}0x{size:x}",
        "binary": f"{sign}0b{size:b}",
        "octal": f"{sign}0{size:o}" if size else "0",
        "base60": _base60(number),
        "tagged": f"!!int {number}",
    }[form]
    written = re.sub(r"^[-+]?(0x|0b)?", "", text.removeprefix("!!int ")).replace("_", "").replace(":", "")
    fits = len(written) <= MAX_DIGITS and low <= number <= high
    return Value(text, LOADS if fits else REFUSED)


def _base60(number: int) -> str:
    """1065 as 17:45, as YAML 1.1 reads a plain value with colons (only above 59: 0:45 is text)."""
    size, parts = abs(number), []
    if size < 60:
        return str(number)
    while size:
        size, part = divmod(size, 60)
        parts.append(part)
    head, *rest = reversed(parts)
    return ("-" if number < 0 else "") + ":".join([str(head), *(f"{part:02d}" for part in rest)])


@st.composite
def _moments(draw: st.DrawFn) -> Value:
    """A date and time as YAML 1.1 would have read it itself, any part past its edge; it loads as
    an event's start (in UTC, without an end) exactly when that moment exists."""
    year = draw(st.one_of(st.integers(1899, 2201), st.integers(0, 9999)))
    month, day = draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 61))
    offset_hours, offset_minutes = draw(st.integers(0, 30)), draw(st.sampled_from([0, 30, 59, 60, 99]))
    separator = draw(st.sampled_from(["T", "t", " ", "  "]))
    zone = draw(
        st.sampled_from(
            [
                "",
                "Z",
                f" +{offset_hours:02d}:{offset_minutes:02d}",
                f"-{offset_hours:02d}:{offset_minutes:02d}",
            ]
        )
    )
    with_seconds = draw(st.booleans())
    fraction = draw(st.sampled_from(["", ".5", ".123456789"])) if with_seconds else ""
    clock = f"{hour:02d}:{minute:02d}" + (f":{second:02d}{fraction}" if with_seconds else "")
    text = f"{year:04d}-{month:02d}-{day:02d}{separator}{clock}{zone}"
    exists = (
        1900 <= year <= 2200
        and 1 <= month <= 12
        and 1 <= day <= monthrange(max(year, 1), month)[1]
        and hour < 24
        and minute < 60
        and (not with_seconds or second < 60)
    )
    in_utc = zone in ("", "Z") or (offset_hours == 0 and offset_minutes == 0)
    offset_fits = zone in ("", "Z") or (offset_hours < 24 and offset_minutes < 60)
    quoted = draw(st.booleans())
    return Value(
        json.dumps(text) if quoted else text, LOADS if exists and in_utc and offset_fits else REFUSED
    )


_CORE_TAGS = ["!!int", "!!float", "!!bool", "!!null", "!!str"]
_OTHER_TAGS = [
    "!!timestamp",
    "!!binary",
    "!!python/object:os.system",
    "!!python/name:os.system",
    "!!python/tuple",
    "!!value",
    "!!yaml",
    "!!merge",
    "!local",
    "!<tag:example.org,2026:x>",
]
_PLAIN = [
    "~",
    "null",
    "NULL",
    "",
    "yes",
    "No",
    "TRUE",
    "off",
    "On",
    "y",
    "n",
    ".inf",
    "-.Inf",
    ".NaN",
    "1.0e+308",
    "1.0e+999",
    "-0.0",
    "1:30.5",
    ".5",
    "0b_",
    "0x_",
    "0x1F",
    "0777",
    "0o17",
    "1_000",
    "17:45",
    "=",
    "<<",
    "A plain line",
    "2026-04-10",
    "2026-02-30",
    "0000-01-01",
    "R0lGODlhAQABAAAAACw=",
]
_SCALARS = st.one_of(
    st.sampled_from(_PLAIN),
    st.text(max_size=30).map(json.dumps),  # any text, double-quoted with JSON's escapes
    st.text(alphabet="abc xyz-_.:/#&*!|>@'", max_size=20),  # plain text with YAML's indicators
    _whole_numbers(-(10**6), 10**6).map(lambda value: value.text),
    _moments().map(lambda value: value.text),
)
_TAGGED_CORE = st.builds("{} {}".format, st.sampled_from(_CORE_TAGS), _SCALARS).map(Value)
_TAGGED_OTHER = st.one_of(
    st.builds("{} {}".format, st.sampled_from(_OTHER_TAGS), _SCALARS),
    st.sampled_from(["!!set {a, b}", "!!omap [a: 1, b: 2]", "!!pairs [a: 1]", "!local {a: 1}", "!x [1]"]),
).map(lambda text: Value(text, REFUSED))


@st.composite
def _nested(draw: st.DrawFn) -> Value:
    """Lists or blocks nested inside each other, up to far past any bound."""
    depth = draw(st.one_of(st.integers(0, MAX_DEPTH + 2), st.integers(0, 3000)))
    opening, closing = draw(st.sampled_from([("[", "]"), ("{a: ", "}")]))
    return Value(opening * depth + "x" + closing * depth, REFUSED if depth > MAX_DEPTH else EITHER)


# Anchors the event template defines: `&words` on a line of text, `&person` on a block.
_ALIASES = st.sampled_from(
    ["*words", "*person", "{<<: *person}", "{<<: [*person, *person], name: X}", "*nowhere", "&again 3"]
).map(Value)
# A number of more digits than announcer reads is refused in any field, tagged or not.
_LONG_NUMBERS = st.builds(
    "{}{}".format,
    st.sampled_from(["", "-", "!!int ", "!!float ", "0x"]),
    st.integers(MAX_DIGITS + 1, 6000).map(_digits),
).map(lambda text: Value(text, EITHER if text.startswith("!!float") else REFUSED))
# Values refused whatever the field (the loader refuses them) carry REFUSED; the rest, whose
# outcome is the field's to say, EITHER (their oracles are in EVENT_ORACLES and the like).
YAML_VALUES = st.one_of(
    _SCALARS.map(Value),
    _TAGGED_CORE,
    _TAGGED_OTHER,
    _nested(),
    _ALIASES,
    _LONG_NUMBERS,
    _whole_numbers(-(10**6), 10**6).map(lambda value: Value(value.text)),
    _moments().map(lambda value: Value(value.text)),
)


@dataclass(frozen=True)
class Template:
    """A file with a `{field}` in place of each value, and what each holds by default."""

    text: str
    defaults: dict[str, str]

    def lines(self) -> dict[str, int]:
        return {
            field: number
            for number, line in enumerate(self.text.splitlines(), 1)
            for field in re.findall(r"\{([a-z_.]+)\}", line)
        }

    def written(self, values: dict[str, str]) -> str:
        text = self.text
        for field, default in self.defaults.items():
            text = text.replace(f"{{{field}}}", values.get(field, default))
        return text


EVENT = Template(
    """\
category: &words {category}
host: &person
  name: {host.name}
  affiliation: {host.affiliation}
  email: {host.email}
series: {series}
title: {title}
start: {start}
timezone: {timezone}
venue:
  name: {venue.name}
  room: {venue.room}
  map_url: {venue.map_url}
intro: {intro}
speakers:
  - name: {speakers.name}
    title: {speakers.title}
    affiliation: {speakers.affiliation}
    bio: {speakers.bio}
    url: {speakers.url}
    photo: {speakers.photo}
abstract: {abstract}
publications:
  - authors:
      - {publications.authors}
    title: {publications.title}
    journal: {publications.journal}
    year: {publications.year}
    month: {publications.month}
    volume: {publications.volume}
    issue: {publications.issue}
    pages: {publications.pages}
    doi: {publications.doi}
    url: {publications.url}
url: {url}
links:
  - label: {links.label}
    url: {links.url}
reminder_minutes: {reminder_minutes}
language: {language}
""",
    {
        "category": "Lectures",
        "host.name": "Maurice Michel",
        "host.affiliation": "Oncology-Pathology",
        "host.email": "mm@example.org",
        "series": "Talks in words",
        "title": "A talk",
        "start": "2026-04-10 15:00",
        "timezone": "UTC",
        "venue.name": "Air & Fire",
        "venue.room": "B2",
        "venue.map_url": "https://example.org/map",
        "intro": "An introduction.",
        "speakers.name": "Ada Example",
        "speakers.title": "Professor",
        "speakers.affiliation": "Example University",
        "speakers.bio": "A bio.",
        "speakers.url": "https://example.org/ada",
        "speakers.photo": "https://example.org/ada.jpg",
        "abstract": "An abstract.",
        "publications.authors": "Example A",
        "publications.title": "A paper",
        "publications.journal": "Lancet",
        "publications.year": "2026",
        "publications.month": "Jan",
        "publications.volume": "407",
        "publications.issue": "10527",
        "publications.pages": "489-491",
        "publications.doi": "10.1016/S0140-6736(23)01126-1",
        "publications.url": "https://example.org/paper",
        "url": "https://example.org/talk",
        "links.label": "Slides",
        "links.url": "https://example.org/slides",
        "reminder_minutes": "30",
        "language": "en",
    },
)
# Where a field's own range is known, the numbers and dates written in it have a known outcome.
EVENT_ORACLES: dict[str, st.SearchStrategy[Value]] = {
    "start": _moments(),
    "reminder_minutes": _whole_numbers(0, 7 * 24 * 60),
    "publications.year": _whole_numbers(1500, 2200),
}
EVENT_FIELDS = sorted(EVENT.defaults)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace with the example's series, settings and lists (written files go in it)."""
    folder = tmp_path_factory.mktemp("hostile")
    shutil.copy(ROOT / "announcer.toml", folder)
    for name in ("series", "recipients"):
        shutil.copytree(ROOT / name, folder / name)
    (folder / "events").mkdir()
    return folder


_NUMBERS = itertools.count()


def _fresh(folder: Path, name: str, text: str) -> Path:
    """`text` in a file of its own (the series loader keeps what it read while a file is unchanged)."""
    path = folder / f"{next(_NUMBERS):06d}-{name}"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    return path


def _outcome(load: Any, path: Path, sources: tuple[str, ...]) -> list[Problem] | None:
    """None if `path` loads; else its problems, each checked to name a file and its line."""
    try:
        load(path)
    except InputError as exc:
        assert exc.problems, "a refusal names its problems"  # noqa: PT017
        for problem in exc.problems:
            assert problem.source.endswith(sources), problem
            assert problem.line is not None, f"no line: {problem}"
            assert "\n" not in str(problem), f"more than one line: {problem!r}"
            assert len(str(problem)) < 1000, f"too long: {str(problem)[:200]}"
        return list(exc.problems)
    return None


def _check(problems: list[Problem] | None, expect: str, line: int, field: str, shown: str) -> None:
    """A known outcome: a value that must load loads; one that must be refused is, where it is."""
    count_as("loaded" if problems is None else "refused")
    if expect == LOADS:
        assert problems is None, f"{shown!r} in {field} must load: {problems}"
    elif expect == REFUSED:
        assert problems is not None, f"{shown!r} in {field} must be refused"
        assert any(problem.line == line for problem in problems), (shown, field, line, problems)


def _load_event(path: Path) -> object:
    return load_named(path, EventDefaults())


@SETTINGS
@given(field=st.sampled_from(EVENT_FIELDS), value=YAML_VALUES)
def test_any_value_in_any_field_of_an_event_loads_or_is_refused_where_it_stands(
    folder: Path, field: str, value: Value
) -> None:
    path = _fresh(folder / "events", "event.yaml", EVENT.written({field: value.text}))
    problems = _outcome(_load_event, path, ("event.yaml", "onkpat.yaml"))
    _check(problems, value.expect, EVENT.lines()[field], field, value.text)


@SETTINGS
@given(data=st.data(), field=st.sampled_from(sorted(EVENT_ORACLES)))
def test_numbers_and_dates_past_every_edge_are_refused_exactly_when_they_do_not_fit(
    folder: Path, data: st.DataObject, field: str
) -> None:
    value = data.draw(EVENT_ORACLES[field])
    count_as(value.expect)
    path = _fresh(folder / "events", "event.yaml", EVENT.written({field: value.text}))
    problems = _outcome(_load_event, path, ("event.yaml",))
    _check(problems, value.expect, EVENT.lines()[field], field, value.text)


@SETTINGS
@given(values=st.dictionaries(st.sampled_from(EVENT_FIELDS), YAML_VALUES, min_size=2, max_size=6))
def test_many_hostile_values_at_once_are_each_refused_with_their_place(
    folder: Path, values: dict[str, Value]
) -> None:
    path = _fresh(folder / "events", "event.yaml", EVENT.written({k: v.text for k, v in values.items()}))
    problems = _outcome(_load_event, path, ("event.yaml", "onkpat.yaml"))
    count_as("loaded" if problems is None else "refused")
    if any(value.expect == REFUSED for value in values.values()):
        assert problems is not None, values


def test_the_event_template_loads_as_written(folder: Path) -> None:
    """What the properties change one value of is itself a good event (else every change is refused)."""
    path = _fresh(folder / "events", "event.yaml", EVENT.written({}))
    assert _outcome(_load_event, path, ("event.yaml",)) is None


def test_aliases_and_merge_keys_are_followed(folder: Path) -> None:
    text = EVENT.written({"venue.name": "*words"}).replace(
        "host: &person", "host: &person\n  <<: {email: other@example.org, affiliation: Merged}"
    )
    event = load_named(_fresh(folder / "events", "event.yaml", text), EventDefaults()).event
    assert event.venue is not None
    assert event.venue.name == "Lectures"
    assert event.host is not None
    assert (event.host.email, event.host.affiliation) == ("mm@example.org", "Oncology-Pathology"), (
        "the block's own keys win over those merged into it"
    )


# ---------------------------------------------------------------------------------------------
# Series files


SERIES = Template(
    """\
category: &words {category}
host: &person
  name: {host.name}
name: {name}
description: {description}
url: {url}
weekday: {weekday}
time: {time}
duration_minutes: {duration_minutes}
timezone: {timezone}
language: {language}
reminder_minutes: {reminder_minutes}
venue:
  name: {venue.name}
  building: {venue.building}
links:
  - label: {links.label}
    url: {links.url}
brand:
  accent: {brand.accent}
  logo_url: {brand.logo_url}
  logo_alt: {brand.logo_alt}
  footer: {brand.footer}
to: {to}
reminders: [{reminders}]
""",
    {
        "name": "OnkPat Friday Seminar",
        "description": "Friday talks.",
        "url": "https://example.org/onkpat",
        "weekday": "friday",
        "time": '"12:00"',
        "duration_minutes": "60",
        "timezone": "Europe/Stockholm",
        "language": "en",
        "reminder_minutes": "15",
        "category": "Lectures",
        "venue.name": "Air & Fire",
        "venue.building": "SciLifeLab",
        "host.name": "Maurice Michel",
        "links.label": "Slides",
        "links.url": "https://example.org/slides",
        "brand.accent": '"#7a1f52"',
        "brand.logo_url": "https://example.org/logo.png",
        "brand.logo_alt": "OnkPat",
        "brand.footer": "Oncology-Pathology",
        "to": "recipients/example.csv",
        "reminders": "1d, 1h",
    },
)


@st.composite
def _leads(draw: st.DrawFn) -> Value:
    """A reminder's lead time, any number of any unit: it fits from a minute to a week."""
    unit = draw(st.sampled_from(["d", "h", "min", "m"]))
    number = draw(
        st.one_of(
            st.integers(0, 20_000).map(str),
            st.integers(0, 10**30).map(str),
            st.integers(1, 6000).map(_digits),
            st.integers(0, 99).map("{:09d}".format),
        )
    )
    minutes = int(number) * {"d": 1440, "h": 60, "min": 1, "m": 1}[unit] if len(number) < 40 else None
    fits = minutes is not None and 1 <= minutes <= 7 * 1440
    return Value(f"{number}{unit}", LOADS if fits else REFUSED)


SERIES_ORACLES: dict[str, st.SearchStrategy[Value]] = {
    "duration_minutes": _whole_numbers(1, 14 * 24 * 60),
    "reminder_minutes": _whole_numbers(0, 7 * 24 * 60),
    "reminders": _leads(),
}


def _load_series(path: Path) -> object:
    return load_series(path)


@SETTINGS
@given(
    field=st.sampled_from(sorted(SERIES.defaults)),
    value=st.one_of(YAML_VALUES, _leads().map(lambda value: Value(value.text))),
)
def test_any_value_in_any_field_of_a_series_loads_or_is_refused_where_it_stands(
    folder: Path, field: str, value: Value
) -> None:
    path = _fresh(folder / "series", "series.yaml", SERIES.written({field: value.text}))
    problems = _outcome(_load_series, path, ("series.yaml",))
    _check(problems, value.expect, SERIES.lines()[field], field, value.text)


@SETTINGS
@given(data=st.data(), field=st.sampled_from(sorted(SERIES_ORACLES)))
def test_a_series_numbers_and_lead_times_are_refused_exactly_when_out_of_range(
    folder: Path, data: st.DataObject, field: str
) -> None:
    value = data.draw(SERIES_ORACLES[field])
    count_as(value.expect)
    path = _fresh(folder / "series", "series.yaml", SERIES.written({field: value.text}))
    _check(
        _outcome(_load_series, path, ("series.yaml",)), value.expect, SERIES.lines()[field], field, value.text
    )


def test_the_series_template_loads_as_written(folder: Path) -> None:
    path = _fresh(folder / "series", "series.yaml", SERIES.written({}))
    assert _outcome(_load_series, path, ("series.yaml",)) is None


# ---------------------------------------------------------------------------------------------
# announcer.toml


SETTINGS_FILE = Template(
    """\
[sender]
name = {sender.name}
email = {sender.email}
reply_to = {sender.reply_to}

[list]
id = {list.id}
unsubscribe_url = {list.unsubscribe_url}
unsubscribe_mailto = {list.unsubscribe_mailto}

[smtp]
host = {smtp.host}
port = {smtp.port}
security = {smtp.security}
username = {smtp.username}
timeout_seconds = {smtp.timeout_seconds}
deadline_seconds = {smtp.deadline_seconds}
connections = {smtp.connections}
give_up_after = {smtp.give_up_after}
retries = {smtp.retries}
retry_delay_seconds = {smtp.retry_delay_seconds}

[dkim]
domain = {dkim.domain}
selector = {dkim.selector}

[site]
url = {site.url}

[brand]
accent = {brand.accent}
logo_url = {brand.logo_url}
footer = {brand.footer}

[defaults]
timezone = {defaults.timezone}
duration_minutes = {defaults.duration_minutes}
reminder_minutes = {defaults.reminder_minutes}
language = {defaults.language}
""",
    {
        "sender.name": '"OnkPat"',
        "sender.email": '"onkpat@example.org"',
        "sender.reply_to": "'onkpat@example.org'",
        "list.id": '"onkpat.example.org"',
        "list.unsubscribe_url": '"https://lists.example.org/unsubscribe"',
        "list.unsubscribe_mailto": '"leave@example.org"',
        "smtp.host": '"smtp.example.org"',
        "smtp.port": "587",
        "smtp.security": '"starttls"',
        "smtp.username": '"onkpat"',
        "smtp.timeout_seconds": "60",
        "smtp.deadline_seconds": "120.5",
        "smtp.connections": "1",
        "smtp.give_up_after": "5",
        "smtp.retries": "4",
        "smtp.retry_delay_seconds": "5",
        "dkim.domain": '"example.org"',
        "dkim.selector": '"s1"',
        "site.url": '"https://example.org/talks"',
        "brand.accent": '"#7a1f52"',
        "brand.logo_url": '"https://example.org/logo.png"',
        "brand.footer": '"""Oncology-Pathology"""',
        "defaults.timezone": '"Europe/Stockholm"',
        "defaults.duration_minutes": "60",
        "defaults.reminder_minutes": "15",
        "defaults.language": '"en"',
    },
)


@st.composite
def _toml_whole_numbers(draw: st.DrawFn, low: int, high: int) -> Value:
    """A TOML integer in any of its ways of writing, and whether a field from `low` to `high` takes it."""
    if draw(st.booleans()):
        count = draw(st.integers(1, 6000))
        return Value(
            _digits(count), LOADS if count <= MAX_DIGITS and low <= 10 ** (count - 1) <= high else REFUSED
        )
    number = draw(st.one_of(st.integers(low - 3, high + 3), st.integers(-(10**40), 10**40)))
    form = draw(st.sampled_from(["decimal", "underscores", "plus", "hex", "octal", "binary"]))
    if form in ("hex", "octal", "binary"):
        number = abs(number)  # TOML writes no sign before 0x, 0o or 0b
    text = {
        "decimal": str(number),
        "underscores": f"{number:_}",
        "plus": f"+{number}" if number >= 0 else str(number),
        "hex": f"0x{number:x}",
        "octal": f"0o{number:o}",
        "binary": f"0b{number:b}",
    }[form]
    return Value(text, LOADS if low <= number <= high else REFUSED)


@st.composite
def _toml_numbers(draw: st.DrawFn, above: float, high: float) -> Value:
    """A TOML float, any of its edges (inf, nan, 1e308, past it), and whether (above, high] takes it."""
    number = draw(
        st.one_of(
            st.floats(allow_nan=True, allow_infinity=True),
            st.floats(min_value=above - 1, max_value=high + 1),
            st.sampled_from([0.0, -0.0, 1e308, 5e-324]),
        )
    )
    text = {"inf": "inf", "-inf": "-inf", "nan": "nan"}.get(str(number), repr(number))
    text = text if any(mark in text for mark in ".ein") else text + ".0"
    fits = number == number and above < number <= high
    return Value(text, LOADS if fits else REFUSED)


@st.composite
def _toml_dates(draw: st.DrawFn) -> Value:
    """A TOML date or date-time, any part past its edge: refused where it stands if it does not exist."""
    year, month, day = draw(st.integers(0, 9999)), draw(st.integers(0, 13)), draw(st.integers(0, 32))
    hour, minute, second = draw(st.integers(0, 25)), draw(st.integers(0, 61)), draw(st.integers(0, 61))
    offset = draw(st.sampled_from(["", "Z", "+25:00", "-07:00", "+01:60"]))
    text = f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{offset}"
    exists = year >= 1 and 1 <= month <= 12 and 1 <= day <= monthrange(max(year, 1), month)[1]
    exists = exists and hour < 24 and minute < 60 and second < 60 and offset not in ("+25:00", "+01:60")
    return Value(text, EITHER if exists else REFUSED)


@st.composite
def _toml_nested(draw: st.DrawFn) -> Value:
    depth = draw(st.one_of(st.integers(0, MAX_DEPTH + 2), st.integers(0, 5000)))
    opening, closing = draw(st.sampled_from([("[", "]"), ("{a = ", "}")]))
    return Value(opening * depth + "1" + closing * depth, REFUSED if depth > MAX_DEPTH else EITHER)


TOML_VALUES = st.one_of(
    st.sampled_from(
        [
            "true",
            "false",
            "inf",
            "-inf",
            "nan",
            "+nan",
            "1e308",
            "1e999",
            "0x_1",
            "01",
            "1__0",
            "'''x'''",
            '"\\ud800"',
        ]
    ).map(Value),
    st.text(max_size=30).map(lambda text: Value(json.dumps(text))),  # JSON's escapes are TOML's
    st.text(alphabet="abc []{}#=\"'\\.,", max_size=20).map(Value),  # anything, TOML's marks among it
    st.integers(MAX_DIGITS + 1, 6000).map(lambda count: Value(_digits(count), REFUSED)),
    _toml_whole_numbers(-(10**6), 10**6).map(lambda value: Value(value.text)),
    _toml_numbers(-1e6, 1e6).map(lambda value: Value(value.text)),
    _toml_dates(),
    _toml_nested(),
)
SETTINGS_ORACLES: dict[str, st.SearchStrategy[Value]] = {
    "smtp.port": _toml_whole_numbers(1, 65535),
    "smtp.connections": _toml_whole_numbers(1, 20),
    "smtp.retries": _toml_whole_numbers(0, 20),
    "defaults.duration_minutes": _toml_whole_numbers(1, 14 * 24 * 60),
    "defaults.reminder_minutes": _toml_whole_numbers(0, 7 * 24 * 60),
    "smtp.timeout_seconds": _toml_numbers(0, 600),
    "smtp.deadline_seconds": _toml_numbers(0, 3600),
}


@SETTINGS
@given(field=st.sampled_from(sorted(SETTINGS_FILE.defaults)), value=TOML_VALUES)
def test_any_value_in_any_field_of_the_settings_loads_or_is_refused_where_it_stands(
    folder: Path, field: str, value: Value
) -> None:
    path = _fresh(folder, "announcer.toml", SETTINGS_FILE.written({field: value.text}))
    problems = _outcome(load_settings, path, ("announcer.toml",))
    expect = value.expect if field in SETTINGS_ORACLES or value.expect == REFUSED else EITHER
    _check(problems, expect, SETTINGS_FILE.lines()[field], field, value.text)


@SETTINGS
@given(data=st.data(), field=st.sampled_from(sorted(SETTINGS_ORACLES)))
def test_settings_numbers_past_every_edge_are_refused_exactly_when_out_of_range(
    folder: Path, data: st.DataObject, field: str
) -> None:
    value = data.draw(SETTINGS_ORACLES[field])
    count_as(value.expect)
    path = _fresh(folder, "announcer.toml", SETTINGS_FILE.written({field: value.text}))
    problems = _outcome(load_settings, path, ("announcer.toml",))
    _check(problems, value.expect, SETTINGS_FILE.lines()[field], field, value.text)
    if problems and value.expect == REFUSED:
        assert any(problem.field == f"[{field.replace('.', '].', 1)}" for problem in problems), problems


def test_the_settings_template_loads_as_written(folder: Path) -> None:
    path = _fresh(folder, "announcer.toml", SETTINGS_FILE.written({}))
    assert _outcome(load_settings, path, ("announcer.toml",)) is None


# ---------------------------------------------------------------------------------------------
# Through the real command line


@settings(
    max_examples=CLI_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data(), field=st.sampled_from(EVENT_FIELDS))
def test_check_says_where_any_hostile_event_is_wrong_or_passes_it(
    cli: CLI, data: st.DataObject, field: str
) -> None:
    value = data.draw(st.one_of(YAML_VALUES, EVENT_ORACLES.get(field, YAML_VALUES)))
    write(Path("events/hostile.yaml"), EVENT.written({field: value.text}))
    code, out, err = cli("check", "events/hostile.yaml")
    assert code in (0, 1), out + err
    errors = [line for line in err.splitlines() if line.startswith(("error: events/", "error: series/"))]
    for line in errors:
        assert re.match(r"error: (events/hostile\.yaml|series/onkpat\.yaml):\d+: ", line), line
    count_as("refused" if errors else "loaded")
    if value.expect == LOADS:
        assert "ok: events/hostile.yaml" in out, (value, err)
    elif value.expect == REFUSED:
        assert any(f"events/hostile.yaml:{EVENT.lines()[field]}: " in line for line in errors), (value, err)


# ---------------------------------------------------------------------------------------------
# Files that are not files, values that stand for too much


def _fifo(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


def _announcer(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed command, in its own process: a read that blocks fails the test, not the run."""
    return subprocess.run(
        [sys.executable, "-m", "announcer", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_a_pipe_in_place_of_any_input_is_refused_by_its_name(workspace: Path) -> None:
    Path("announcer.toml").rename("real.toml")
    _fifo(Path("announcer.toml"))
    _fifo(Path("events/zz-pipe.yaml"))
    _fifo(Path("recipients/pipe.csv"))
    result = _announcer("check", "events", "events/zz-pipe.yaml", "--to", "recipients/pipe.csv")
    assert result.returncode == 1, result.stderr
    for name in ("announcer.toml", "events/zz-pipe.yaml", "recipients/pipe.csv"):
        assert f"error: {name}: is a pipe (FIFO), not a file: announcer reads only files" in result.stderr
    assert "Traceback" not in result.stderr
    Path("announcer.toml").unlink()
    Path("real.toml").rename("announcer.toml")
    Path("series/onkpat.yaml").unlink()
    _fifo(Path("series/onkpat.yaml"))
    result = _announcer("send", EXAMPLE_EVENT, "--to", "a@example.org")
    assert result.returncode == 1, result.stderr
    assert "error: series/onkpat.yaml: is a pipe (FIFO), not a file" in result.stderr
    assert not Path("outbox").exists()


def test_a_folder_named_like_an_input_is_refused_by_its_name(cli: CLI) -> None:
    Path("recipients/folder.csv").mkdir()
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", "recipients/folder.csv")
    assert code == 1
    assert "error: recipients/folder.csv: is a folder, not a file: announcer reads only files" in err
    Path("series/onkpat.yaml").unlink()
    Path("series/onkpat.yaml").mkdir()
    code, _, err = cli("send", EXAMPLE_EVENT, "--to", "a@example.org")
    assert code == 1
    assert "error: series/onkpat.yaml: is a folder, not a file: announcer reads only files" in err


def test_a_pipe_swapped_in_after_the_check_is_refused_without_waiting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What is opened is checked again: the name may lead elsewhere by then (stat saw a file)."""
    regular = tmp_path / "event.yaml"
    regular.write_text("title: A\n")
    pipe = _fifo(tmp_path / "pipe.yaml")
    real_stat = os.stat

    def stat_as_if_still_a_file(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        swapped = isinstance(path, str | os.PathLike) and Path(path) == pipe
        return real_stat(regular if swapped else path, *args, **kwargs)

    monkeypatch.setattr(os, "stat", stat_as_if_still_a_file)
    with pytest.raises(InputError, match=r"pipe\.yaml: is a pipe"):
        open_file(pipe)


def test_an_alias_bomb_in_a_key_is_refused_quickly_and_never_printed(cli: CLI) -> None:
    """A key is never built beyond a word: a list of lists aliased nine times a level was built
    uncounted, and printed whole in the error (megabytes for six levels)."""
    levels = ['&a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for name, previous in zip("bcdef", "abcde", strict=True):
        levels.append(f"&{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    write(Path("events/bad.yaml"), "title: T\nstart: 2026-04-10 15:00\n? [" + ", ".join(levels) + "]\n: 1\n")
    code, out, err = cli("check", "events/bad.yaml")
    assert code == 1
    assert "error: events/bad.yaml:3: a key is a word, not a list or a block" in err
    assert len(out + err) < 2000


def test_keys_count_toward_the_values_a_file_may_hold(cli: CLI) -> None:
    keys = "\n".join(f"k{number}: x" for number in range(12_000))
    write(Path("events/bad.yaml"), "title: T\nstart: 2026-04-10 15:00\n" + keys + "\n")
    code, _, err = cli("check", "events/bad.yaml")
    assert code == 1
    assert "holds more than 20,000 values (keys and aliases included): not an event" in err, (
        "12,000 keys and their 12,000 values are 24,000"
    )


def test_merge_keys_that_repeat_or_name_themselves_are_refused_quickly(folder: Path) -> None:
    bomb = ["a: &a {" + ", ".join(f"k{number}: {number}" for number in range(100)) + "}"]
    for name, previous in zip("bcdefg", "abcdef", strict=True):
        bomb.append(f"{name}: &{name} {{<<: [" + ", ".join([f"*{previous}"] * 20) + "]}")
    path = _fresh(folder, "bomb.yaml", "\n".join(bomb) + "\n")
    with pytest.raises(InputError, match="holds more than 20,000 values"):
        read_yaml(path)
    path = _fresh(folder, "itself.yaml", "a: &a {b: 1, <<: *a}\n")
    with pytest.raises(InputError, match=r"itself.yaml:1: nests deeper than 12 levels"):
        read_yaml(path)


def test_a_long_unknown_key_is_shown_short_on_one_line(cli: CLI) -> None:
    write(Path("events/bad.yaml"), f'title: T\nstart: 2026-04-10 15:00\n? "{"k" * 500_000}\\nBcc: x"\n: 1\n')
    code, _, err = cli("check", "events/bad.yaml")
    assert code == 1
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    assert line.startswith("error: events/bad.yaml:3: kkkk")
    assert "unknown key" in line
    assert len(line) < 400
    assert "Bcc" not in err


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-02-30 10:00", "start: 2026-02-30: there is no day 30 (February 2026 has 28)"),
        ("2026-02-29 10:00:00", "start: 2026-02-29: there is no day 29 (February 2026 has 28)"),
        ("2026-13-01 10:00", "start: 2026-13-01: there is no month 13 (a year has 12)"),
        ("0000-01-01 10:00:00", "start: 0000-01-01: give a year between 1900 and 2200"),
        (
            "2026-03-06T24:00:00",
            "start: 24:00:00: there is no such time of day (they run from 00:00 to 23:59)",
        ),
        (
            "2026-03-06 10:00:00 +25:00",
            "start: +25:00: an offset from UTC is less than 24 hours, like +01:00",
        ),
        ("!!timestamp 2026-03-06", "start: the tag !!timestamp is not read here: write the value without it"),
        ("!!binary aGVsbG8=", "start: the tag !!binary is not read here"),
        ("!!python/object:os.system x", "start: the tag !!python/object:os.system is not read here"),
        ("!!set {a, b}", "start: the tag !!set is not read here"),
        ("!!int 0x", "start: '0x' is not a whole number"),
        ("!!float abc", "start: 'abc' is not a number"),
        ("!!bool maybe", "start: 'maybe' is not yes or no (true or false)"),
        ("0b_", "start: '0b_' is not a whole number"),
        ("1" * 5000, "start: is a number of 5,000 digits: at most 100 are read"),
        ("!!int " + "1" * 5000, "start: is a number of 5,000 digits: at most 100 are read"),
    ],
)
def test_a_date_or_value_yaml_cannot_build_is_refused_where_it_stands(
    cli: CLI, value: str, expected: str
) -> None:
    write(Path("events/bad.yaml"), f"title: A talk\nstart: {value}\n")
    code, _, err = cli("check", "events/bad.yaml")
    assert code == 1
    assert f"error: events/bad.yaml:2: {expected}" in err


@pytest.mark.parametrize(
    "value",
    [
        "2026-04-10 15:00",
        "2026-04-10 15:00:00",
        "2026-4-10 15:00:00",
        "2026-04-10T15:00:00.5Z",
        '"2026-04-10 15:00"',
    ],
)
def test_a_date_and_time_in_each_way_yaml_writes_it_loads(folder: Path, value: str) -> None:
    path = _fresh(folder / "events", "event.yaml", EVENT.written({"start": value}))
    event = load_named(path, EventDefaults()).event
    assert f"{event.starts_at:%Y-%m-%d %H:%M}" == "2026-04-10 15:00"


def test_a_control_character_yaml_refuses_is_located(cli: CLI) -> None:
    write(Path("events/bad.yaml"), "title: A talk\nstart: 2026-04-10 15:00\nabstract: a\x07b\n")
    code, _, err = cli("check", "events/bad.yaml")
    assert code == 1
    assert "error: events/bad.yaml:3: holds a character YAML does not allow (U+0007): delete it" in err


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "x = " + "[" * 5000 + "]" * 5000,
            "announcer.toml:5: [brand].x: nests [ ] and { } deeper than 12 levels",
        ),
        ("x = " + "{a = " * 3000 + "1" + "}" * 3000, "announcer.toml:5: [brand].x: nests [ ] and { } deeper"),
        (
            "accent = " + "1" * 5000,
            "announcer.toml:5: [brand].accent: is a number of 5,000 digits: at most 100",
        ),
        ('footer = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ 1111' + "1" * 200 + '"', None),
        ("footer = '''[[[[[[[[[[[[[[[[[[[[[['''''", None),
        ("# [[[[[[[[[[[[[[[[[[[[[[[[[[[[ " + "1" * 5000, None),
    ],
)
def test_settings_nested_or_numbered_past_what_tomllib_survives_are_refused_where_they_stand(
    cli: CLI, line: str, expected: str | None
) -> None:
    """Brackets and digits in strings and comments are text: only what tomllib reads counts."""
    write(Path("announcer.toml"), f'[sender]\nname = "S"\nemail = "s@example.org"\n[brand]\n{line}\n')
    code, _, err = cli("check", EXAMPLE_EVENT)
    if expected is None:
        assert "error: announcer.toml" not in err, err
    else:
        assert code == 1
        assert f"error: {expected}" in err
        assert "Traceback" not in err


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "[defaults]\nreminder_minutes = 1e308",
            "[defaults].reminder_minutes: needs a whole number from 0 to 10080",
        ),
        (
            "[defaults]\nduration_minutes = inf",
            "[defaults].duration_minutes: needs a whole number from 1 to 20160",
        ),
        (
            '[smtp]\nhost = "h"\ntimeout_seconds = nan',
            "[smtp].timeout_seconds: needs a number of more than 0 and at most 600",
        ),
        ('[smtp]\nhost = "h"\nport = 0', "[smtp].port: needs a whole number from 1 to 65535"),
    ],
)
def test_settings_numbers_out_of_range_say_the_range(cli: CLI, line: str, expected: str) -> None:
    write(Path("announcer.toml"), f'[sender]\nname = "S"\nemail = "s@example.org"\n{line}\n')
    code, _, err = cli("check", EXAMPLE_EVENT)
    assert code == 1
    assert expected in err


def test_a_pipe_named_as_the_dkim_key_or_the_smtp_ca_is_refused_by_its_name(workspace: Path) -> None:
    _fifo(Path("dkim.pem"))
    _fifo(Path("ca.pem"))
    with Path("announcer.toml").open("a") as settings:
        settings.write(
            '\n[smtp]\nhost = "127.0.0.1"\nport = 9\nsecurity = "tls"\nca_file = "ca.pem"\n'
            '\n[dkim]\ndomain = "example.org"\nselector = "s1"\nkey_file = "dkim.pem"\n'
        )
    result = _announcer("send", EXAMPLE_EVENT, "--to", "a@example.org", "--transport", "smtp", "--past")
    assert result.returncode == 1, result.stderr
    assert "error: dkim.pem: is a pipe (FIFO), not a file: announcer reads only files" in result.stderr
    text = Path("announcer.toml").read_text().replace('key_file = "dkim.pem"\n', "")
    Path("announcer.toml").write_text(text.replace('[dkim]\ndomain = "example.org"\nselector = "s1"\n', ""))
    result = _announcer("send", EXAMPLE_EVENT, "--to", "a@example.org", "--transport", "smtp", "--past")
    assert result.returncode == 3, result.stderr
    assert "ca.pem is not a file" in result.stderr
    assert "Traceback" not in result.stderr
