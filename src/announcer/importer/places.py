"""A place as written ("Room 2.14, Franklin Building", "Campus Solna Air & Fire, SciLifeLab")
as a venue's name, room, building and campus."""

from __future__ import annotations

import re

_ROOM = re.compile(
    r"^(?:room|rum|sal|lokal|raum|hörsaal|salle|amphi(?:théâtre)?|seminar room|lecture hall)\b", re.I
)
_CAMPUS = re.compile(r"^(?P<campus>campus\s+\w+)\s+(?P<rest>.+)$", re.IGNORECASE)
_ONLINE = re.compile(
    r"^(?:online|zoom|teams|microsoft teams|google meet|webinar|digitalt|digital|en ligne)$", re.I
)


_PLACE_WORDS = re.compile(
    r"\b(?:hall|building|room|auditorium|aula|theatre|theater|lab|laboratory|centre|center|campus|"
    r"sal|salen|lokal|huset|hus|rum|hörsaal|raum|gebäude|seminarraum|salle|amphi\w*|bâtiment)\b",
    re.IGNORECASE,
)


def names_a_place(text: str) -> bool:
    """Whether `text` holds a word that rooms and buildings are called by ("Lecture Hall K1")."""
    return _PLACE_WORDS.search(text) is not None


def venue_of(place: str) -> dict[str, str]:
    """The venue a place line names: the room, campus and address picked out by their words,
    the first other part its name, the second its building, the rest its address."""
    parts = [
        part.strip() for part in re.split(r"\s*[,;|]\s*|\s+[–—]\s+", place.strip().strip(".")) if part.strip()
    ]
    venue: dict[str, str] = {}
    rest: list[str] = []
    for part in parts:
        if _ONLINE.match(part):
            venue.setdefault("name", "Online")
            continue
        if (campus := _CAMPUS.match(part)) is not None and "campus" not in venue:
            venue["campus"] = campus["campus"]
            part = campus["rest"]
        elif part.lower().startswith("campus") and "campus" not in venue:
            venue["campus"] = part
            continue
        if _ROOM.match(part) and "room" not in venue:
            venue["room"] = part
            continue
        rest.append(part)
    for key, part in zip(("name", "building"), rest, strict=False):
        venue.setdefault(key, part)
    if len(rest) > 2:
        venue["address"] = ", ".join(rest[2:])
    if "name" not in venue:
        for key in ("room", "building", "campus"):
            if key in venue:
                venue["name"] = venue.pop(key)
                break
    return venue
