"""Scores `announcer import` on the test announcements: of the fields a reader would fill
(title, speakers, date, start, end, place, online link, abstract, host), the share filled right,
filled wrong, and left as TODO. Run: `python -m tests.import_score`."""

from __future__ import annotations

import io
import itertools
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from announcer import clock
from announcer.importer import import_announcement
from announcer.load.events import PLACEHOLDER
from announcer.load.files import read_yaml
from announcer.model.event import EventDefaults
from tests.import_cases import CASES, FIELDS, TODO, UNSEEN, source_of

PINNED = datetime(2026, 2, 20, 9, 0, tzinfo=UTC)
_KEYS = {"date": "start", "start": "start", "end": "end", "speakers": "speakers", "place": "venue",
         "online": "online_url", "abstract": "abstract", "host": "host", "title": "title"}  # fmt: skip


def imported(name: str, folder: Path) -> tuple[dict[str, Any], set[str]]:
    """The event file an import of announcement `name` writes: its values, and its TODO keys."""
    path = folder / f"{name}.yaml"
    with clock.pinned(PINNED, (str(n) for n in itertools.count())):
        import_announcement(
            str(source_of(name)),
            workspace=folder,
            defaults=EventDefaults(timezone="Europe/Stockholm"),
            output=path,
            stdin=io.BytesIO(),
        )
    data, _ = read_yaml(path)
    todos = {
        match[1]
        for line in path.read_text(encoding="utf-8").splitlines()
        if (match := PLACEHOLDER.match(line))
    }
    return data, todos


def found(data: dict[str, Any], name: str) -> object:
    """A field as the scoring compares it."""
    start, end = str(data.get("start", "")), str(data.get("end", ""))
    venue = data.get("venue") or {}
    values: dict[str, object] = {
        "title": data.get("title"),
        "speakers": [speaker.get("name") for speaker in data.get("speakers", [])] or None,
        "date": start[:10] or None,
        "start": start[11:16] or None,
        "end": end[11:16] or None,
        "place": " ".join(str(value) for key, value in venue.items() if key != "online_url") or None,
        "online": venue.get("online_url"),
        "abstract": data.get("abstract"),
        "host": (data.get("host") or {}).get("name"),
    }
    return values[name]


def verdict(expected: object, data: dict[str, Any], todos: set[str], name: str) -> str:
    """right, wrong or todo, for one field: a text field is right when it holds what is expected
    (the place's name, the abstract's opening words); a value where a TODO is expected is wrong."""
    if _KEYS[name] in todos:
        return "todo"
    value = found(data, name)
    if expected == TODO:
        return "wrong"
    if isinstance(expected, str) and isinstance(value, str) and name in ("place", "abstract"):
        return "right" if expected in value else "wrong"
    return "right" if value == expected else "wrong"


def score(
    folder: Path, cases: dict[str, dict[str, object]]
) -> tuple[Counter[str], dict[str, dict[str, str]]]:
    """The verdicts over `cases` and every field, and each case's own."""
    totals: Counter[str] = Counter()
    each: dict[str, dict[str, str]] = {}
    for case, expected in cases.items():
        data, todos = imported(case, folder)
        each[case] = {name: verdict(expected[name], data, todos, name) for name in FIELDS}
        totals.update(each[case].values())
    return totals, each


def main() -> None:
    for label, cases in (("written with the rules", CASES), ("written after them", UNSEEN)):
        with tempfile.TemporaryDirectory() as folder:
            totals, each = score(Path(folder), cases)
        print(f"{label}:")
        for case, verdicts in each.items():
            off = {name: verdict for name, verdict in verdicts.items() if verdict != "right"}
            print(f"  {case:28} {off or 'all right'}")
        count = sum(totals.values())
        shares = ", ".join(
            f"{totals[kind] / count:.0%} {words}"
            for kind, words in (("right", "filled right"), ("wrong", "filled wrong"), ("todo", "left TODO"))
        )
        print(f"  {len(each)} announcements, {count} fields: {shares}\n")


if __name__ == "__main__":
    main()
