"""People in an announcement: "Name, Title, Affiliation", "Prof. Name (Affiliation)", several
speakers on a line, and the speaker a welcome sentence names ("this time with Name, Professor
at X")."""

from __future__ import annotations

import re

from announcer.importer.draft import LONGEST_FIELD_LINE
from announcer.importer.places import names_a_place

# Words that are a person's position, not their institution.
_ROLES = re.compile(
    r"^(?:(?:assistant|associate|adjunct|full|visiting|guest|emeritus|senior|junior|research|"
    r"biträdande|universitets|gäst|außerordentlicher|ordentlicher|außerplanmäßiger)\s*)*"
    r"(?:professor(?:in)?|professeur(?:e)?|lecturer|lektor|docent|dozent(?:in)?|postdoc(?:toral fellow)?|"
    r"post-doc|researcher|forskare|doktorand(?:in)?|phd student|ph\.d\. student|fellow|scientist|"
    r"group leader|gruppenleiter(?:in)?|director|direktor(?:in)?|head of [\w -]+|chargé de recherche|"
    r"directeur de recherche|maître de conférences|md|phd|dr\.?)(?:\s+emerit(?:us|a))?$",
    re.IGNORECASE,
)
_HONORIFIC = re.compile(
    r"^(?P<honorific>(?:(?:prof(?:essor)?|dr|doc|docent|mr|ms|mrs|mx|pd|priv\.-doz)\.?\s+)+)(?P<rest>.+)$",
    re.IGNORECASE,
)
_PARTICLE = r"(?:von|van|der|den|de|du|da|di|del|la|le|af|zu|ten|ter|bin|al|el)"
_NAME_WORD = r"(?:[A-ZÀ-ÖØ-ÞĀ-Ž][\w'’.-]*|[A-Z]\.)"
NAME = re.compile(rf"{_NAME_WORD}(?:\s+(?:{_PARTICLE}\s+)*{_NAME_WORD}){{1,4}}")
_AT = r"(?:at|of|from|vid|på|från|an der|an|am|aus|à|de|du|at the|of the)"
_SPLIT_PEOPLE = re.compile(r"\s*;\s*|\s+(?:and|och|und|et|&)\s+(?=(?:prof|dr)?\.?\s*[A-ZÀ-Ö])")


def is_name(text: str) -> bool:
    """Whether `text` looks like a person's name: two to five capitalised words, none of them one
    that rooms and buildings are called by."""
    return len(text) <= 80 and NAME.fullmatch(text.strip()) is not None and not names_a_place(text)


def person(text: str) -> dict[str, str] | None:
    """One person written as "Name, Title, Affiliation", "Name (Affiliation)", "Prof. Name, X" or
    "Name, Professor at X"; None when the first part is not a name."""
    text = text.strip().strip(".")
    found: dict[str, str] = {}
    if (paren := re.fullmatch(r"(?P<name>[^(]+?)\s*\((?P<inside>[^)]+)\)\s*", text)) is not None:
        text = f"{paren['name']}, {paren['inside']}"
    head, _, rest = text.partition(",")
    head = head.strip()
    if (honorific := _HONORIFIC.match(head)) is not None:
        words = honorific["honorific"].strip()
        head = honorific["rest"].strip()
        if re.match(r"prof", words, re.IGNORECASE):
            found["title"] = "Professor"
    if not is_name(head):
        return None
    found["name"] = head
    parts = [part.strip() for part in rest.split(",") if part.strip()]
    if parts:
        role = re.fullmatch(rf"(?P<role>.+?)\s+{_AT}\s+(?P<place>.+)", parts[0], re.IGNORECASE)
        if role is not None and _ROLES.match(role["role"]):
            found["title"] = role["role"]
            parts[0] = role["place"]
        elif _ROLES.match(parts[0]):
            found["title"] = parts.pop(0)
    if parts:
        found["affiliation"] = ", ".join(parts)
    return found


def people(text: str) -> list[dict[str, str]] | None:
    """Several people in one value ("A, X; B, Y" or "A and B"), or None if one part is not a person."""
    if len(text) > LONGEST_FIELD_LINE:  # a paragraph, not people
        return None
    parts = [part for part in _SPLIT_PEOPLE.split(text.strip()) if part.strip()][:20]
    if len(parts) > 1 and any("," in part for part in parts) and ";" not in text:
        parts = [text]  # "A, Department of X and Y": one person
    found = [person(part) for part in parts]
    if not found or any(item is None for item in found):
        return None
    return [item for item in found if item is not None]


_WELCOME = re.compile(
    rf"\b(?:this time with|with|featuring|presented by|given by|by|med|mit|avec)\s+"
    rf"(?P<name>{NAME.pattern}),\s*(?P<role>[^,.]*?)\s+{_AT}\s+(?P<place>[^.]+)",
)


def welcomed(sentence: str) -> dict[str, str] | None:
    """The speaker a welcome line names: "... this time with Name, Professor at X in Y."""
    if (match := _WELCOME.search(sentence)) is None or not _ROLES.match(match["role"].strip()):
        return None
    return {"name": match["name"], "title": match["role"].strip(), "affiliation": match["place"].strip()}
