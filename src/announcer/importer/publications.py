"""A list of publications as announcements print them: "Title. / Authors / Journal 2026
Jan;407(10527):489-491" on three lines, or a Vancouver reference on one; DOIs as the model
normalises them."""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError

from announcer.importer.draft import LONGEST_FIELD_LINE
from announcer.model.event import Publication

_DOI = r"(?:\s*\.?\s*(?:doi:?\s*|https?://(?:dx\.)?doi\.org/)(?P<doi>10\.\d{4,9}/\S+?))?"
_CITATION = re.compile(
    r"(?P<journal>[A-Z][^;:\d]*?)\.?\s+(?P<year>(?:1[5-9]|2[0-2])\d{2})"
    r"(?:\s+(?P<month>[A-Z][a-z]{2})[a-z]*(?:\s+\d{1,2})?)?\s*"
    r"(?:;\s*(?P<volume>[\w-]+))?(?:\s*\((?P<issue>[^)]+)\))?(?::\s*(?P<pages>[\w–-]+))?" + _DOI + r"\.?\s*"
)
_DOI_LINE = re.compile(r"\s*(?:doi:?\s*|https?://(?:dx\.)?doi\.org/)10\.", re.IGNORECASE)
_AUTHOR = re.compile(r"[\w'’ .-]+?\s[A-Z]{1,3}|et al\.?")
_VANCOUVER = re.compile(r"(?P<authors>[^.]+?)\.\s+(?P<title>.+?[.?!])\s+(?P<citation>[A-Z].+)")


def _authors(line: str) -> list[str] | None:
    parts = [part.strip() for part in line.strip().rstrip(".").split(",")]
    if parts and all(_AUTHOR.fullmatch(part) for part in parts):
        return parts
    return None


def _citation(line: str) -> dict[str, Any] | None:
    match = _CITATION.fullmatch(line.strip())
    if match is None:
        return None
    found: dict[str, Any] = {key: value for key, value in match.groupdict().items() if value}
    found["year"] = int(found["year"])
    found["journal"] = found["journal"].strip()
    return found


def _entry(lines: list[str]) -> dict[str, Any] | None:
    """One publication from its lines (title, authors, citation in some order), as the model
    reads it, or None."""
    if any(len(line) > LONGEST_FIELD_LINE for line in lines) or len(lines) > 10:
        return None
    found: dict[str, Any] = {}
    doi = None
    title: list[str] = []
    for line in lines:
        if (
            match := re.search(r"(?:doi:?\s*|https?://(?:dx\.)?doi\.org/)(10\.\d{4,9}/\S+)", line, re.I)
        ) and (line.strip().lower().startswith(("doi", "http"))):
            doi = match[1].rstrip(".")
        elif "journal" not in found and (citation := _citation(line)):
            found.update(citation)
        elif "authors" not in found and (authors := _authors(line)):
            found["authors"] = authors
        else:
            title.append(line.strip())
    if len(lines) == 1 and (match := _VANCOUVER.fullmatch(lines[0].strip())):
        authors, citation = _authors(match["authors"]), _citation(match["citation"])
        if authors and citation:
            found = {"authors": authors, **citation}
            title = [match["title"]]
    if title:
        found["title"] = " ".join(title)
    if doi:
        found["doi"] = doi
    try:
        return Publication.model_validate(found).model_dump(exclude_none=True)
    except ValidationError:
        return None


def publications(lines: list[str]) -> tuple[list[dict[str, Any]], list[str]]:
    """The publications in a section's lines, and the entries that could not be read. Entries are
    separated by blank lines, or end at their citation line."""
    entries: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if not line.strip():
            if current:
                entries.append(current)
                current = []
            continue
        if (
            not current and entries and _DOI_LINE.match(line) and len(line) <= LONGEST_FIELD_LINE
        ):  # the DOI under a citation
            entries[-1].append(line)
            continue
        current.append(line)
        if len(line) <= LONGEST_FIELD_LINE and _citation(line) and len(current) > 1:
            entries.append(current)
            current = []
    if current:
        entries.append(current)
    if (
        len(entries) == 1
        and len(entries[0]) > 1
        and all(len(line) <= LONGEST_FIELD_LINE and _VANCOUVER.fullmatch(line.strip()) for line in entries[0])
    ):  # one reference a line
        entries = [[line] for line in entries[0]]
    read: list[dict[str, Any]] = []
    unread: list[str] = []
    for entry in entries:
        publication = _entry(entry)
        if publication is None:
            unread.append(" / ".join(line.strip() for line in entry))
        else:
            read.append(publication)
    return read, unread
